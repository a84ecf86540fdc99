package io.rolexkv.bench.baseline.btree;

import io.rolexkv.common.fabric.FabricConnection;
import io.rolexkv.common.fabric.TestMemoryNode;
import io.rolexkv.rolex.index.WordIndexContractTest;
import org.junit.jupiter.api.Test;

import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The {@link io.rolexkv.rolex.index.WordIndex} contract on the B+tree, with nodes of six entries so that a few
 * thousand keys make a tree of several levels that splits at every level. Compute nodes differ in their caches:
 * warmed at open (clients 1, 4, ...), cold (2, 5, ...), holding four nodes (3, 6, ...). Every run ends with
 * {@link BTreeInspector}'s B-link checks.
 */
class ShermanBTreeContractTest extends WordIndexContractTest<ShermanBTree> {
    private static final BTreeOptions OPTIONS = BTreeFixture.SMALL_NODES;
    private static final BTreeOptions COLD = OPTIONS.withWarmCacheOnOpen(false);
    private static final BTreeOptions FOUR_NODE_CACHE = OPTIONS.withCacheCapacityBytes(4L * OPTIONS.nodeBytes());

    @Override
    protected Map<String, Long> regions() {
        return Map.of(BTreeRegionDescriptor.REGION_NAME, 16L << 20);
    }

    @Override
    protected ShermanBTree bulkLoad(FabricConnection connection, long[] keys, long[] words) {
        return ShermanBTree.bulkLoad(connection, OPTIONS, keys, words);
    }

    @Override
    protected ShermanBTree createEmpty(FabricConnection connection) {
        return ShermanBTree.createEmpty(connection, OPTIONS);
    }

    @Override
    protected ShermanBTree open(FabricConnection connection, int client) {
        return ShermanBTree.open(connection, switch (client % 3) {
            case 2 -> COLD;
            case 0 -> FOUR_NODE_CACHE;
            default -> OPTIONS;
        });
    }

    @Override
    protected long splits(ShermanBTree tree) {
        return tree.counters().splits();
    }

    @Override
    protected long lockConflicts(ShermanBTree tree) {
        return tree.counters().lockConflicts();
    }

    @Override
    protected void assertStructureSound(TestMemoryNode node, long keys) {
        assertEquals(keys, BTreeInspector.inspect(node.connect()).keys(), "keys in the tree");
    }

    @Override
    protected void afterRandomRun(TestMemoryNode node, List<ShermanBTree> trees) {
        BTreeInspector.Stats stats = BTreeInspector.inspect(node.connect());
        assertTrue(stats.height() >= 3, "the tree must grow to three levels at least: " + stats);
        long internalSplits = trees.stream().mapToLong(tree -> tree.counters().internalSplits()).sum();
        assertTrue(internalSplits > 0, "internal nodes must split too, internalSplits=" + internalSplits);
        if (trees.size() > 1) {
            assertTrue(trees.get(2).counters().cacheMisses() > 0, "the cold compute node fetches paths");
            assertTrue(trees.get(3).cachedBytes() <= 4L * OPTIONS.nodeBytes(),
                    "the cache budget holds: cachedBytes=" + trees.get(3).cachedBytes());
            long hops = trees.stream().mapToLong(tree -> tree.counters().siblingHops()).sum();
            assertTrue(hops > 0, "stale caches must have moved right along sibling links");
        }
    }

    @Override
    protected void afterConcurrentRun(String transport, List<ShermanBTree> trees) {
        long internalSplits = trees.stream().mapToLong(tree -> tree.counters().internalSplits()).sum();
        assertTrue(internalSplits > 0, "writers must split internal nodes while readers read, internalSplits=" + internalSplits);
        if (transport.endsWith(TestMemoryNode.TORN_SUFFIX)) {
            long torn = trees.stream().mapToLong(tree -> tree.counters().tornReads()).sum();
            assertTrue(torn > 0, "readers must meet torn nodes and read them again, tornReads=" + torn);
        }
    }

    @Override
    protected void afterStaleBatchReads(ShermanBTree reader) {
        assertTrue(reader.counters().siblingHops() > 0, "stale routes were corrected along sibling links");
    }

    @Test
    void aBatchOfOneKeyIsAllTheTreeWritesAtomically() {
        try (TestMemoryNode node = startNode("loopback")) {
            assertEquals(1, createEmpty(node.connect()).maxAtomicBatchKeys(), "one leaf lock at a time");
        }
    }
}
