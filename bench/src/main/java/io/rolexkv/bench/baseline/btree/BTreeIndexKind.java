package io.rolexkv.bench.baseline.btree;

import io.rolexkv.common.fabric.FabricConnection;
import io.rolexkv.common.fabric.WordOrder;
import io.rolexkv.computenode.engine.IndexKind;
import io.rolexkv.computenode.engine.RolexKV;
import io.rolexkv.computenode.engine.RolexKVConfig;
import io.rolexkv.rolex.index.IndexCounters;
import io.rolexkv.rolex.index.WordIndex;

import java.lang.foreign.MemorySegment;
import java.util.List;

/**
 * The Sherman-style B+tree ({@link ShermanBTree}) as the index of the {@link RolexKV} engine, so the baseline runs
 * with the same value store, fabric and harness as ROLEX: one {@value BTreeRegionDescriptor#REGION_NAME} region per
 * memory node, the region header's magic and state words as the readiness probe, and the tree's settings from
 * {@link BTreeOptions} (the config's ROLEX geometry and room wait mean nothing to it: a B+tree splits instead of
 * waiting for a retrain).
 *
 * <p>Counters: of the learned index's counters, torn leaf reads (torn node reads here), lock conflicts and splits
 * (leaf and internal) mean the same for the tree and are filled; the others (synonym links, stale table entries,
 * rejected inserts, room waits, model refreshes) are zero. {@link ShermanBTree#counters()} has the tree's own.
 */
public final class BTreeIndexKind implements IndexKind {
    public static final String NAME = "btree";
    /** 1 KB nodes, the whole internal levels cached on each compute node, as Sherman runs. */
    public static final BTreeIndexKind DEFAULT = new BTreeIndexKind(BTreeOptions.DEFAULT);

    private final BTreeOptions options;

    public BTreeIndexKind(BTreeOptions options) {
        this.options = options;
    }

    public BTreeOptions options() {
        return options;
    }

    @Override
    public String name() {
        return NAME;
    }

    @Override
    public List<String> regionNames() {
        return List.of(BTreeRegionDescriptor.REGION_NAME);
    }

    @Override
    public long readyProbeAddress(FabricConnection connection) {
        return new BTreeLayout(connection, BTreeNodeDescriptor.MIN_NODE_BYTES).headerAddress(BTreeRegionDescriptor.MAGIC_OFFSET);
    }

    @Override
    public boolean isReady(MemorySegment probe) {
        return WordOrder.getLong(probe, BTreeRegionDescriptor.MAGIC_OFFSET) == BTreeRegionDescriptor.MAGIC
                && WordOrder.getLong(probe, BTreeRegionDescriptor.STATE_OFFSET) == BTreeRegionDescriptor.STATE_READY;
    }

    @Override
    public WordIndex open(FabricConnection connection, RolexKVConfig config, RolexKVConfig.MemoryNodeRange range) {
        return ShermanBTree.open(connection, options);
    }

    @Override
    public WordIndex createEmpty(FabricConnection connection, RolexKVConfig config, RolexKVConfig.MemoryNodeRange range) {
        return ShermanBTree.createEmpty(connection, options);
    }

    @Override
    public WordIndex bulkLoad(FabricConnection connection, RolexKVConfig config, RolexKVConfig.MemoryNodeRange range, long[] sortedKeys,
                              long[] words) {
        return ShermanBTree.bulkLoad(connection, options, sortedKeys, words);
    }

    @Override
    public IndexCounters.Snapshot counters(WordIndex index) {
        BTreeCounters.Snapshot tree = ((ShermanBTree) index).counters();
        return new IndexCounters.Snapshot(tree.tornReads(), 0, tree.lockConflicts(), 0, 0, tree.splits(), 0, 0, 0, 0);
    }

    @Override
    public String toString() {
        return NAME + options;
    }
}
