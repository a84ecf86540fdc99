package io.rolexkv.bench.cli;

import io.rolexkv.bench.system.SystemOptions;
import io.rolexkv.bench.system.SystemUnderTest;
import io.rolexkv.bench.system.SystemUnderTestFactory;
import io.rolexkv.bench.ycsb.YcsbReport;
import io.rolexkv.bench.ycsb.YcsbRunConfig;
import io.rolexkv.bench.ycsb.YcsbRunner;
import io.rolexkv.bench.ycsb.YcsbWorkloads;
import io.rolexkv.common.cli.UnexpectedFailures;
import io.rolexkv.common.fabric.MemoryNodeDownException;
import io.rolexkv.common.config.ConfigException;
import io.rolexkv.common.net.AuthenticationFailedException;
import io.rolexkv.common.net.ClusterSecret;
import io.rolexkv.computenode.engine.RolexKVConfig;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

import java.io.PrintStream;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.Callable;

/**
 * {@code ycsb}: runs a YCSB workload (load, then run) against one system and prints YCSB's summary with this project's
 * figures; {@code --report FILE} also writes them as JSON ({@link YcsbReport}). The defaults finish in seconds on a
 * laptop: 100,000 records and operations on two threads against the in-process engine.
 *
 * <p>Exit codes: 0 when every operation answered OK, 1 when some failed (the report is still written), 2 for a bad
 * option or config or a system that cannot start, 3 when a phase could not complete (a client thread or the workload
 * threw). Each is one line on stderr; a failure that is not the user's mistake also leaves its stack trace in a log
 * file the line names.
 */
@Command(name = "ycsb", mixinStandardHelpOptions = true, sortOptions = false,
        description = "Runs a YCSB workload (load phase, then run phase) against one system and reports throughput,"
                + " latency percentiles and fabric costs per operation type.")
public final class YcsbCommand implements Callable<Integer> {
    static final int EXIT_OK = 0;
    static final int EXIT_FAILED_OPERATIONS = 1;
    static final int EXIT_USAGE = 2;
    static final int EXIT_RUN_FAILED = 3;

    @Option(names = "--workload", defaultValue = "a", paramLabel = "NAME|FILE",
            description = "a, b, c, d, e, f (YCSB's core workloads), load (the load phase alone), or a workload file."
                    + " Default: ${DEFAULT-VALUE}.")
    String workload;

    @Option(names = "--records", defaultValue = "" + YcsbRunConfig.RECORDS_DEFAULT,
            description = "Records loaded (YCSB recordcount). Default: ${DEFAULT-VALUE}.")
    int records;

    @Option(names = "--operations", defaultValue = "" + YcsbRunConfig.OPERATIONS_DEFAULT,
            description = "Operations in the run phase (YCSB operationcount). Default: ${DEFAULT-VALUE}.")
    int operations;

    @Option(names = "--threads", defaultValue = "" + YcsbRunConfig.THREADS_DEFAULT,
            description = "YCSB client threads, sharing one engine. Default: ${DEFAULT-VALUE}.")
    int threads;

    @Option(names = "--fabric", defaultValue = "tcp", paramLabel = "loopback|tcp",
            description = "Transport to the memory nodes, for systems that have them. Default: ${DEFAULT-VALUE}.")
    String fabric;

    @Option(names = "--system", defaultValue = SystemUnderTestFactory.ROLEX, paramLabel = "rolex|btree|rpc|in_process",
            description = "The store to run against."
                    + " Default: ${DEFAULT-VALUE}.")
    String system;

    @Option(names = "--value-size", paramLabel = "BYTES",
            description = "One field of exactly BYTES bytes per record, stored as the value itself"
                    + " (rolexkv.value_size). Default: the workload's record (10 fields of 100 bytes).")
    Integer valueSize;

    @Option(names = "--memory-nodes", split = ",", paramLabel = "HOST:PORT",
            description = "Running memory nodes to connect to, comma separated. Default: start embedded ones.")
    List<String> memoryNodes = new ArrayList<>();

    @Option(names = "--auth-secret-file", paramLabel = "FILE",
            description = "The cluster secret (a file readable by its owner only): the memory nodes or rpc server this"
                    + " starts require it, and the engine proves it to them and to --memory-nodes. Default: none.")
    Path authSecretFile;

    @Option(names = "--engine-setting", paramLabel = "NAME=VALUE",
            description = "A field of the engine config for rolex and btree (repeatable), e.g. --engine-setting"
                    + " leaf_capacity=16 --engine-setting epsilon=8. Default: the engine's defaults.")
    Map<String, String> engineSettings = new LinkedHashMap<>();

