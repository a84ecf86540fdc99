package io.rolexkv.rolex.index;

import io.rolexkv.common.fabric.DoorbellBatch;
import io.rolexkv.common.fabric.FabricConnection;
import io.rolexkv.common.fabric.FabricCounters;
import io.rolexkv.common.fabric.TestMemoryNode;
import io.rolexkv.rolex.layout.GroupWord;
import io.rolexkv.rolex.layout.TablesDescriptor;
import org.junit.jupiter.api.Test;

import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.OptionalLong;
import java.util.Random;
import java.util.TreeSet;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The lean layout's lookup on bulk-loaded keys: every key found with its value, keys between and beyond absent, a
 * deleted bit honoured; and what a lookup costs (one round trip, the window's bytes) and the cache per key, on the
 * key sets our users have.
 */
class LeanIndexTest {
    /** The error bound the lean layout runs with (see {@code bench/GEOMETRY.md}). */
    static final int EPSILON = Integer.getInteger("lean.epsilon", 12);
    /** Keys of the cost test: 1M by default; the 10M figure in the README comes from {@code -Dlean.keys=10000000}. */
    static final int KEYS = Integer.getInteger("lean.keys", 1_000_000);
    private static Map<String, Long> regions(long tablesBytes) {
        Map<String, Long> regions = new LinkedHashMap<>();
        regions.put(IndexLayout.META_REGION, 4096L);
        regions.put(IndexLayout.LEAVES_REGION, 1L << 20);
        regions.put(IndexLayout.TABLES_REGION, tablesBytes);
        regions.put(IndexLayout.MODELS_REGION, 8L << 20);
        return regions;
    }

    /** YCSB's hashed record keys: FNV-1a over the record number's 8 bytes, made positive, sign bit flipped by the binding. */
    static long ycsbKey(long recordNumber) {
        long hash = 0xCBF29CE484222325L;
        long value = recordNumber;
        for (int i = 0; i < 8; i++) {
            hash ^= value & 0xFF;
            value >>= 8;
            hash *= 1099511628211L;
        }
        return Math.abs(hash) ^ Long.MIN_VALUE;
    }

    private static long[] sortedUnique(long[] keys) {
        TreeSet<Long> set = new TreeSet<>(Long::compareUnsigned);
        for (long key : keys) {
            set.add(key);
        }
        return set.stream().mapToLong(Long::longValue).toArray();
    }

    @Test
    void everyBulkLoadedKeyIsFoundAndEveryOtherKeyIsAbsent() {
        Random random = new Random(3);
        long[] keys = sortedUnique(random.longs(50_000).toArray());
        long[] values = Arrays.stream(keys).map(key -> ~key).toArray();
        try (TestMemoryNode node = new TestMemoryNode("loopback", regions(8L << 20))) {
            LeanIndex.bulkLoad(node.connect(), new IndexGeometry(8, 32, 16, IndexGeometry.EMPTY_INDEX_GROUPS_DEFAULT), keys, values);
            LeanIndex index = LeanIndex.open(node.connect());
            for (int i = 0; i < keys.length; i++) {
                assertEquals(OptionalLong.of(values[i]), index.get(keys[i]), "key " + Long.toUnsignedString(keys[i]));
                long between = keys[i] + 1;
                if (i + 1 == keys.length || between != keys[i + 1]) {
                    assertEquals(OptionalLong.empty(), index.get(between), "absent key " + Long.toUnsignedString(between));
                }
            }
            assertEquals(OptionalLong.empty(), index.get(0), "below every key");
            assertEquals(OptionalLong.empty(), index.get(-1L), "above every key");
        }
    }

    @Test
    void aDeletedBitHidesItsBaseEntry() {
        long[] keys = java.util.stream.LongStream.rangeClosed(1, 1_000).map(i -> i * 10).toArray();
        try (TestMemoryNode node = new TestMemoryNode("loopback", regions(1L << 20))) {
            FabricConnection connection = node.connect();
            LeanIndex index = LeanIndex.bulkLoad(connection, new IndexGeometry(8, 32, 16, IndexGeometry.EMPTY_INDEX_GROUPS_DEFAULT), keys, keys.clone());
            assertEquals(OptionalLong.of(330), index.get(330));
            // key 330 is rank 32: group 1, entry 0 (one model: the keys are evenly spaced).
            assertEquals(1, index.modelCount());
            IndexLayout layout = new IndexLayout(connection, 2);
            DoorbellBatch delete = new DoorbellBatch();
            delete.writeLong(layout.tablesAddress(TablesDescriptor.GROUP_HEAD_BYTES), GroupWord.withDeleted(GroupWord.EMPTY, 0, true));
            connection.execute(delete);
            assertEquals(OptionalLong.empty(), index.get(330));
            assertEquals(OptionalLong.of(340), index.get(340), "the group's other entries stay");
        }
    }

    /**
     * A writer whose group the retrainer holds (frozen to compact it) waits about as long as a compaction pass takes
     * between tries instead of retrying within a round trip: a 50 ms freeze costs it a handful of doorbells, not the
     * dozens a compute node's lock back-off would spend; it counts the waits, and its put lands once the group opens.
     */
    @Test
    void aWriterThatFindsItsGroupFrozenWaitsOutTheCompactionInAFewDoorbells() throws Exception {
        long[] keys = java.util.stream.LongStream.rangeClosed(1, 1_000).map(i -> i * 10).toArray();
        try (TestMemoryNode node = new TestMemoryNode("loopback", regions(1L << 20))) {
            FabricConnection connection = node.connect();
            LeanIndex index = LeanIndex.bulkLoad(connection, new IndexGeometry(8, 32, 16, IndexGeometry.EMPTY_INDEX_GROUPS_DEFAULT), keys, keys.clone());
            assertEquals(1, index.modelCount());
            // key 330 is rank 32: group 1 (one model of evenly spaced keys).
            IndexLayout layout = new IndexLayout(connection, 2);
            long groupWord = layout.tablesAddress(TablesDescriptor.GROUP_HEAD_BYTES);
            FabricConnection retrainer = node.connect();
            DoorbellBatch freeze = new DoorbellBatch();
            freeze.writeLong(groupWord, GroupWord.frozen(GroupWord.EMPTY));
            retrainer.execute(freeze);

            long before = connection.counters().snapshot().doorbells();
            Thread writer = Thread.ofPlatform().start(() -> index.put(330, 7, null));
            Thread.sleep(50);
            DoorbellBatch open = new DoorbellBatch();
            open.writeLong(groupWord, GroupWord.EMPTY);
            retrainer.execute(open);
            writer.join();

            long doorbells = connection.counters().snapshot().doorbells() - before;
            assertEquals(OptionalLong.of(7), index.get(330));
            IndexCounters.Snapshot counters = index.counters();
            assertTrue(counters.compactionWaits() >= 1, "the writer saw the freeze: " + counters);
            assertEquals(counters.lockConflicts(), counters.compactionWaits(), "every conflict was with the retrainer");
            assertTrue(doorbells <= 20, "doorbells of a put that waited out a 50 ms freeze: " + doorbells);
        }
    }

    /**
     * Bytes per lookup and cache per key for 1M keys bulk loaded, YCSB's hashed keys and uniform random ones: the
     * issue's targets (one round trip, at most 512 bytes, at most 0.25 cache bytes per key).
     */
    @Test
    void aLookupReadsOnlyItsWindowInOneRoundTrip() {
        Random random = new Random(11);
        for (String keySet : new String[] {"ycsb", "uniform"}) {
            long[] keys = keySet.equals("ycsb")
                    ? sortedUnique(java.util.stream.LongStream.range(0, KEYS).map(LeanIndexTest::ycsbKey).toArray())
                    : sortedUnique(random.longs(KEYS).toArray());
            try (TestMemoryNode node = new TestMemoryNode("loopback", regions(KEYS * 24 + (16L << 20)))) {
                LeanIndex.bulkLoad(node.connect(), new IndexGeometry(EPSILON, 32, 16, IndexGeometry.EMPTY_INDEX_GROUPS_DEFAULT), keys, keys.clone());
                FabricConnection connection = node.connect();
                LeanIndex index = LeanIndex.open(connection);
                FabricCounters.Snapshot before = connection.counters().snapshot();
                int lookups = 20_000;
                for (int i = 0; i < lookups; i++) {
                    long key = keys[random.nextInt(keys.length)];
                    assertEquals(OptionalLong.of(key), index.get(key));
                }
                FabricCounters.Snapshot cost = connection.counters().snapshot().minus(before);
                double roundTrips = (double) cost.doorbells() / lookups;
                double bytes = (double) cost.bytesRead() / lookups;
                double cachePerKey = (double) index.cachedBytes() / keys.length;
                System.out.printf("lean lookup epsilon=%d keys=%s models=%d round_trips=%.3f bytes_read=%.1f cache_bytes_per_key=%.3f%n",
                        EPSILON, keySet, index.modelCount(), roundTrips, bytes, cachePerKey);
                assertEquals(1.0, roundTrips, 1e-9, keySet + ": one doorbell per lookup");
                assertTrue(bytes <= 512, keySet + ": bytes per lookup=" + bytes);
                assertTrue(cachePerKey <= 0.25, keySet + ": model cache bytes per key=" + cachePerKey);
            }
        }
    }
}
