package io.rolexkv.bench.baseline.btree;

import io.rolexkv.common.fabric.FabricConnection;
import io.rolexkv.common.fabric.RegisteredMemory;
import io.rolexkv.common.fabric.WordOrder;
import io.rolexkv.common.fabric.loopback.LoopbackTransport;
import io.rolexkv.rolex.index.IndexFullException;
import io.rolexkv.rolex.index.IndexGaveUpException;
import io.rolexkv.rolex.index.PutOutcome;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.lang.foreign.MemorySegment;
import java.util.OptionalLong;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

@Timeout(60)
class ShermanBTreeBadInputTest {

    @Test
    void bulkLoadRejectsUnsortedAndDuplicateKeysNamingThePair() {
        try (BTreeFixture fixture = new BTreeFixture("loopback", 1L << 20)) {
            FabricConnection connection = fixture.connect();
            IllegalArgumentException unsorted = assertThrows(IllegalArgumentException.class,
                    () -> ShermanBTree.bulkLoad(connection, BTreeOptions.DEFAULT, new long[] {1, 5, 3}, new long[3]));
            assertTrue(unsorted.getMessage().contains("unsorted at index=2 keys[1]=5 keys[2]=3"), unsorted.getMessage());
            IllegalArgumentException duplicate = assertThrows(IllegalArgumentException.class,
                    () -> ShermanBTree.bulkLoad(connection, BTreeOptions.DEFAULT, new long[] {1, 5, 5}, new long[3]));
            assertTrue(duplicate.getMessage().contains("duplicate at index=2 keys[1]=5 keys[2]=5"), duplicate.getMessage());
            IllegalArgumentException unsignedOrder = assertThrows(IllegalArgumentException.class,
                    () -> ShermanBTree.bulkLoad(connection, BTreeOptions.DEFAULT, new long[] {-1L, 5}, new long[2]));
            assertTrue(unsignedOrder.getMessage().contains("unsorted"), "keys are unsigned: 2^64-1 sorts last");
            IllegalArgumentException lengths = assertThrows(IllegalArgumentException.class,
                    () -> ShermanBTree.bulkLoad(connection, BTreeOptions.DEFAULT, new long[] {1, 2}, new long[3]));
            assertTrue(lengths.getMessage().contains("keys=2 words=3"), lengths.getMessage());
            IllegalStateException none = assertThrows(IllegalStateException.class, () -> ShermanBTree.open(connection),
                    "nothing was published by the refused loads");
            assertTrue(none.getMessage().contains("no btree on memory node 0"), none.getMessage());
        }
    }

    @Test
    void aRegionTooSmallForTheLoadIsRefusedBeforeAnythingIsWritten() {
        try (BTreeFixture fixture = new BTreeFixture("loopback", 64 * 1024)) {
            FabricConnection connection = fixture.connect();
            ShermanBTree.bulkLoad(connection, BTreeOptions.DEFAULT, new long[] {10, 20}, new long[] {1, 2});
            long[] keys = new long[10_000];
            for (int i = 0; i < keys.length; i++) {
                keys[i] = i;
            }
            IllegalArgumentException tooSmall = assertThrows(IllegalArgumentException.class,
                    () -> ShermanBTree.bulkLoad(connection, BTreeOptions.DEFAULT, keys, keys.clone()));
            assertTrue(tooSmall.getMessage().contains("give the memory node a larger btree region"), tooSmall.getMessage());
            assertEquals(OptionalLong.of(2), ShermanBTree.open(connection).get(20), "the tree already there still serves");
        }
    }

    @Test
    void aMemoryNodeWithoutTheRegionIsNamedWithTheRegionsItHas() {
        try (RegisteredMemory memory = new RegisteredMemory(4); LoopbackTransport transport = new LoopbackTransport()) {
            memory.allocate("leaves", 4096);
            transport.serve(memory, "no-btree");
            FabricConnection connection = transport.connect("no-btree", null);
            IllegalArgumentException missing = assertThrows(IllegalArgumentException.class,
                    () -> ShermanBTree.createEmpty(connection, BTreeOptions.DEFAULT));
            assertTrue(missing.getMessage().contains("no region named btree; it has [leaves]"), missing.getMessage());
        }
    }

