package io.rolexkv.computenode.engine;

import com.fasterxml.jackson.databind.node.ObjectNode;
import io.rolexkv.common.config.ConfigNode;
import io.rolexkv.common.kv.KeyValueBytes;
import io.rolexkv.computenode.EmbeddedCluster;
import io.rolexkv.computenode.KVEngines;
import io.rolexkv.computenode.TestClusters;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.TreeMap;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Ranges follow the data: with YCSB's keys (FNV-hashed numbers with the sign bit flipped, so all in the upper half of
 * the unsigned key space) an even split leaves the first node empty; learned ranges and a bulk load's ranges give every
 * node a fair share, and every compute node routes by the ranges kept on the memory nodes.
 */
@Timeout(180)
class RolexKVShardMapTest {
    /** The share of the records every one of 3 nodes must hold (the bound for a YCSB load). */
    static final double FAIR_LOW = 0.25;
    static final double FAIR_HIGH = 0.42;

    /** YCSB 0.17.0's {@code Utils.hash}: FNV-64 of the number's 8 bytes, then {@code Math.abs}. */
    static long ycsbHash(long number) {
        long hash = 0xCBF29CE484222325L;
        for (int i = 0; i < 8; i++) {
            long octet = number & 0xff;
            number >>= 8;
            hash ^= octet;
            hash *= 1099511628211L;
        }
        return Math.abs(hash);
    }

    /** The store key of YCSB record {@code n} under the default hashed insert order (as the bench's key codec maps it). */
    static long ycsbKey(long n) {
        return ycsbHash(n) ^ Long.MIN_VALUE;
    }

    static byte[] value(Random random) {
        byte[] value = new byte[random.nextBoolean() ? 8 : 40 + random.nextInt(200)];
        random.nextBytes(value);
        return value;
    }

    static long[] recordsPerNode(RolexKV engine) {
        return engine.memoryNodeFigures(true).stream().mapToLong(RolexKV.MemoryNodeFigures::records).toArray();
    }

    static void assertFairShares(long[] records, double low, double high) {
        long total = Arrays.stream(records).sum();
        for (long count : records) {
            double share = (double) count / total;
            assertTrue(share >= low && share <= high, "shares " + Arrays.toString(records) + " of " + total
                    + ": each must be in [" + low + ", " + high + "]");
        }
    }

    static void assertSameAs(TreeMap<Long, byte[]> oracle, RolexKV engine) {
        List<KeyValueBytes> all = engine.scan(0, -1L, Integer.MAX_VALUE);
        assertEquals(oracle.size(), all.size(), "keys in the store");
        int i = 0;
        for (Map.Entry<Long, byte[]> entry : oracle.entrySet()) {
            assertEquals(entry.getKey(), all.get(i).key());
            assertArrayEquals(entry.getValue(), all.get(i).value(), "key " + Long.toUnsignedString(entry.getKey()));
            i++;
        }
    }

