package io.rolexkv.bench.baseline.btree;

import io.rolexkv.common.fabric.FabricConnection;
import io.rolexkv.common.fabric.FabricCounters;
import io.rolexkv.rolex.index.PutOutcome;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.FieldSource;

import java.util.Arrays;
import java.util.List;
import java.util.OptionalLong;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Round trips and bytes, from the fabric counters: the figures the design promises, with the default 1 KB nodes. */
@Timeout(60)
class ShermanBTreeCostTest {
    static final List<String> TRANSPORTS = BTreeTransports.NAMES;
    private static final int NODE_BYTES = BTreeOptions.DEFAULT.nodeBytes();

    /** Sorted keys with gaps of at least 1,000, so {@code key + 1 .. key + 999} are never loaded. */
    private static long[] keys(int count, long seed) {
        Random random = new Random(seed);
        long[] keys = new long[count];
        long cursor = 0;
        for (int i = 0; i < count; i++) {
            cursor += 1_000 + random.nextInt(1_000_000);
            keys[i] = cursor;
        }
        return keys;
    }

    @ParameterizedTest
    @FieldSource("TRANSPORTS")
    void warmGetCostsExactlyOneDoorbellReadingOneNode(String transport) {
        long[] keys = keys(20_000, 1);
        try (BTreeFixture fixture = new BTreeFixture(transport, 64L << 20)) {
            ShermanBTree.bulkLoad(fixture.connect(), BTreeOptions.DEFAULT, keys, keys.clone());
            FabricConnection connection = fixture.connect();
            ShermanBTree tree = ShermanBTree.open(connection);
            assertEquals(3, tree.height(), "20k keys in 1 KB nodes: leaves, one internal level, the root");
            Random random = new Random(2);
            for (int i = 0; i < 2_000; i++) {
                long key = random.nextBoolean() ? keys[random.nextInt(keys.length)] : random.nextLong();
                FabricCounters.Snapshot before = connection.counters().snapshot();
                OptionalLong word = tree.get(key);
                FabricCounters.Snapshot cost = connection.counters().snapshot().minus(before);
                assertEquals(1, cost.doorbells(), "get of key " + Long.toUnsignedString(key));
                assertEquals(1, cost.reads(), "one READ");
                assertEquals(NODE_BYTES, cost.bytesRead(), "of one node");
                assertEquals(0, cost.writes() + cost.compareAndSwaps() + cost.fetchAndAdds(), "a get only reads");
                assertEquals(Arrays.binarySearch(keys, key) >= 0 ? OptionalLong.of(key) : OptionalLong.empty(), word);
            }
            assertEquals(0, tree.counters().cacheMisses());
            assertEquals(tree.cachedNodes() * (long) NODE_BYTES, tree.cachedBytes());
        }
    }

    @ParameterizedTest
    @FieldSource("TRANSPORTS")
    void uncontendedWritesWithoutSplitCostTwoDoorbellsAndWriteOneEntry(String transport) {
        long[] keys = keys(20_000, 3);
        try (BTreeFixture fixture = new BTreeFixture(transport, 64L << 20)) {
            FabricConnection connection = fixture.connect();
            ShermanBTree tree = ShermanBTree.bulkLoad(connection, BTreeOptions.DEFAULT, keys, keys.clone());
            // Leaves are loaded to 75%: the first inserts between loaded keys find a free slot.
            for (int i = 0; i < 2_000; i += 10) {
                long key = keys[i] + 1;
                FabricCounters.Snapshot before = connection.counters().snapshot();
                assertEquals(PutOutcome.INSERTED, tree.put(key, 42));
                FabricCounters.Snapshot insert = connection.counters().snapshot().minus(before);
                assertEquals(2, insert.doorbells(), "insert of key " + key);
                assertEquals(1, insert.compareAndSwaps(), "one CAS: the lock");
                assertEquals(NODE_BYTES, insert.bytesRead(), "one leaf read");
                assertEquals(BTreeNodeDescriptor.ENTRY_BYTES + Long.BYTES, insert.bytesWritten(), "one entry and the unlock");

                before = connection.counters().snapshot();
                assertEquals(PutOutcome.UPDATED, tree.put(key, 43));
                FabricCounters.Snapshot update = connection.counters().snapshot().minus(before);
                assertEquals(2, update.doorbells(), "update");
                assertEquals(BTreeNodeDescriptor.ENTRY_BYTES + Long.BYTES, update.bytesWritten());
                assertEquals(OptionalLong.of(43), tree.get(key));

                before = connection.counters().snapshot();
                assertTrue(tree.delete(key));
                assertEquals(2, connection.counters().snapshot().minus(before).doorbells(), "delete");
                assertEquals(OptionalLong.empty(), tree.get(key));
                assertEquals(PutOutcome.INSERTED, tree.put(key, 44));
            }
            assertEquals(0, tree.counters().splits());
        }
    }

