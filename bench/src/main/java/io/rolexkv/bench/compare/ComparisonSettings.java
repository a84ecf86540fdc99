package io.rolexkv.bench.compare;

import io.rolexkv.bench.system.SystemUnderTestFactory;
import io.rolexkv.bench.ycsb.YcsbWorkloads;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;

/**
 * What one comparison runs: every workload against every system, each run with the same YCSB parameters, so the only
 * thing that differs between two cells of the table is the system.
 *
 * @param workloads  YCSB workloads in the order of the table ({@code a} .. {@code f})
 * @param systems    systems in the order of the table; the first is the one the ratio columns compare against
 * @param records    records loaded per run
 * @param operations operations per run phase
 * @param threads    YCSB client threads
 * @param valueSize  one field of this many bytes per record, or {@code null} for YCSB's default record
 * @param fabric     the fabric of systems with memory nodes
 * @param bulkLoad   whether the load phase is one bulk load instead of a put per record
 * @param properties YCSB properties passed through to every run
 */
public record ComparisonSettings(List<String> workloads, List<String> systems, int records, int operations, int threads,
                                 Integer valueSize, String fabric, boolean bulkLoad, Map<String, String> properties) {

    public ComparisonSettings {
        workloads = List.copyOf(workloads);
        systems = List.copyOf(systems);
        properties = java.util.Collections.unmodifiableMap(new LinkedHashMap<>(properties));
        Objects.requireNonNull(fabric, "fabric");
        if (workloads.isEmpty() || systems.isEmpty()) {
            throw new IllegalArgumentException("a comparison needs at least one workload and one system: workloads="
                    + workloads + " systems=" + systems);
        }
        for (String workload : workloads) {
            if (!YcsbWorkloads.NAMES.contains(workload) || YcsbWorkloads.isLoadOnly(workload)) {
                throw new IllegalArgumentException("workload=" + workload + " allowed=" + YcsbWorkloads.NAMES.stream()
                        .filter(name -> !YcsbWorkloads.isLoadOnly(name)).toList());
            }
        }
        for (String system : systems) {
            if (!SystemUnderTestFactory.SYSTEMS.contains(system)) {
                throw new IllegalArgumentException("system=" + system + " allowed=" + SystemUnderTestFactory.SYSTEMS);
            }
        }
        if (workloads.stream().distinct().count() != workloads.size() || systems.stream().distinct().count() != systems.size()) {
            throw new IllegalArgumentException("workloads and systems must not repeat: workloads=" + workloads
                    + " systems=" + systems);
        }
    }

    /** The arguments of the {@code ycsb} command that runs {@code workload} on {@code system}, writing {@code report}. */
    public List<String> ycsbArguments(String workload, String system, Path report) {
        List<String> arguments = new ArrayList<>(List.of("ycsb", "--workload", workload, "--system", system,
                "--fabric", fabric, "--records", String.valueOf(records), "--operations", String.valueOf(operations),
                "--threads", String.valueOf(threads), "--report", report.toString(), "--progress-interval", "10"));
        if (valueSize != null) {
            arguments.add("--value-size");
            arguments.add(String.valueOf(valueSize));
        }
        if (bulkLoad) {
            arguments.add("--bulk-load");
        }
        properties.forEach((name, value) -> {
            arguments.add("-p");
            arguments.add(name + "=" + value);
        });
        return arguments;
    }

    /** The file name (without folder) of the report of one cell. */
    public static String reportName(String workload, String system) {
        return system + "-" + workload + ".json";
    }
}