    @Option(names = "--report", paramLabel = "FILE", description = "Also write the report as JSON to FILE.")
    Path report;

    @Option(names = "--bulk-load",
            description = "Load the records with one bulk load (YCSB still generates them) instead of a put each.")
    boolean bulkLoad;

    @Option(names = "--progress-interval", defaultValue = "5", paramLabel = "SECONDS",
            description = "Seconds between progress lines. Default: ${DEFAULT-VALUE}.")
    int progressSeconds;

    @Option(names = "-p", paramLabel = "NAME=VALUE",
            description = "A YCSB property passed through, applied last (repeatable), e.g. -p dataintegrity=true"
                    + " -p insertorder=ordered.")
    Map<String, String> properties = new LinkedHashMap<>();

    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    private final PrintStream out;

    /** A command that prints to standard output. */
    public YcsbCommand() {
        this(System.out);
    }

    /** A command that prints its progress, summaries and figures to {@code out}. */
    public YcsbCommand(PrintStream out) {
        this.out = out;
    }

    @Override
    public Integer call() {
        PrintWriter err = spec.commandLine().getErr();
        YcsbRunConfig config;
        try {
            YcsbRunConfig.Builder builder = YcsbRunConfig.builder()
                    .workload(workload)
                    .records(records)
                    .operations(operations)
                    .threads(threads)
                    .valueSize(valueSize)
                    .bulkLoad(bulkLoad)
                    .progressInterval(Duration.ofSeconds(progressSeconds));
            properties.forEach(builder::property);
            config = builder.build();
        } catch (IllegalArgumentException e) {
            err.println("ycsb: " + e.getMessage() + " (workloads: " + YcsbWorkloads.NAMES + " or a file)");
            return EXIT_USAGE;
        }

        if (authSecretFile != null) {
            try {
                ClusterSecret.fromFile(authSecretFile, "--auth-secret-file");
            } catch (IllegalArgumentException e) {
                err.println("ycsb: " + e.getMessage());
                return EXIT_USAGE;
            }
        }
        SystemUnderTest systemUnderTest;
        try {
            // Every operation of the run phase could be an insert (workloads D and E insert some): size for both.
            systemUnderTest = SystemUnderTestFactory.open(new SystemOptions(system, fabric, memoryNodes,
                    config.maxValueBytes(), config.threads(), (long) config.records() + config.operations(),
                    Optional.ofNullable(authSecretFile), engineSettings));
        } catch (ConfigException e) {
            err.println("ycsb: " + forOptions(e));
            return EXIT_USAGE;
        } catch (IllegalArgumentException | AuthenticationFailedException e) {
            // Both are the user's setup, not a bug: one line, no stack trace.
            err.println("ycsb: " + e.getMessage());
            return EXIT_USAGE;
        } catch (RuntimeException e) {
            err.println("ycsb: cannot start system=" + system + ": " + UnexpectedFailures.report(spec.qualifiedName(), e));
            return EXIT_USAGE;
        }

        YcsbReport result;
        try (SystemUnderTest opened = systemUnderTest) {
            result = new YcsbRunner(config, out).run(opened).report();
        } catch (RuntimeException e) {
            Optional<MemoryNodeDownException> down = MemoryNodeDownException.in(e);
            if (down.isPresent()) {
                // Not a bug: a node of the user's cluster is gone. One line naming it is the whole story.
                err.println("ycsb: stopped: " + down.get().getMessage());
            } else {
                err.println("ycsb: the run failed: " + UnexpectedFailures.report(spec.qualifiedName(), e));
            }
            return EXIT_RUN_FAILED;
        }
        if (report != null) {
            result.write(report);
            out.println("report written to " + report);
        }
        return result.failedOperations() == 0 ? EXIT_OK : EXIT_FAILED_OPERATIONS;
    }

    /**
     * The config error's line, naming {@code --memory-nodes} where the engine config's memory node list came from it:
     * the user typed the option, not the field.
     */
    private String forOptions(ConfigException e) {
        if (!memoryNodes.isEmpty() && e.field().startsWith(RolexKVConfig.MEMORY_NODES_PROP_NAME + "[")) {
            return e.reason() + " option=--memory-nodes " + e.detail();
        }
        return e.getMessage();
    }

    /** Runs the command on its own (until it is registered as a subcommand of the rolexkv command line). */
    public static void main(String[] args) {
        System.exit(new CommandLine(new YcsbCommand()).execute(args));
    }
}
