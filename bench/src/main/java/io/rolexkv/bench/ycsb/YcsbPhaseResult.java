package io.rolexkv.bench.ycsb;

import io.rolexkv.common.fabric.FabricCounters;

import java.util.Collections;
import java.util.EnumMap;
import java.util.Map;
import java.util.Optional;

/**
 * What one phase (load or run) did.
 *
 * @param phase              {@code LOAD} or {@code RUN}
 * @param operations         YCSB operations completed by all client threads
 * @param elapsedNanos       from starting the client threads to the last one finishing
 * @param figures            per operation type that ran, as the binding measured them, in type order
 * @param ycsbStatusCounts   YCSB's own status counts: measurement ({@code READ}, {@code VERIFY}) to status to count
 * @param bindingErrors      exceptions the binding turned into ERROR
 * @param bulkLoadNanos      time of the one bulk load at the end of a bulk load phase, if it was one
 * @param bulkLoadedRecords  records loaded by that bulk load
 * @param fabricCost         the client's fabric totals over the phase (bulk load included), if the system has a fabric
 * @param memoryNodes        per memory node: records at the phase's end, traffic in the phase (empty if not split)
 * @param cpu                CPU the client process and the memory-node processes used over the phase
 */
public record YcsbPhaseResult(Phase phase, long operations, long elapsedNanos, Map<OperationType, OperationFigures> figures,
                              Map<String, Map<String, Long>> ycsbStatusCounts, long bindingErrors,
                              Optional<Long> bulkLoadNanos, long bulkLoadedRecords,
                              Optional<FabricCounters.Snapshot> fabricCost,
                              java.util.List<YcsbReport.MemoryNodeReport> memoryNodes, PhaseCpu cpu) {

    /** YCSB's two phases. */
    public enum Phase {
        LOAD,
        RUN
    }

    /**
     * CPU used over a phase, bulk load included.
     *
     * @param clientSeconds     the whole client process: YCSB's threads and the engine (the compute node), and any
     *                          memory nodes embedded in the same process
     * @param memoryNodeSeconds memory-node (or rpc server) processes of the system's own; empty when there are none (an
     *                          embedded or in-process system, or nodes started elsewhere)
     */
    public record PhaseCpu(double clientSeconds, Optional<Double> memoryNodeSeconds) {
    }

    public YcsbPhaseResult {
        EnumMap<OperationType, OperationFigures> inTypeOrder = new EnumMap<>(OperationType.class);
        inTypeOrder.putAll(figures);
        figures = Collections.unmodifiableMap(inTypeOrder);
        ycsbStatusCounts = Map.copyOf(ycsbStatusCounts);
        memoryNodes = java.util.List.copyOf(memoryNodes);
    }

    /** Operations per second over the phase's client time (the bulk load, if any, not included). */
    public double throughput() {
        return elapsedNanos == 0 ? 0.0 : operations * 1e9 / elapsedNanos;
    }

    /**
     * Operations that did not answer OK, as YCSB counted them, plus records that failed YCSB's data integrity check
     * ({@code VERIFY}). READ-MODIFY-WRITE is left out: its read and update are counted on their own.
     */
    public long failedOperations() {
        long failed = 0;
        for (Map.Entry<String, Map<String, Long>> measurement : ycsbStatusCounts.entrySet()) {
            if (measurement.getKey().equals(OperationType.READ_MODIFY_WRITE.ycsbName())) {
                continue;
            }
            for (Map.Entry<String, Long> status : measurement.getValue().entrySet()) {
                if (!status.getKey().equals("OK")) {
                    failed += status.getValue();
                }
            }
        }
        return failed;
    }
}