    @ParameterizedTest
    @FieldSource("TRANSPORTS")
    void aLeafSplitCostsThreeDoorbellsPlusAnOccasionalAllocation(String transport) {
        long[] keys = keys(20_000, 4);
        int keysPerLeaf = BTreeOptions.DEFAULT.keysPerLeafAtLoad();
        try (BTreeFixture fixture = new BTreeFixture(transport, 64L << 20)) {
            FabricConnection connection = fixture.connect();
            ShermanBTree tree = ShermanBTree.bulkLoad(connection, BTreeOptions.DEFAULT, keys, keys.clone());
            long allocations = 0;
            // Fill 100 leaves spread over the level above (so the parents keep room) until each splits once.
            for (int leaf = 0; leaf < 600; leaf += 6) {
                long base = keys[leaf * keysPerLeaf];
                long splitsBefore = tree.counters().leafSplits();
                for (long key = base + 1; tree.counters().leafSplits() == splitsBefore; key++) {
                    FabricCounters.Snapshot before = connection.counters().snapshot();
                    tree.put(key, 7);
                    FabricCounters.Snapshot cost = connection.counters().snapshot().minus(before);
                    if (tree.counters().leafSplits() == splitsBefore) {
                        assertEquals(2, cost.doorbells(), "an insert with room in the leaf");
                        continue;
                    }
                    allocations += cost.fetchAndAdds();
                    assertEquals(3 + cost.fetchAndAdds(), cost.doorbells(),
                            "lock+read leaf | write halves+unlock+lock+read parent | write parent+unlock (+ FAA)");
                    assertEquals(2L * NODE_BYTES, cost.bytesRead(), "the leaf and its parent");
                    assertEquals(OptionalLong.of(7), tree.get(key));
                }
            }
            assertEquals(100, tree.counters().leafSplits());
            assertTrue(allocations <= 100 / BTreeOptions.ALLOCATION_CHUNK_NODES_DEFAULT + 1,
                    "nodes come in chunks: allocations=" + allocations);
            assertEquals(0, tree.counters().internalSplits());
            BTreeInspector.inspect(connection);
        }
    }

    @ParameterizedTest
    @FieldSource("TRANSPORTS")
    void aStaleCacheMovesRightThenRefetchesTheParentThenCostsOneDoorbellAgain(String transport) {
        long[] keys = keys(20_000, 5);
        try (BTreeFixture fixture = new BTreeFixture(transport, 64L << 20)) {
            ShermanBTree writer = ShermanBTree.bulkLoad(fixture.connect(), BTreeOptions.DEFAULT, keys, keys.clone());
            FabricConnection readerConnection = fixture.connect();
            ShermanBTree reader = ShermanBTree.open(readerConnection);
            // Fill one leaf's key range until it splits; the reader's cache learns nothing of it. The leaf's last
            // loaded key is in the upper half, which moves to the new right leaf.
            int keysPerLeaf = BTreeOptions.DEFAULT.keysPerLeafAtLoad();
            long base = keys[100 * keysPerLeaf];
            for (long key = base + 1; writer.counters().leafSplits() == 0; key++) {
                writer.put(key, key);
            }
            long inserted = keys[101 * keysPerLeaf - 1];
            FabricCounters.Snapshot before = readerConnection.counters().snapshot();
            assertEquals(OptionalLong.of(inserted), reader.get(inserted));
            FabricCounters.Snapshot first = readerConnection.counters().snapshot().minus(before);
            assertEquals(2, first.doorbells(), "the stale leaf, then its right sibling");
            assertEquals(1, reader.counters().siblingHops());

            before = readerConnection.counters().snapshot();
            assertEquals(OptionalLong.of(inserted), reader.get(inserted));
            assertEquals(2, readerConnection.counters().snapshot().minus(before).doorbells(),
                    "the dropped parent is fetched once, then the right leaf is read");
            assertEquals(1, reader.counters().cacheMisses());

            before = readerConnection.counters().snapshot();
            assertEquals(OptionalLong.of(inserted), reader.get(inserted));
            assertEquals(1, readerConnection.counters().snapshot().minus(before).doorbells(), "warm again");
        }
    }

    @ParameterizedTest
    @FieldSource("TRANSPORTS")
    void aColdCacheFetchesThePathOnceThenLookupsCostOneDoorbell(String transport) {
        long[] keys = keys(20_000, 6);
        try (BTreeFixture fixture = new BTreeFixture(transport, 64L << 20)) {
            ShermanBTree.bulkLoad(fixture.connect(), BTreeOptions.DEFAULT, keys, keys.clone());
            FabricConnection connection = fixture.connect();
            ShermanBTree cold = ShermanBTree.open(connection, BTreeOptions.DEFAULT.withWarmCacheOnOpen(false));
            assertEquals(0, cold.cachedBytes());
            long key = keys[12_345];
            FabricCounters.Snapshot before = connection.counters().snapshot();
            assertEquals(OptionalLong.of(key), cold.get(key));
            assertEquals(3, connection.counters().snapshot().minus(before).doorbells(), "root, internal node, leaf");
            assertEquals(2L * NODE_BYTES, cold.cachedBytes());
            before = connection.counters().snapshot();
            assertEquals(OptionalLong.of(key), cold.get(key));
            assertEquals(1, connection.counters().snapshot().minus(before).doorbells());
        }
    }

    @ParameterizedTest
    @FieldSource("TRANSPORTS")
    void aScanReadsSeveralLeavesPerDoorbell(String transport) {
        long[] keys = keys(20_000, 7);
        try (BTreeFixture fixture = new BTreeFixture(transport, 64L << 20)) {
            FabricConnection connection = fixture.connect();
            ShermanBTree tree = ShermanBTree.bulkLoad(connection, BTreeOptions.DEFAULT, keys, keys.clone());
            int keysPerLeaf = BTreeOptions.DEFAULT.keysPerLeafAtLoad();
            FabricCounters.Snapshot before = connection.counters().snapshot();
            var scan = tree.scan(keys[5_000], -1L, 1_000);
            FabricCounters.Snapshot cost = connection.counters().snapshot().minus(before);
            assertEquals(1_000, scan.size());
            assertEquals(keys[5_000], scan.getFirst().key());
            assertEquals(keys[5_999], scan.getLast().key());
            long leaves = 1_000 / keysPerLeaf + 2;
            assertTrue(cost.doorbells() <= 3, "1,000 keys of ~" + leaves + " leaves: doorbells=" + cost.doorbells());
            assertTrue(cost.reads() >= leaves - 1, "every leaf of the range is read: reads=" + cost.reads());
        }
    }
}
