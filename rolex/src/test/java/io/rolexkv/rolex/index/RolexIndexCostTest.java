package io.rolexkv.rolex.index;

import io.rolexkv.common.fabric.FabricConnection;
import io.rolexkv.common.fabric.FabricCounters;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.FieldSource;

import java.util.OptionalLong;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Round trips, from the fabric counters: the figures the design promises. */
@Timeout(60)
class RolexIndexCostTest {
    static final java.util.List<String> TRANSPORTS = IndexTransports.NAMES;

    private static long[] keys(int count, long seed) {
        Random random = new Random(seed);
        long[] keys = new long[count];
        long cursor = 0;
        for (int i = 0; i < count; i++) {
            cursor += 1 + random.nextInt(1_000_000);
            keys[i] = cursor;
        }
        return keys;
    }

    @ParameterizedTest
    @FieldSource("TRANSPORTS")
    void warmGetCostsExactlyOneDoorbell(String transport) {
        long[] keys = keys(20_000, 1);
        try (IndexFixture fixture = new IndexFixture(transport, 64L << 20)) {
            FabricConnection connection = fixture.connect();
            RolexIndex index = RolexIndex.bulkLoad(connection, IndexGeometry.DEFAULT, keys, keys.clone());
            Random random = new Random(2);
            for (int i = 0; i < 2_000; i++) {
                long key = random.nextBoolean() ? keys[random.nextInt(keys.length)] : random.nextLong() >>> 1;
                FabricCounters.Snapshot before = connection.counters().snapshot();
                OptionalLong value = index.get(key);
                FabricCounters.Snapshot cost = connection.counters().snapshot().minus(before);
                assertEquals(1, cost.doorbells(), "get of key " + key);
                assertEquals(0, cost.writes() + cost.compareAndSwaps() + cost.fetchAndAdds(), "a get only reads");
                if (java.util.Arrays.binarySearch(keys, key) >= 0) {
                    assertEquals(OptionalLong.of(key), value);
                }
            }
        }
    }

    @ParameterizedTest
    @FieldSource("TRANSPORTS")
    void uncontendedInsertIntoANonFullLeafCostsTwoDoorbells(String transport) {
        long[] keys = keys(20_000, 3);
        try (IndexFixture fixture = new IndexFixture(transport, 64L << 20)) {
            FabricConnection connection = fixture.connect();
            RolexIndex index = RolexIndex.bulkLoad(connection, IndexGeometry.DEFAULT, keys, keys.clone());
            // Leaves are loaded to 75%: the first few inserts between loaded keys find room in their leaf.
            for (int i = 0; i < 2_000; i += 10) {
                long key = keys[i] + 1;
                FabricCounters.Snapshot before = connection.counters().snapshot();
                assertEquals(PutOutcome.INSERTED, index.put(key, 42));
                FabricCounters.Snapshot cost = connection.counters().snapshot().minus(before);
                assertTrue(cost.doorbells() <= 2, "insert of key " + key + " took doorbells=" + cost.doorbells());
                FabricCounters.Snapshot updateBefore = connection.counters().snapshot();
                assertEquals(PutOutcome.UPDATED, index.put(key, 43));
                assertTrue(connection.counters().snapshot().minus(updateBefore).doorbells() <= 2, "update");
                assertEquals(OptionalLong.of(43), index.get(key));
            }
            assertEquals(0, index.counters().splits());
        }
    }

    @ParameterizedTest
    @FieldSource("TRANSPORTS")
    void aScanOfABulkLoadedIndexCostsOneDoorbell(String transport) {
        long[] keys = keys(20_000, 5);
        try (IndexFixture fixture = new IndexFixture(transport, 64L << 20)) {
            FabricConnection connection = fixture.connect();
            RolexIndex index = RolexIndex.bulkLoad(connection, IndexGeometry.DEFAULT, keys, keys.clone());
            Random random = new Random(6);
            for (int i = 0; i < 500; i++) {
                int start = random.nextInt(keys.length - 200);
                long from = random.nextBoolean() ? keys[start] : keys[start] + 1;
                int limit = 1 + random.nextInt(100);
                FabricCounters.Snapshot before = connection.counters().snapshot();
                java.util.List<KeyValue> found = index.scan(from, -1L, limit);
                FabricCounters.Snapshot cost = connection.counters().snapshot().minus(before);
                assertEquals(1, cost.doorbells(), "scan from key " + from + " limit " + limit);
                assertEquals(limit, found.size());
                int first = from == keys[start] ? start : start + 1;
                for (int j = 0; j < limit; j++) {
                    assertEquals(keys[first + j], found.get(j).key());
                }
            }
        }
    }

    @ParameterizedTest
    @FieldSource("TRANSPORTS")
    void updatesWriteOnlyTheChangedWordsAndTheUnlock(String transport) {
        long[] keys = keys(20_000, 7);
        try (IndexFixture fixture = new IndexFixture(transport, 64L << 20)) {
            FabricConnection connection = fixture.connect();
            RolexIndex index = RolexIndex.bulkLoad(connection, IndexGeometry.DEFAULT, keys, keys.clone());
            Random random = new Random(8);
            for (int i = 0; i < 500; i++) {
                long key = keys[random.nextInt(keys.length)];
                FabricCounters.Snapshot before = connection.counters().snapshot();
                assertEquals(PutOutcome.UPDATED, index.put(key, random.nextLong()));
                FabricCounters.Snapshot cost = connection.counters().snapshot().minus(before);
                assertEquals(2, cost.doorbells(), "update of key " + key);
                // The value, version and count/checksum words, and the unlock of each candidate group.
                assertTrue(cost.bytesWritten() <= 3 * 8 + 8 * cost.compareAndSwaps(), "update wrote bytes=" + cost.bytesWritten());
            }
        }
    }

    @ParameterizedTest
    @FieldSource("TRANSPORTS")
    void aStaleCacheFindsSynonymLeavesThroughLeafLinksThenCachesThem(String transport) {
        long[] keys = keys(5_000, 4);
        IndexGeometry geometry = IndexGeometry.of(8, 1.0, 4);
        try (IndexFixture fixture = new IndexFixture(transport, 64L << 20)) {
            RolexIndex writer = RolexIndex.bulkLoad(fixture.connect(), geometry, keys, keys.clone());
            FabricConnection readerConnection = fixture.connect();
            RolexIndex reader = RolexIndex.open(readerConnection);
            // Full leaves: each insert splits; the reader's cache learns nothing of it.
            long key = keys[100] + 1;
            writer.put(key, 7);
            assertTrue(writer.counters().splits() > 0);
            FabricCounters.Snapshot before = readerConnection.counters().snapshot();
            assertEquals(OptionalLong.of(7), reader.get(key));
            long first = readerConnection.counters().snapshot().minus(before).doorbells();
            assertTrue(first == 1 || first == 2, "stale get doorbells=" + first);
            before = readerConnection.counters().snapshot();
            assertEquals(OptionalLong.of(7), reader.get(key));
            assertEquals(1, readerConnection.counters().snapshot().minus(before).doorbells(), "now cached");
        }
    }
}
