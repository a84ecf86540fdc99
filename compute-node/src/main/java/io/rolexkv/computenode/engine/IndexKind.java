package io.rolexkv.computenode.engine;

import io.rolexkv.common.fabric.FabricConnection;
import io.rolexkv.rolex.index.IndexCounters;
import io.rolexkv.rolex.index.WordIndex;

import java.lang.foreign.MemorySegment;
import java.util.List;

/**
 * What the engine must know about the kind of index it runs on each memory node, beyond the {@link WordIndex}
 * operations: which regions the index lives in, how to tell from the node's memory that an index is ready, and how to
 * open, create and bulk load one. {@link RolexIndexKind} (the default) is the learned index; a B+tree baseline
 * supplies its own kind so that it runs under the same engine, value store and costs accounting.
 *
 * <p>An implementation is stateless (or immutable) and shared by every shard of an engine.
 */
public interface IndexKind {
    /** A short name for messages ({@code rolex}, {@code btree}). */
    String name();

    /** The regions the index needs on a memory node, besides the engine's own values region. */
    List<String> regionNames();

    /**
     * The global address of {@value #READY_PROBE_BYTES} bytes in the index's regions from which {@link #isReady} tells
     * whether a usable index is published there. The engine READs them in its first doorbell to each node.
     */
    long readyProbeAddress(FabricConnection connection);

    /** Bytes the engine reads at {@link #readyProbeAddress}. */
    int READY_PROBE_BYTES = 16;

    /** Whether the probe bytes show a published index. */
    boolean isReady(MemorySegment probe);

    /** Opens the published index on the connection's memory node, which holds the keys of {@code range}. */
    WordIndex open(FabricConnection connection, RolexKVConfig config, RolexKVConfig.MemoryNodeRange range);

    /** Builds an empty index there for the keys of {@code range}, replacing whatever index was there. */
    WordIndex createEmpty(FabricConnection connection, RolexKVConfig config, RolexKVConfig.MemoryNodeRange range);

    /** Builds an index of {@code sortedKeys} and their {@code words} there, replacing whatever index was there. */
    WordIndex bulkLoad(FabricConnection connection, RolexKVConfig config, RolexKVConfig.MemoryNodeRange range, long[] sortedKeys, long[] words);

    /**
     * The index's counters in the learned index's terms. A kind whose index counts other things answers the fields
     * that mean the same for it and zero for the rest, as its documentation says.
     */
    IndexCounters.Snapshot counters(WordIndex index);
}
