package io.rolexkv.bench.compare;

import io.rolexkv.bench.ycsb.YcsbReport;

import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;

/**
 * The comparison as Markdown: what ran and the command that ran it, the chart, then three tables: throughput per
 * workload and system (with each other system's throughput relative to the first), the figures per operation type
 * (latency percentiles, round trips and bytes per operation), and per run (failed operations, memory-node CPU, the
 * compute node's cached index state, retrains). A cell without a report says why instead of a number.
 */
public final class ComparisonMarkdown {
    private ComparisonMarkdown() {
    }

    /**
     * @param command   the command line that made the comparison, shown so anyone can make it again
     * @param chartFile the chart's file name, relative to the Markdown file, or {@code null} for none
     */
    public static String render(ComparisonResults results, String command, String chartFile) {
        StringBuilder out = new StringBuilder();
        List<String> systems = results.systems();
        out.append("## YCSB ").append(String.join(", ", results.workloads().stream().map(w -> w.toUpperCase(Locale.ROOT)).toList()))
                .append(": ").append(String.join(" vs ", systems)).append("\n\n");
        results.anyReport().ifPresent(report -> out.append(describe(report)).append("\n\n"));
        out.append("Made with `").append(command).append("`.\n\n");
        if (chartFile != null) {
            out.append("![throughput and round trips per operation](").append(chartFile).append(")\n\n");
        }

        out.append("### Throughput, operations per second\n\n");
        out.append("| workload |");
        systems.forEach(system -> out.append(' ').append(system).append(" |"));
        String first = systems.getFirst();
        for (String other : systems.subList(1, systems.size())) {
            out.append(' ').append(first).append(" / ").append(other).append(" |");
        }
        out.append('\n').append(separator(1 + systems.size() * 2 - 1));
        for (String workload : results.workloads()) {
            out.append("| ").append(workload.toUpperCase(Locale.ROOT)).append(" |");
            for (String system : systems) {
                out.append(' ').append(results.report(workload, system)
                        .map(report -> String.format(Locale.ROOT, "%,.0f", report.throughput()))
                        .orElseGet(() -> failureText(results, workload, system))).append(" |");
            }
            Optional<YcsbReport> ours = results.report(workload, first);
            for (String other : systems.subList(1, systems.size())) {
                Optional<YcsbReport> theirs = results.report(workload, other);
                out.append(' ').append(ours.isPresent() && theirs.isPresent() && theirs.get().throughput() > 0
                        ? String.format(Locale.ROOT, "%.2f", ours.get().throughput() / theirs.get().throughput())
                        : "–").append(" |");
            }
            out.append('\n');
        }

        out.append("\n### Per operation type\n\n");
        out.append("Latency is measured around each call on the client thread; round trips are doorbells (for `rpc`,"
                + " requests), bytes are what crossed the fabric, both per operation of the type.\n\n");
        out.append("| workload | operation | system | count | p50 µs | p99 µs | round trips/op | bytes read/op | bytes written/op |\n");
        out.append(separator(9));
        for (String workload : results.workloads()) {
            for (String operation : operations(results, workload)) {
                for (String system : systems) {
                    Optional<YcsbReport.OperationReport> figures = results.report(workload, system)
                            .map(report -> report.operationsByType().get(operation));
                    if (figures.isEmpty()) {
                        continue;
                    }
                    YcsbReport.OperationReport op = figures.get();
                    out.append(String.format(Locale.ROOT, "| %s | %s | %s | %,d | %,.0f | %,.0f | %.2f | %,.0f | %,.0f |%n",
                            workload.toUpperCase(Locale.ROOT), operation, system, op.count(), op.p50Micros(),
                            op.p99Micros(), op.roundTripsPerOp(), op.bytesReadPerOp(), op.bytesWrittenPerOp()));
                }
            }
        }

        out.append("\n### Per run\n\n");
        out.append("Model cache: the bytes of index state the compute node caches (ROLEX's models and tables, the"
                + " B+tree's internal nodes). CPU per operation: over the run phase, divided by its operations; the client's is the whole"
                + " client process (YCSB and the engine), the memory node's the memory-node (or server) processes.\n\n");
        out.append("| workload | system | failed operations | client CPU µs/op | memory-node CPU µs/op | model cache bytes"
                + " | retrains |\n");
        out.append(separator(7));
        for (String workload : results.workloads()) {
            for (String system : systems) {
                Optional<YcsbReport> report = results.report(workload, system);
                if (report.isEmpty()) {
                    out.append("| ").append(workload.toUpperCase(Locale.ROOT)).append(" | ").append(system).append(" | ")
                            .append(failureText(results, workload, system)).append(" | | | | |\n");
                    continue;
                }
                YcsbReport r = report.get();
                out.append(String.format(Locale.ROOT, "| %s | %s | %,d | %s | %s | %s | %s |%n", workload.toUpperCase(Locale.ROOT),
                        system, r.failedOperations(), microsPerOp(r.clientCpuSeconds(), r.operations()),
                        r.memoryNodeCpuSeconds() == null ? "–" : microsPerOp(r.memoryNodeCpuSeconds(), r.operations()),
                        r.modelCacheBytes() == null ? "–" : String.format(Locale.ROOT, "%,d", r.modelCacheBytes()),
                        r.retrains() == null ? "–" : String.valueOf(r.retrains())));
            }
        }
        return out.toString();
    }

    private static String microsPerOp(double seconds, long operations) {
        return String.format(Locale.ROOT, "%.1f", seconds * 1e6 / Math.max(1, operations));
    }

    /** One line on what every run shared. */
    static String describe(YcsbReport report) {
        String records = report.valueSize() == 8
                ? String.format(Locale.ROOT, "%,d records of one 8-byte value", report.records())
                : String.format(Locale.ROOT, "%,d records of %,d bytes", report.records(), report.valueSize());
        return String.format(Locale.ROOT, "%s, %,d operations per run, %d client threads, fabric %s.", records,
                report.operations(), report.threads(), report.fabric());
    }

    /** The operation types any system reported for the workload, in the order the reports list them. */
    private static List<String> operations(ComparisonResults results, String workload) {
        return results.systems().stream()
                .flatMap(system -> results.report(workload, system).stream())
                .flatMap(report -> report.operationsByType().entrySet().stream())
                .filter(entry -> entry.getValue().count() > 0)
                .map(Map.Entry::getKey)
                .distinct()
                .toList();
    }

    private static String failureText(ComparisonResults results, String workload, String system) {
        return results.cell(workload, system).map(cell -> "failed: " + cell.failure()).orElse("not run");
    }

    private static String separator(int columns) {
        return "|" + "---|".repeat(columns) + "\n";
    }
}
