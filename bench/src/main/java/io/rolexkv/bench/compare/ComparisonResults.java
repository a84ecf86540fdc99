package io.rolexkv.bench.compare;

import io.rolexkv.bench.ycsb.YcsbReport;

import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Locale;
import java.util.Objects;
import java.util.Optional;

/**
 * What a comparison produced: one cell per workload and system, in table order.
 *
 * @param workloads the table's rows
 * @param systems   the table's columns; the first is the one ratios compare against
 * @param cells     one per (workload, system)
 */
public record ComparisonResults(List<String> workloads, List<String> systems, List<Cell> cells) {

    public ComparisonResults {
        workloads = List.copyOf(workloads);
        systems = List.copyOf(systems);
        cells = List.copyOf(cells);
    }

    /** The report of a cell that ran, or empty for one that failed or is missing. */
    public Optional<YcsbReport> report(String workload, String system) {
        return cell(workload, system).map(Cell::report);
    }

    public Optional<Cell> cell(String workload, String system) {
        return cells.stream().filter(cell -> cell.workload().equals(workload) && cell.system().equals(system)).findFirst();
    }

    /** Any report, for the parameters every run shares (records, threads, value size, fabric). */
    public Optional<YcsbReport> anyReport() {
        return cells.stream().map(Cell::report).filter(Objects::nonNull).findFirst();
    }

    /** Cells that produced no report. */
    public List<Cell> failures() {
        return cells.stream().filter(cell -> cell.report() == null).toList();
    }

    /**
     * One run.
     *
     * @param report   what it reported, or {@code null} if it produced no report
     * @param failure  why there is no report, or {@code null}
     * @param exitCode the run's exit code (1: some operations failed, the report says how many)
     * @param log      its whole output
     * @param took     wall time of the run, load phase and start-up included; {@code null} when read back
     */
    public record Cell(String workload, String system, YcsbReport report, String failure, int exitCode, Path log,
                       Duration took) {

        static Cell ran(String workload, String system, YcsbReport report, int exitCode, Duration took) {
            return new Cell(workload, system, Objects.requireNonNull(report), null, exitCode, null, took);
        }

        static Cell failed(String workload, String system, String failure, Path log) {
            return new Cell(workload, system, null, failure, -1, log, null);
        }

        /** One line for the progress output. */
        public String summary() {
            if (report == null) {
                return "FAILED (" + failure + "; see " + log + ")";
            }
            return String.format(Locale.ROOT, "%,.0f ops/s, %.2f round trips/op, %d failed operations%s",
                    report.throughput(), report.roundTripsPerOp(), report.failedOperations(),
                    took == null ? "" : String.format(Locale.ROOT, " (%d s)", took.toSeconds()));
        }
    }
}
