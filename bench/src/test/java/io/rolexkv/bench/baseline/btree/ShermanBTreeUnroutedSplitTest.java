package io.rolexkv.bench.baseline.btree;

import io.rolexkv.common.fabric.WordOrder;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.lang.foreign.MemorySegment;
import java.util.OptionalLong;
import java.util.TreeMap;

import static org.junit.jupiter.api.Assertions.assertEquals;

/**
 * A leaf split links the key in its first doorbell; telling the parent is only a shortcut for later readers. When the
 * parent's lock cannot be had (its holder died), the write has still succeeded: it must return normally, not throw a
 * give-up that would tell the engine nothing was linked (and let it reuse a live value block).
 */
@Timeout(60)
class ShermanBTreeUnroutedSplitTest {

    @Test
    void aSplitWhoseParentStaysLockedStoresTheKeyAndCountsTheSplitUnrouted() {
        try (BTreeFixture fixture = new BTreeFixture("loopback", 1L << 20)) {
            long[] keys = new long[10];
            long[] words = new long[10];
            TreeMap<Long, Long> expected = new TreeMap<>();
            for (int i = 0; i < keys.length; i++) {
                keys[i] = 100L * (i + 1);
                words[i] = keys[i] + 1;
                expected.put(keys[i], words[i]);
            }
            ShermanBTree.bulkLoad(fixture.connect(), BTreeFixture.SMALL_NODES, keys, words);
            ShermanBTree tree = ShermanBTree.open(fixture.connect(),
                    BTreeFixture.SMALL_NODES.withLockTimeoutMillis(50));
            assertEquals(2, tree.height(), "leaves under one root, so the root is every leaf's parent");

            // A compute node died holding the root's lock.
            MemorySegment region = fixture.memory.segment(BTreeRegionDescriptor.REGION_NAME);
            long root = BTreeRegionDescriptor.rootNode(WordOrder.getLong(region, BTreeRegionDescriptor.ROOT_OFFSET));
            long lockOffset = BTreeRegionDescriptor.nodeOffset(root, tree.nodeBytes()) + BTreeNodeDescriptor.LOCK_OFFSET;
            WordOrder.putLong(region, lockOffset, 0xDEADL);

            for (long key = 101; tree.counters().leafSplits() == 0; key++) {
                tree.put(key, key * 3); // returns normally, split or not
                expected.put(key, key * 3);
            }
            assertEquals(1, tree.counters().unroutedSplits());
            for (var entry : expected.entrySet()) {
                assertEquals(OptionalLong.of(entry.getValue()), tree.get(entry.getKey()), "key " + entry.getKey());
            }
            assertEquals(expected.size(), tree.scan(0, -1L, 1_000).size());

            WordOrder.putLong(region, lockOffset, 0);
            for (long key = 201; key < 260; key++) {
                tree.put(key, key);
                expected.put(key, key);
            }
            assertEquals(expected.size(), tree.scan(0, -1L, 1_000).size());
        }
    }
}
