package io.rolexkv.bench.system;

import io.rolexkv.common.fabric.FabricCounters;
import io.rolexkv.common.kv.BaseKV;

import java.util.List;
import io.rolexkv.rolex.index.IndexCounters;

import java.util.Optional;
import java.util.OptionalDouble;
import java.util.OptionalLong;

/**
 * One store a benchmark runs against, with everything the report needs to know about it: the engine itself, how to
 * attribute fabric costs to operations, and the figures only some systems have. The in-process engine has no fabric,
 * no model and no memory node, so those are empty for it (and {@code null} in a report); a learned index has all of
 * them.
 *
 * <p>Opened by {@link SystemUnderTestFactory}; closing it releases the engine and whatever the system started for it
 * (connections, embedded memory nodes).
 */
public interface SystemUnderTest extends AutoCloseable {

    /** The system's name as the command line spells it: {@code rolex}, {@code btree}, {@code rpc}, {@code in_process}. */
    String name();

    /** The fabric the engine talks over ({@code loopback}, {@code tcp}, {@code rdma}), or {@code none}. */
    String fabric();

    /** The store; shared by every client thread, so it must be thread-safe (as {@link BaseKV} promises). */
    BaseKV engine();

    /** The per-thread cost the engine's operations post; {@link OperationCostProbe#NONE} without a fabric. */
    OperationCostProbe costProbe();

    /** The client's fabric totals across all its connections now, or empty without a fabric. */
    Optional<FabricCounters.Snapshot> fabricCounters();

    /** Bytes of model state cached on the compute node (a learned index's models, a B+tree's cached inner nodes). */
    OptionalLong modelCacheBytes();

    /** How many retrains the memory nodes have completed so far. */
    OptionalLong retrains();

    /** CPU seconds the memory-node processes have used so far, when they are separate processes. */
    OptionalDouble memoryNodeCpuSeconds();

    /**
     * What the engine's index did so far beyond the fabric's costs (lock conflicts, waits for compaction, model
     * refreshes, delta leaves walked, torn reads), for systems with a one-sided index; empty otherwise.
     */
    default Optional<IndexCounters.Snapshot> indexCounters() {
        return Optional.empty();
    }

    /**
     * One memory node's share: where it is, the records in its range (counted by a scan when asked, else 0), and the
     * client's fabric totals to it (taken before that scan).
     */
    record MemoryNodeShare(String endpoint, long records, FabricCounters.Snapshot fabric) {
    }

    /** Per memory node in key order, for systems whose engine splits keys over memory nodes; empty otherwise. */
    default List<MemoryNodeShare> memoryNodes(boolean countRecords) {
        return List.of();
    }

    @Override
    void close();
}
