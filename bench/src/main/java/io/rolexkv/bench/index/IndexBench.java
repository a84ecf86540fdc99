package io.rolexkv.bench.index;

import io.rolexkv.rolex.index.IndexGeometry;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

import java.io.IOException;
import java.io.PrintWriter;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;

/**
 * {@code index-bench}: the ROLEX index alone, on an in-process memory node, for one configuration (key set, fabric,
 * geometry). Reports what a geometry costs: models and model cache bytes, READ verbs, bytes and round trips per lookup and
 * per insert (exact, from the fabric counters), and lookup and insert throughput and latency at several client thread
 * counts (this machine's, noisy). The report is Markdown, printed and written to {@code --out}; with {@code --append}
 * the rows join the tables already in that file, so a sweep of configurations builds one table.
 *
 * <p>The engine, value blocks and YCSB are not involved; that is the {@code ycsb} command's job. Exit codes: 0 when
 * every lookup found its value and the final check passed, 1 when it did not (the report says so), 2 for a bad option.
 */
@Command(name = "index-bench", mixinStandardHelpOptions = true, sortOptions = false, usageHelpAutoWidth = true,
        description = "Benchmarks the ROLEX index alone on an in-process memory node: model cache, READ verbs, bytes and"
                + " round trips per operation, and throughput and latency per client thread count.")
public final class IndexBench implements Callable<Integer> {
    static final int EXIT_OK = 0;
    static final int EXIT_CHECK_FAILED = 1;
    static final int EXIT_USAGE = 2;

    @Option(names = "--keys", defaultValue = "" + IndexBenchConfig.KEYS_DEFAULT,
            description = "Keys bulk loaded. Default: ${DEFAULT-VALUE}.")
    int keys;

    @Option(names = "--dataset", defaultValue = "uniform", paramLabel = "uniform|clustered",
            description = "uniform: random 64-bit keys; clustered: --clusters dense clusters with lognormal gaps."
                    + " Inserted keys come from the same distribution. Default: ${DEFAULT-VALUE}.")
    String dataset;

    @Option(names = "--clusters", defaultValue = "" + IndexBenchConfig.CLUSTERS_DEFAULT,
            description = "Clusters of the clustered dataset. Default: ${DEFAULT-VALUE}.")
    int clusters;

    @Option(names = "--transport", defaultValue = "loopback", paramLabel = "loopback|tcp",
            description = "How the clients reach the memory node. Default: ${DEFAULT-VALUE}.")
    String transport;

    @Option(names = "--epsilon", defaultValue = "" + IndexGeometry.EPSILON_DEFAULT,
            description = "The models' error bound. Default: ${DEFAULT-VALUE}.")
    int epsilon;

    @Option(names = "--group-size", defaultValue = "" + IndexGeometry.GROUP_SIZE_DEFAULT,
            description = "Base entries under one group word. Default: ${DEFAULT-VALUE}.")
    int groupSize;

    @Option(names = "--leaf-capacity", defaultValue = "" + IndexGeometry.LEAF_CAPACITY_DEFAULT,
            description = "Entries of a delta leaf. Default: ${DEFAULT-VALUE}.")
    int leafCapacity;

    @Option(names = "--threads", defaultValue = "1,2,8", split = ",", paramLabel = "N,N,...",
            description = "Client thread counts of the timed runs; each thread is a client of its own."
                    + " Default: ${DEFAULT-VALUE}.")
    List<Integer> threads = new ArrayList<>();

    @Option(names = "--lookups", defaultValue = "" + IndexBenchConfig.LOOKUPS_DEFAULT,
            description = "Lookups of the cost pass and of each timed run (split over the threads)."
                    + " Default: ${DEFAULT-VALUE}.")
    int lookups;

    @Option(names = "--inserts", defaultValue = "" + IndexBenchConfig.INSERTS_DEFAULT,
            description = "Inserts of fresh keys in the cost pass and in each timed run; 0 skips inserts."
                    + " Default: ${DEFAULT-VALUE}.")
    int inserts;

    @Option(names = "--runs", defaultValue = "" + IndexBenchConfig.RUNS_DEFAULT,
            description = "Timed runs per thread count; throughput is their median. Default: ${DEFAULT-VALUE}.")
    int runs;

    @Option(names = "--seed", defaultValue = "" + IndexBenchConfig.SEED_DEFAULT,
            description = "Seed of the keys and of every key stream. Default: ${DEFAULT-VALUE}.")
    long seed;

    @Option(names = "--out", paramLabel = "FILE", description = "Also write the Markdown report to FILE.")
    Path out;

    @Option(names = "--append",
            description = "Add this run's rows to the tables already in --out instead of replacing the file.")
    boolean append;

    @Spec
    CommandSpec spec;

    public static void main(String[] args) {
        System.exit(commandLine().execute(args));
    }

    /** The command line; tests run it with captured output. */
    public static CommandLine commandLine() {
        CommandLine commandLine = new CommandLine(new IndexBench());
        commandLine.setParameterExceptionHandler((e, args) -> {
            PrintWriter err = e.getCommandLine().getErr();
            err.println("index-bench: " + e.getMessage() + " (see 'index-bench --help')");
            err.flush();
            return EXIT_USAGE;
        });
        return commandLine;
    }

    @Override
    public Integer call() {
        PrintWriter err = spec.commandLine().getErr();
        IndexBenchConfig config;
        try {
            config = new IndexBenchConfig(keys, IndexDataset.fromName(dataset), clusters, transport, epsilon,
                    groupSize, leafCapacity, threads, lookups, inserts, runs, seed);
            if (append && out == null) {
                throw new IllegalArgumentException("--append needs --out FILE");
            }
        } catch (IllegalArgumentException e) {
            err.println("index-bench: " + e.getMessage() + " (see 'index-bench --help')");
            err.flush();
            return EXIT_USAGE;
        }
        IndexBenchResult result = run(config, err);
        String report = IndexBenchReport.markdown(result);
        PrintWriter printed = spec.commandLine().getOut();
        printed.print(report);
        printed.flush();
        if (out != null) {
            write(out, append, result);
        }
        return "ok".equals(IndexBenchReport.check(result)) ? EXIT_OK : EXIT_CHECK_FAILED;
    }

    /** Runs {@code config} on a fresh in-process memory node, logging progress lines to {@code progress}. */
    public static IndexBenchResult run(IndexBenchConfig config, PrintWriter progress) {
        return new IndexBenchRunner(config, progress).run();
    }

    /** Writes {@code result}'s report to {@code file}: replacing it, or merged into the tables there. */
    static void write(Path file, boolean append, IndexBenchResult result) {
        try {
            Path parent = file.toAbsolutePath().getParent();
            if (parent != null) {
                Files.createDirectories(parent);
            }
            String text = append && Files.exists(file)
                    ? IndexBenchReport.mergeInto(Files.readString(file, StandardCharsets.UTF_8), result)
                    : IndexBenchReport.markdown(result);
            Files.writeString(file, text, StandardCharsets.UTF_8);
        } catch (IOException e) {
            throw new UncheckedIOException("could not write the report to " + file, e);
        }
    }
}
