package io.rolexkv.bench.compare;

import io.rolexkv.bench.ycsb.YcsbReport;

import java.util.LinkedHashMap;
import java.util.Map;

/** Reports made up for the rendering tests: the figures are chosen so the expected tables and bars are known. */
final class ComparisonFixtures {
    private ComparisonFixtures() {
    }

    static YcsbReport report(String system, String workload, double throughput, double readRoundTrips,
                             double updateRoundTrips) {
        Map<String, YcsbReport.OperationReport> operations = new LinkedHashMap<>();
        operations.put("READ", new YcsbReport.OperationReport(600, 80, 250, readRoundTrips, 1024, 0));
        operations.put("UPDATE", new YcsbReport.OperationReport(400, 150, 900, updateRoundTrips, 1100, 64));
        return new YcsbReport(system, "tcp", workload, 1000, 1000, 8, 8, throughput, 0,
                system.equals("rpc") ? null : 4096L, system.equals("rolex") ? 3L : null, 1.5, 2.5, operations,
                java.util.List.of());
    }

    static ComparisonResults.Cell ran(YcsbReport report) {
        return ComparisonResults.Cell.ran(report.workload(), report.system(), report, 0, null);
    }
}
