package io.rolexkv.bench.compare;

import io.rolexkv.bench.system.JavaCommand;
import io.rolexkv.bench.ycsb.YcsbReport;

import java.io.IOException;
import java.io.PrintStream;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.TimeUnit;

/**
 * Runs a comparison: every workload on every system, one {@code ycsb} run each, in a JVM of its own (a fresh heap and
 * JIT for every system, and nothing one run leaves behind, such as YCSB's process-wide measurements, reaches the
 * next). Runs go workload by workload, all systems of a workload back to back, so a machine that slows down during
 * the comparison slows every system of a workload alike.
 *
 * <p>Each run's report lands in {@code reports/}, its whole output in {@code logs/}, under the output folder. A run
 * that fails is recorded with its exit code and log, and the comparison goes on.
 */
public final class ComparisonRunner {
    static final String MAIN_CLASS = "io.rolexkv.bench.cli.RolexKvCli";
    static final String REPORTS = "reports";
    static final String LOGS = "logs";

    private final ComparisonSettings settings;
    private final Path folder;
    private final Duration runTimeout;
    private final PrintStream out;

    public ComparisonRunner(ComparisonSettings settings, Path folder, Duration runTimeout, PrintStream out) {
        this.settings = settings;
        this.folder = folder;
        this.runTimeout = runTimeout;
        this.out = out;
    }

    /** Runs every cell and returns what each produced, in table order. */
    public ComparisonResults run() {
        try {
            Files.createDirectories(folder.resolve(REPORTS));
            Files.createDirectories(folder.resolve(LOGS));
        } catch (IOException e) {
            throw new UncheckedIOException("cannot create the output folder " + folder, e);
        }
        List<ComparisonResults.Cell> cells = new ArrayList<>();
        int total = settings.workloads().size() * settings.systems().size();
        int done = 0;
        for (String workload : settings.workloads()) {
            for (String system : settings.systems()) {
                done++;
                out.printf(Locale.ROOT, "[%d/%d] workload %s on %s ...%n", done, total, workload, system);
                ComparisonResults.Cell cell = runOne(workload, system);
                out.printf(Locale.ROOT, "[%d/%d] workload %s on %s: %s%n", done, total, workload, system, cell.summary());
                cells.add(cell);
            }
        }
        return new ComparisonResults(settings.workloads(), settings.systems(), cells);
    }

    private ComparisonResults.Cell runOne(String workload, String system) {
        Path report = reportFile(folder, workload, system);
        Path log = logFile(folder, workload, system);
        try {
            Files.deleteIfExists(report);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot replace " + report, e);
        }
        List<String> command = JavaCommand.of(MAIN_CLASS, settings.ycsbArguments(workload, system, report));
        long started = System.nanoTime();
        Process process;
        try {
            process = new ProcessBuilder(command).redirectErrorStream(true).redirectOutput(log.toFile()).start();
        } catch (IOException e) {
            throw new UncheckedIOException("cannot start the run of workload " + workload + " on " + system, e);
        }
        int exit;
        try {
            if (!process.waitFor(runTimeout.toMillis(), TimeUnit.MILLISECONDS)) {
                process.descendants().forEach(ProcessHandle::destroyForcibly);
                process.destroyForcibly();
                process.waitFor();
                return ComparisonResults.Cell.failed(workload, system, "timed out after " + runTimeout.toMinutes()
                        + " min", log);
            }
            exit = process.exitValue();
        } catch (InterruptedException e) {
            process.descendants().forEach(ProcessHandle::destroyForcibly);
            process.destroyForcibly();
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted during the run of workload " + workload + " on " + system, e);
        }
        Duration took = Duration.ofNanos(System.nanoTime() - started);
        if (!Files.exists(report)) {
            return ComparisonResults.Cell.failed(workload, system, "exit code " + exit + ", no report", log);
        }
        YcsbReport read = YcsbReport.read(report);
        return ComparisonResults.Cell.ran(workload, system, read, exit, took);
    }

    /** Reads back the reports an earlier comparison left in {@code folder}, for rendering again. */
    public static ComparisonResults readBack(Path folder, List<String> workloads, List<String> systems) {
        List<ComparisonResults.Cell> cells = new ArrayList<>();
        for (String workload : workloads) {
            for (String system : systems) {
                Path report = reportFile(folder, workload, system);
                Path log = logFile(folder, workload, system);
                cells.add(Files.exists(report)
                        ? ComparisonResults.Cell.ran(workload, system, YcsbReport.read(report), 0, null)
                        : ComparisonResults.Cell.failed(workload, system, "no report", log));
            }
        }
        return new ComparisonResults(workloads, systems, cells);
    }

    private static Path reportFile(Path folder, String workload, String system) {
        return folder.resolve(REPORTS).resolve(ComparisonSettings.reportName(workload, system));
    }

    private static Path logFile(Path folder, String workload, String system) {
        return folder.resolve(LOGS).resolve(ComparisonSettings.reportName(workload, system).replace(".json", ".log"));
    }
}
