package io.rolexkv.bench.baseline.btree;

import io.rolexkv.common.fabric.FabricConnection;
import io.rolexkv.common.fabric.FabricCounters;
import io.rolexkv.common.fabric.FabricLimits;
import io.rolexkv.common.fabric.FabricServer;
import io.rolexkv.common.fabric.FabricTransport;
import io.rolexkv.common.fabric.FabricTransports;
import io.rolexkv.common.fabric.GlobalAddress;
import io.rolexkv.common.fabric.RegisteredMemory;
import io.rolexkv.common.fabric.WordOrder;
import io.rolexkv.rolex.index.WordUpdate;
import io.rolexkv.rolex.index.WriteResult;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.util.ArrayList;
import java.util.List;
import java.util.OptionalLong;
import java.util.Random;
import java.util.TreeMap;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The B+tree's side of {@link io.rolexkv.rolex.index.WordIndex}, what the engine relies on: verbs that ride a put's
 * first doorbell and an update's final one (before the entry is visible, also when the leaf splits), the word an
 * update sees under the lock, remove returning the old word, and batch lookups against a TreeMap.
 */
@Timeout(60)
class ShermanBTreeWordIndexTest {
    private static final String SCRATCH = "scratch";

    private RegisteredMemory memory;
    private FabricTransport transport;
    private FabricServer server;
    private final List<FabricConnection> connections = new ArrayList<>();

    @BeforeEach
    void start() {
        memory = new RegisteredMemory(0);
        memory.allocate(BTreeRegionDescriptor.REGION_NAME, 8L << 20);
        memory.allocate(SCRATCH, 1L << 20);
        transport = FabricTransports.create("loopback", FabricLimits.DEFAULT);
        server = transport.serve(memory, "word-index-test");
    }

    @AfterEach
    void stop() {
        connections.forEach(FabricConnection::close);
        server.close();
        transport.close();
        memory.close();
    }

    private FabricConnection connect() {
        FabricConnection connection = transport.connect(server.endpoint(), null);
        connections.add(connection);
        return connection;
    }

    private static long scratchAddress(FabricConnection connection, long offset) {
        return GlobalAddress.of(connection.memoryNodeId(), connection.region(SCRATCH).id(), offset);
    }

    private long scratchWord(long offset) {
        return WordOrder.getLong(memory.segment(SCRATCH), offset);
    }

    private static long doorbells(FabricConnection connection, FabricCounters.Snapshot before) {
        return connection.counters().snapshot().minus(before).doorbells();
    }

    @Test
    void putRunsItsExtrasInTheLockDoorbellOnceEvenWhenTheLeafSplits() {
        FabricConnection connection = connect();
        ShermanBTree tree = ShermanBTree.createEmpty(connection, ShermanBTreeOracleTest.SMALL_NODES);
        long counter = scratchAddress(connection, 0);
        for (long key = 1; key <= 200; key++) {
            long slot = scratchAddress(connection, 8 * key);
            long word = key * 10;
            FabricCounters.Snapshot before = connection.counters().snapshot();
            long splitsBefore = tree.counters().splits();
            WriteResult result = tree.put(key, word, batch -> {
                batch.writeLong(slot, word); // as the engine writes a value block the word names
                batch.fetchAndAdd(counter, 1);
            });
            assertEquals(OptionalLong.empty(), result.previous());
            assertEquals(OptionalLong.of(word), result.written());
            if (tree.counters().splits() == splitsBefore) {
                assertEquals(2, doorbells(connection, before), "lock + read with the extras, then entry + unlock");
            }
            assertEquals(word, scratchWord(8 * key), "the extras ran");
            assertEquals(key, scratchWord(0), "exactly once per put, splits or not");
        }
        assertTrue(tree.counters().leafSplits() > 10, "puts split leaves");
        assertTrue(tree.counters().internalSplits() > 0, "and internal nodes");
        for (long key = 1; key <= 200; key++) {
            assertEquals(OptionalLong.of(key * 10), tree.get(key));
        }
    }