    /**
     * Random puts, overwrites, deletes and reads of YCSB keys on 3 loopback nodes, against a TreeMap, with the store
     * compared whole (a scan across all nodes) every 1,000 operations: the ranges are learned after 1,024 keys, keys
     * move, and nothing is lost or changed; at the end every node holds 25-42% of the keys, and a second compute node
     * opened afterwards routes every key to the same node and reads the same values.
     */
    @Test
    void learnedRangesGiveEveryNodeAFairShareAndLoseNothing() {
        try (TestClusters.Cluster cluster = TestClusters.start("loopback", 3, config -> config.put("shard_learn_keys", 1024))) {
            RolexKV engine = cluster.openEngine();
            assertEquals(0, recordsPerNode(engine)[0]);
            TreeMap<Long, byte[]> oracle = new TreeMap<>(Long::compareUnsigned);
            Random random = new Random(12);
            long nextRecord = 0;
            for (int op = 1; op <= 12_000; op++) {
                int dice = random.nextInt(100);
                if (dice < 60 || oracle.isEmpty()) {
                    long key = ycsbKey(nextRecord++);
                    byte[] value = value(random);
                    engine.put(key, value);
                    oracle.put(key, value);
                } else if (dice < 75) {
                    long key = ycsbKey(random.nextLong(nextRecord));
                    byte[] value = value(random);
                    engine.put(key, value);
                    oracle.put(key, value);
                } else if (dice < 85) {
                    long key = ycsbKey(random.nextLong(nextRecord));
                    assertEquals(oracle.remove(key) != null, engine.delete(key));
                } else {
                    long key = ycsbKey(random.nextLong(nextRecord));
                    byte[] expected = oracle.get(key);
                    var found = engine.get(key);
                    assertEquals(expected != null, found.isPresent(), "key " + Long.toUnsignedString(key));
                    if (expected != null) {
                        assertArrayEquals(expected, found.get());
                    }
                }
                if (op % 1000 == 0) {
                    assertSameAs(oracle, engine);
                }
            }
            assertTrue(engine.rebalances() >= 1, "the ranges were learned");
            assertTrue(engine.keysMoved() > 0, "and keys moved");
            long[] records = recordsPerNode(engine);
            assertEquals(oracle.size(), Arrays.stream(records).sum());
            assertFairShares(records, FAIR_LOW, FAIR_HIGH);
            cluster.checkIndexes();

            RolexKV other = cluster.openEngine();
            assertEquals(engine.memoryNodes(), other.memoryNodes(), "both compute nodes route by the map on the nodes");
            for (Map.Entry<Long, byte[]> entry : oracle.entrySet()) {
                assertEquals(engine.memoryNodeOf(entry.getKey()), other.memoryNodeOf(entry.getKey()));
            }
            assertSameAs(oracle, other);
        }
    }

    /**
     * Four threads put and read their own YCSB keys through one engine while it learns its ranges and moves keys
     * under them: every thread reads back what it wrote at every step (even mid-move), and at the end the store holds
     * every key with its last value, spread fairly.
     */
    @Test
    void threadsKeepReadingTheirOwnWritesWhileKeysMove() throws Exception {
        try (TestClusters.Cluster cluster = TestClusters.start("loopback", 3, config -> config.put("shard_learn_keys", 1024))) {
            RolexKV engine = cluster.openEngine();
            int threads = 4;
            int perThread = 1500;
            List<java.util.concurrent.Future<Map<Long, byte[]>>> running = new ArrayList<>();
            try (var pool = java.util.concurrent.Executors.newFixedThreadPool(threads)) {
                for (int t = 0; t < threads; t++) {
                    int thread = t;
                    running.add(pool.submit(() -> {
                        Random random = new Random(100 + thread);
                        Map<Long, byte[]> mine = new java.util.HashMap<>();
                        List<Long> keys = new ArrayList<>();
                        for (int i = 0; i < perThread; i++) {
                            long key = ycsbKey((long) i * threads + thread);
                            byte[] value = value(random);
                            engine.put(key, value);
                            mine.put(key, value);
                            keys.add(key);
                            long probe = keys.get(random.nextInt(keys.size()));
                            assertArrayEquals(mine.get(probe), engine.get(probe).orElseThrow(),
                                    "thread " + thread + " key " + Long.toUnsignedString(probe));
                        }
                        return mine;
                    }));
                }
                TreeMap<Long, byte[]> oracle = new TreeMap<>(Long::compareUnsigned);
                for (var future : running) {
                    oracle.putAll(future.get());
                }
                assertTrue(engine.rebalances() >= 1);
                assertSameAs(oracle, engine);
                assertFairShares(recordsPerNode(engine), FAIR_LOW, FAIR_HIGH);
                cluster.checkIndexes();
            }
        }
    }

