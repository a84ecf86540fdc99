package io.rolexkv.bench.cli;

import io.rolexkv.bench.compare.ComparisonChart;
import io.rolexkv.bench.compare.ComparisonMarkdown;
import io.rolexkv.bench.compare.ComparisonResults;
import io.rolexkv.bench.compare.ComparisonRunner;
import io.rolexkv.bench.compare.ComparisonSettings;
import io.rolexkv.bench.system.SystemUnderTestFactory;
import io.rolexkv.bench.ycsb.YcsbRunConfig;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

import java.io.IOException;
import java.io.PrintStream;
import java.io.PrintWriter;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;

/**
 * {@code compare}: YCSB workloads A-F against several systems with the same parameters, then one Markdown file with
 * the tables ({@value #MARKDOWN}) and one chart ({@value #CHART}: throughput and round trips per operation) in the
 * output folder, beside every run's JSON report and log. See {@link ComparisonRunner} for how the runs are made.
 *
 * <p>Exit codes: 0 when every run reported and no operation failed; 1 otherwise (the tables say which); 2 for bad
 * options.
 */
@Command(name = "compare", mixinStandardHelpOptions = true, sortOptions = false,
        description = "Runs YCSB workloads against several systems with the same parameters and writes a Markdown"
                + " table and a PNG chart of throughput and round trips per operation.")
public final class CompareCommand implements Callable<Integer> {
    static final String MARKDOWN = "comparison.md";
    static final String CHART = "comparison.png";
    /** The command that made the runs, kept for {@code --render-only}. */
    static final String COMMAND = "command.txt";

    @Option(names = "--workloads", split = ",", defaultValue = "a,b,c,d,e,f", paramLabel = "W",
            description = "YCSB core workloads, comma separated. Default: ${DEFAULT-VALUE}.")
    List<String> workloads;

    @Option(names = "--systems", split = ",", defaultValue = "rolex,btree,rpc", paramLabel = "S",
            description = "Systems, comma separated; the first is the one ratios compare against. Default: ${DEFAULT-VALUE}.")
    List<String> systems;

    @Option(names = "--records", defaultValue = "" + YcsbRunConfig.RECORDS_DEFAULT,
            description = "Records loaded per run. Default: ${DEFAULT-VALUE}.")
    int records;

    @Option(names = "--operations", defaultValue = "" + YcsbRunConfig.OPERATIONS_DEFAULT,
            description = "Operations per run phase. Default: ${DEFAULT-VALUE}.")
    int operations;

    @Option(names = "--threads", defaultValue = "8", description = "YCSB client threads. Default: ${DEFAULT-VALUE}.")
    int threads;

    @Option(names = "--value-size", paramLabel = "BYTES",
            description = "One field of exactly BYTES bytes per record. Default: YCSB's record (10 fields of 100 bytes).")
    Integer valueSize;

    @Option(names = "--fabric", defaultValue = "tcp", paramLabel = "loopback|tcp",
            description = "Fabric of the systems with memory nodes. Default: ${DEFAULT-VALUE}.")
    String fabric;

    @Option(names = "--bulk-load", description = "Load with one bulk load per run instead of a put per record.")
    boolean bulkLoad;

    @Option(names = "-p", paramLabel = "NAME=VALUE", description = "A YCSB property for every run (repeatable).")
    Map<String, String> properties = new LinkedHashMap<>();

    @Option(names = "--out", defaultValue = "compare-results", paramLabel = "DIR",
            description = "Folder for the reports, logs, " + MARKDOWN + " and " + CHART + ". Default: ${DEFAULT-VALUE}.")
    Path out;

    @Option(names = "--run-timeout", defaultValue = "30", paramLabel = "MINUTES",
            description = "Stop a run that takes longer, and go on with the next. Default: ${DEFAULT-VALUE}.")
    int runTimeoutMinutes;

    @Option(names = "--render-only",
            description = "Run nothing: make the table and chart again from the reports already in --out.")
    boolean renderOnly;

    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    private final PrintStream console;

    public CompareCommand() {
        this(System.out);
    }

    CompareCommand(PrintStream console) {
        this.console = console;
    }

    @Override
    public Integer call() {
        PrintWriter err = spec.commandLine().getErr();
        ComparisonSettings settings;
        try {
            if (runTimeoutMinutes <= 0) {
                throw new IllegalArgumentException("--run-timeout=" + runTimeoutMinutes + " must be > 0");
            }
            settings = new ComparisonSettings(workloads, systems, records, operations, threads, valueSize, fabric,
                    bulkLoad, properties);
        } catch (IllegalArgumentException e) {
            err.println("compare: " + e.getMessage() + " (systems: " + SystemUnderTestFactory.SYSTEMS + ")");
            return YcsbCommand.EXIT_USAGE;
        }
        ComparisonResults results = renderOnly
                ? ComparisonRunner.readBack(out, settings.workloads(), settings.systems())
                : new ComparisonRunner(settings, out, Duration.ofMinutes(runTimeoutMinutes), console).run();
        try {
            Files.createDirectories(out);
            // The table names the command that made the runs: a redraw keeps the one the runs left behind.
            Path commandFile = out.resolve(COMMAND);
            String command;
            if (renderOnly && Files.exists(commandFile)) {
                command = Files.readString(commandFile).strip();
            } else {
                command = commandLine();
                if (!renderOnly) {
                    Files.writeString(commandFile, command + System.lineSeparator());
                }
            }
            Files.writeString(out.resolve(MARKDOWN), ComparisonMarkdown.render(results, command, CHART));
        } catch (IOException e) {
            throw new UncheckedIOException("cannot write " + out.resolve(MARKDOWN), e);
        }
        ComparisonChart.write(results, out.resolve(CHART));
        console.println("table: " + out.resolve(MARKDOWN));
        console.println("chart: " + out.resolve(CHART));
        boolean clean = results.failures().isEmpty()
                && results.cells().stream().allMatch(cell -> cell.report().failedOperations() == 0);
        if (!clean) {
            console.println("some runs failed or had failed operations; see the tables and " + out.resolve("logs"));
        }
        return clean ? YcsbCommand.EXIT_OK : YcsbCommand.EXIT_FAILED_OPERATIONS;
    }

    /** The command as typed, for the Markdown to show how to make the comparison again. */
    private String commandLine() {
        List<String> words = new ArrayList<>(List.of("scripts/rolexkv", "compare"));
        List<String> typed = spec.commandLine().getParseResult().originalArgs();
        if (spec.parent() != null) {
            // Run as `rolexkv compare ...`: the original arguments start with the parent's, then this command's name.
            typed = typed.subList(typed.indexOf(spec.name()) + 1, typed.size());
        }
        words.addAll(typed);
        return String.join(" ", words);
    }
}