    @Test
    void updateSeesTheWordUnderTheLockAndItsVerbsLandBeforeTheEntry() {
        FabricConnection connection = connect();
        ShermanBTree tree = ShermanBTree.createEmpty(connection, ShermanBTreeOracleTest.SMALL_NODES);
        long log = scratchAddress(connection, 0);
        for (long key = 1; key <= 120; key++) {
            tree.put(key, key);
        }
        for (long key = 1; key <= 300; key++) {
            long expected = key <= 120 ? key : -1;
            long at = key;
            FabricCounters.Snapshot before = connection.counters().snapshot();
            long splitsBefore = tree.counters().splits();
            WriteResult result = tree.update(key, (current, finalDoorbell) -> {
                assertEquals(expected, current.orElse(-1), "the word as read under the lock");
                finalDoorbell.writeLong(log, at);
                return OptionalLong.of(current.orElse(0) + 1000);
            });
            assertEquals(expected < 0 ? OptionalLong.empty() : OptionalLong.of(expected), result.previous());
            assertEquals(at, scratchWord(0), "the update's verb ran");
            if (tree.counters().splits() == splitsBefore) {
                assertEquals(2, doorbells(connection, before), "the update's verbs share the entry write's doorbell");
            }
        }
        for (long key = 1; key <= 300; key++) {
            assertEquals(OptionalLong.of((key <= 120 ? key : 0) + 1000), tree.get(key));
        }
        // An update that deletes, and one that throws: the lock is released and nothing changes.
        assertEquals(OptionalLong.empty(), tree.update(5, (current, finalDoorbell) -> OptionalLong.empty()).written());
        assertEquals(OptionalLong.empty(), tree.get(5));
        assertThrows(IllegalStateException.class, () -> tree.update(6, (current, finalDoorbell) -> {
            throw new IllegalStateException("refused");
        }));
        assertEquals(OptionalLong.of(1006), tree.get(6));
        assertEquals(OptionalLong.of(1006), tree.remove(6), "the lock was released");
    }

    @Test
    void removeReturnsTheOldWordAndUpdateAllAppliesInOrder() {
        FabricConnection connection = connect();
        ShermanBTree tree = ShermanBTree.createEmpty(connection, BTreeOptions.DEFAULT);
        tree.put(7, 70);
        assertEquals(OptionalLong.of(70), tree.remove(7));
        assertEquals(OptionalLong.empty(), tree.remove(7));
        long[] keys = {1, 2, 1};
        WordUpdate[] updates = {
                (current, finalDoorbell) -> OptionalLong.of(10),
                (current, finalDoorbell) -> OptionalLong.of(20),
                (current, finalDoorbell) -> OptionalLong.of(current.orElseThrow() + 1)};
        WriteResult[] results = tree.updateAll(keys, updates, null);
        assertEquals(OptionalLong.of(10), results[2].previous(), "the repeated key saw its earlier update");
        assertEquals(OptionalLong.of(11), tree.get(1));
        assertEquals(OptionalLong.of(20), tree.get(2));
        assertEquals(1, tree.maxAtomicBatchKeys());
    }

    @Test
    void getAllMatchesTreeMapAndReadsTheLeavesInOneDoorbell() {
        Random random = new Random(20_260_312L);
        TreeMap<Long, Long> oracle = new TreeMap<>(Long::compareUnsigned);
        long[] loaded = ShermanBTreeOracleTest.randomSortedKeys(random, 5_000);
        long[] words = new long[loaded.length];
        for (int i = 0; i < loaded.length; i++) {
            words[i] = random.nextLong();
            oracle.put(loaded[i], words[i]);
        }
        FabricConnection readerConnection = connect();
        ShermanBTree.bulkLoad(connect(), BTreeOptions.DEFAULT, loaded, words);
        ShermanBTree reader = ShermanBTree.open(readerConnection, BTreeOptions.DEFAULT);
        long[] some = new long[256];
        for (int i = 0; i < some.length; i++) {
            some[i] = random.nextInt(4) == 0 ? random.nextLong() : loaded[random.nextInt(loaded.length)];
        }
        FabricCounters.Snapshot before = readerConnection.counters().snapshot();
        OptionalLong[] got = reader.getAll(some);
        assertEquals(1, doorbells(readerConnection, before), "256 keys, their leaves in one doorbell");
        for (int i = 0; i < some.length; i++) {
            assertEquals(optional(oracle.get(some[i])), got[i]);
        }
        // Another compute node splits leaves the reader's cache does not know of: the reader follows the links.
        ShermanBTree writer = ShermanBTree.open(connect(), BTreeOptions.DEFAULT);
        for (int step = 0; step < 20_000; step++) {
            long key = random.nextLong();
            long word = random.nextLong();
            writer.put(key, word);
            oracle.put(key, word);
        }
        assertTrue(writer.counters().leafSplits() > 100);
        List<Long> keys = new ArrayList<>(oracle.keySet());
        for (int round = 0; round < 20; round++) {
            long[] batch = new long[1 + random.nextInt(600)];
            for (int i = 0; i < batch.length; i++) {
                batch[i] = random.nextInt(5) == 0 ? random.nextLong() : keys.get(random.nextInt(keys.size()));
            }
            OptionalLong[] read = reader.getAll(batch);
            for (int i = 0; i < batch.length; i++) {
                assertEquals(optional(oracle.get(batch[i])), read[i], "key=" + Long.toUnsignedString(batch[i]));
            }
        }
        assertTrue(reader.counters().siblingHops() > 0, "stale routes were corrected along sibling links");
    }

    private static OptionalLong optional(Long word) {
        return word == null ? OptionalLong.empty() : OptionalLong.of(word);
    }
}