    @Test
    void aLockHeldTooLongFailsTheWriteClearlyWhileReadsGoOn() {
        try (BTreeFixture fixture = new BTreeFixture("loopback", 1L << 20)) {
            ShermanBTree.bulkLoad(fixture.connect(), BTreeOptions.DEFAULT, new long[] {10, 20, 30}, new long[] {1, 2, 3});
            ShermanBTree tree = ShermanBTree.open(fixture.connect(), BTreeOptions.DEFAULT.withLockTimeoutMillis(50));
            // A compute node died holding the lock of the only leaf (node 1, the root).
            MemorySegment region = fixture.memory.segment(BTreeRegionDescriptor.REGION_NAME);
            long lockOffset = BTreeRegionDescriptor.nodeOffset(1, tree.nodeBytes()) + BTreeNodeDescriptor.LOCK_OFFSET;
            WordOrder.putLong(region, lockOffset, 0xDEADL);
            IndexGaveUpException timeout = assertThrows(IndexGaveUpException.class, () -> tree.put(20, 99));
            assertTrue(timeout.getMessage().contains("could not lock btree node=1 level=0 within 50 ms"), timeout.getMessage());
            assertTrue(timeout.getMessage().contains("lock word=dead"), timeout.getMessage());
            assertTrue(tree.counters().lockConflicts() > 0);
            assertEquals(OptionalLong.of(2), tree.get(20), "readers take no locks");
            assertEquals(3, tree.scan(0, -1L, 10).size());
            WordOrder.putLong(region, lockOffset, 0);
            assertEquals(PutOutcome.UPDATED, tree.put(20, 99));
            assertEquals(OptionalLong.of(99), tree.get(20));
        }
    }

    @Test
    void aFullRegionRefusesInsertsClearlyAndTheTreeKeepsServing() {
        BTreeOptions options = BTreeFixture.SMALL_NODES;
        try (BTreeFixture fixture = new BTreeFixture("loopback", 64L * options.nodeBytes())) {
            ShermanBTree tree = ShermanBTree.createEmpty(fixture.connect(), options);
            long stored = 0;
            IndexFullException full = null;
            for (long key = 1; key < 10_000 && full == null; key++) {
                try {
                    tree.put(key * 1000, key);
                    stored = key;
                } catch (IndexFullException e) {
                    full = e;
                }
            }
            assertTrue(full != null, "the region must run out of nodes");
            assertTrue(full.getMessage().contains("has no free node for a split"), full.getMessage());
            assertTrue(full.getMessage().contains("nothing was stored"), full.getMessage());
            assertEquals(OptionalLong.empty(), tree.get((stored + 1) * 1000), "the refused key is absent");
            for (long key = 1; key <= stored; key++) {
                assertEquals(OptionalLong.of(key), tree.get(key * 1000), "stored key " + key);
            }
            assertEquals(stored, tree.scan(0, -1L, Integer.MAX_VALUE).size());
            assertEquals(PutOutcome.UPDATED, tree.put(1000, -1), "updates need no new node");
            assertTrue(tree.delete(2000));
            assertEquals(PutOutcome.INSERTED, tree.put(2000, 2), "a delete makes room in its leaf");
            assertEquals(stored, BTreeInspector.inspect(fixture.connect()).keys());
            assertEquals(OptionalLong.of(-1), ShermanBTree.open(fixture.connect()).get(1000));
        }
    }

    @Test
    void optionsNameTheSettingAndTheAllowedRange() {
        assertMessage("node_bytes=100 allowed=[144,65536], a multiple of 8", () -> BTreeOptions.DEFAULT.withNodeBytes(100));
        assertMessage("node_bytes=1020 allowed", () -> BTreeOptions.DEFAULT.withNodeBytes(1020));
        assertMessage("load_factor=0.0 allowed=(0,1]", () -> BTreeOptions.DEFAULT.withLoadFactor(0));
        assertMessage("allocation_chunk_nodes=0 allowed=[1,", () -> BTreeOptions.DEFAULT.withAllocationChunkNodes(0));
        assertMessage("cache_capacity_bytes=-1 must be >= 0", () -> BTreeOptions.DEFAULT.withCacheCapacityBytes(-1));
        assertMessage("lock_timeout_millis=0 allowed=[1,", () -> BTreeOptions.DEFAULT.withLockTimeoutMillis(0));
    }

    @Test
    void aScanWithANegativeLimitIsRefused() {
        try (BTreeFixture fixture = new BTreeFixture("loopback", 1L << 20)) {
            ShermanBTree tree = ShermanBTree.createEmpty(fixture.connect(), BTreeOptions.DEFAULT);
            assertMessage("limit=-1 must be >= 0", () -> tree.scan(0, 10, -1));
            assertEquals(0, tree.scan(10, 0, 5).size(), "from above to: nothing");
        }
    }

    private static void assertMessage(String expected, org.junit.jupiter.api.function.Executable executable) {
        IllegalArgumentException thrown = assertThrows(IllegalArgumentException.class, executable);
        assertTrue(thrown.getMessage().contains(expected), thrown.getMessage());
    }
}