    /**
     * Keys put in order (appends at the top of the key space) on retraining nodes: learned once, then re-chosen as the
     * last node grows.
     */
    @Test
    void orderedInsertsKeepEveryNodeWithinBounds() {
        try (EmbeddedCluster cluster = EmbeddedCluster.start("loopback", 3, EmbeddedCluster.Regions.SMALL, true)) {
            var config = cluster.engineConfig().put("shard_learn_keys", 1024).put("index_room_wait_ms", 30_000);
            RolexKV engine = (RolexKV) KVEngines.open(ConfigNode.of(config), cluster.transport());
            for (long key = 0; key < 12_000; key++) {
                engine.put(key, new byte[8]);
            }
            long[] records = recordsPerNode(engine);
            assertEquals(12_000, Arrays.stream(records).sum());
            // Re-chosen whenever one node passes 1.5 times the mean: at most half, at least a quarter (see REBALANCE_RATIO).
            assertFairShares(records, 0.2, 0.5);
            assertTrue(engine.rebalances() >= 2, "rebalances=" + engine.rebalances());
            for (long key = 0; key < 12_000; key += 997) {
                assertTrue(engine.get(key).isPresent());
            }
            engine.close();
        }
    }

    /** A bulk load of YCSB keys chooses the ranges from its keys: each of 3 nodes gets a third, to the record. */
    @Test
    void aBulkLoadChoosesRangesFromItsKeys() {
        try (TestClusters.Cluster cluster = TestClusters.start("loopback", 3)) {
            RolexKV engine = cluster.openEngine();
            long[] keys = new long[30_000];
            Arrays.setAll(keys, i -> ycsbKey(i));
            long[] sorted = Arrays.stream(keys).map(k -> k ^ Long.MIN_VALUE).sorted().map(k -> k ^ Long.MIN_VALUE).toArray();
            List<byte[]> values = new ArrayList<>();
            for (long key : sorted) {
                values.add(Long.toString(key).getBytes());
            }
            engine.bulkLoad(sorted, values);
            assertArrayEquals(new long[]{10_000, 10_000, 10_000}, recordsPerNode(engine));
            RolexKV other = cluster.openEngine();
            for (int i = 0; i < sorted.length; i += 101) {
                assertArrayEquals(values.get(i), other.get(sorted[i]).orElseThrow());
            }
        }
    }

    /** With two compute nodes open nobody moves keys (the other would route by a stale map): ranges stay the even split. */
    @Test
    void rangesStayPutWhileAnotherComputeNodeIsOpen() {
        try (TestClusters.Cluster cluster = TestClusters.start("loopback", 3, config -> config.put("shard_learn_keys", 256))) {
            RolexKV first = cluster.openEngine();
            RolexKV second = cluster.openEngine();
            List<RolexKVConfig.MemoryNodeRange> before = first.memoryNodes();
            for (long n = 0; n < 2000; n++) {
                (n % 2 == 0 ? first : second).put(ycsbKey(n), new byte[8]);
            }
            assertEquals(0, first.rebalances() + second.rebalances());
            assertEquals(before, first.memoryNodes());
            assertEquals(0, recordsPerNode(first)[0], "the even split leaves node 0 without YCSB keys");
            for (long n = 0; n < 2000; n += 7) {
                assertTrue(second.get(ycsbKey(n)).isPresent());
                assertTrue(first.get(ycsbKey(n)).isPresent());
            }
            second.close();
            for (long n = 2000; n < 2300; n++) {
                first.put(ycsbKey(n), new byte[8]);
            }
            assertEquals(1, first.rebalances(), "alone again, the first learns its ranges");
            assertFairShares(recordsPerNode(first), FAIR_LOW, FAIR_HIGH);
        }
    }

    /** Ranges named in the config are the store's for good: learning never moves them, and a config naming others is refused. */
    @Test
    void configuredRangesAreFixed() {
        try (TestClusters.Cluster cluster = TestClusters.start("loopback", 2, config -> {
            config.put("shard_learn_keys", 256);
            ((ObjectNode) config.withArray("memory_nodes").get(0)).put("first_key", "0");
            ((ObjectNode) config.withArray("memory_nodes").get(1)).put("first_key", "0x8000000000000000");
        })) {
            RolexKV engine = cluster.openEngine();
            for (long n = 0; n < 1000; n++) {
                engine.put(ycsbKey(n), new byte[8]);
            }
            assertEquals(0, engine.rebalances());
            assertArrayEquals(new long[]{0, 1000}, recordsPerNode(engine));
        }
    }
}
