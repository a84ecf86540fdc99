package io.rolexkv.rolex.index;

import io.rolexkv.common.fabric.FabricConnection;
import io.rolexkv.common.fabric.FabricCounters;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.util.OptionalLong;
import java.util.Random;
import java.util.TreeMap;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Batched lookups and writes: the same answers as one at a time, in far fewer doorbells. */
@Timeout(60)
class RolexIndexBatchTest {

    @Test
    void getAllAndUpdateAllMatchAnOracleInAFewDoorbells() {
        Random random = new Random(5);
        long[] keys = new long[5_000];
        for (int i = 0; i < keys.length; i++) {
            keys[i] = (i + 1L) * 1_000 + random.nextInt(500);
        }
        TreeMap<Long, Long> oracle = new TreeMap<>(Long::compareUnsigned);
        for (long key : keys) {
            oracle.put(key, key);
        }
        try (IndexFixture fixture = new IndexFixture("loopback", 32L << 20)) {
            FabricConnection connection = fixture.connect();
            RolexIndex index = RolexIndex.bulkLoad(connection, IndexGeometry.of(16, 0.75, 8), keys, keys.clone());
            // A batch of 200 writes, new and existing keys, one repeated: the later value wins.
            long[] batchKeys = new long[200];
            WordUpdate[] updates = new WordUpdate[200];
            for (int i = 0; i < batchKeys.length; i++) {
                long key = i == 199 ? batchKeys[3] : random.nextBoolean() ? keys[random.nextInt(keys.length)] : random.nextLong() >>> 1;
                long value = 1_000_000 + i;
                batchKeys[i] = key;
                updates[i] = (current, finalDoorbell) -> OptionalLong.of(value);
                oracle.put(key, value);
            }
            FabricCounters.Snapshot before = connection.counters().snapshot();
            WriteResult[] results = index.updateAll(batchKeys, updates, null);
            FabricCounters.Snapshot cost = connection.counters().snapshot().minus(before);
            assertEquals(OptionalLong.of(1_000_003), results[199].previous(), "the repeated key saw its earlier update");
            long splits = index.counters().splits();
            assertTrue(cost.doorbells() <= 2 + splits, "200 writes took doorbells=" + cost.doorbells() + " splits=" + splits);

            long[] probe = new long[1_000];
            for (int i = 0; i < probe.length; i++) {
                probe[i] = random.nextBoolean() ? batchKeys[random.nextInt(batchKeys.length)] : keys[random.nextInt(keys.length)];
            }
            before = connection.counters().snapshot();
            OptionalLong[] values = index.getAll(probe);
            long doorbells = connection.counters().snapshot().minus(before).doorbells();
            assertTrue(doorbells <= 4 + 4, "1,000 lookups took doorbells=" + doorbells); // one per 256 keys, plus links
            for (int i = 0; i < probe.length; i++) {
                assertEquals(OptionalLong.of(oracle.get(probe[i])), values[i], "key " + probe[i]);
            }
            RolexIndex other = RolexIndex.open(fixture.connect());
            for (var entry : oracle.entrySet()) {
                assertEquals(OptionalLong.of(entry.getValue()), other.get(entry.getKey()));
            }
        }
    }

    @Test
    void aChunkThatFindsNoRoomWritesNothingAndLeavesTheIndexServing() {
        IndexGeometry geometry = IndexGeometry.of(2, 1.0, 1).withEmptyIndexLeaves(1);
        try (IndexFixture fixture = new IndexFixture("loopback", 8L << 20)) {
            RolexIndex index = RolexIndex.createEmpty(fixture.connect(), geometry);
            long[] keys = new long[600];
            WordUpdate[] updates = new WordUpdate[keys.length];
            for (int i = 0; i < keys.length; i++) {
                keys[i] = (i + 1L) * 10;
                long value = i;
                updates[i] = (current, finalDoorbell) -> OptionalLong.of(value);
            }
            IndexFullException full = assertThrows(IndexFullException.class, () -> index.updateAll(keys, updates, null));
            assertTrue(full.getMessage().contains("nothing was stored"), full.getMessage());
            // Chunks are all or nothing: every key is either there with its value or absent, never half-written.
            RolexIndex reader = RolexIndex.open(fixture.connect());
            int present = 0;
            for (int i = 0; i < keys.length; i++) {
                OptionalLong value = reader.get(keys[i]);
                if (value.isPresent()) {
                    assertEquals(i, value.getAsLong());
                    present++;
                }
            }
            assertEquals(present, reader.scan(0, -1L, Integer.MAX_VALUE).size());
            assertEquals(PutOutcome.UPDATED, index.put(keys[0], 77), "the index keeps serving");
        }
    }
}
