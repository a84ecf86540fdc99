package io.rolexkv.bench.baseline.btree;

import io.rolexkv.common.fabric.FabricCounters;
import io.rolexkv.common.kv.KeyValueBytes;
import io.rolexkv.computenode.EmbeddedCluster;
import io.rolexkv.computenode.engine.RolexKV;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Random;
import java.util.TreeMap;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The engine with the B+tree as its index and {@code inline8} values (the contract test covers value blocks): seeded
 * random gets, puts, batch calls, deletes, updates and scans against a TreeMap, on two memory nodes, with nodes small
 * enough that the trees split at every level; and the round trips a user pays per call.
 */
@Timeout(60)
class BTreeEngineTest {
    /** Six entries per node: the trees grow several levels from a few thousand keys. */
    private static final BTreeIndexKind SMALL_NODES = new BTreeIndexKind(BTreeFixture.SMALL_NODES);

    private static byte[] word(long value) {
        return ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN).putLong(value).array();
    }

    private static long value(byte[] bytes) {
        return ByteBuffer.wrap(bytes).order(ByteOrder.LITTLE_ENDIAN).getLong();
    }

    @ParameterizedTest(name = "{0}")
    @ValueSource(strings = {"loopback", "tcp"})
    void inline8RandomOperationsMatchTreeMap(String transport) {
        Random random = new Random(20_260_311L);
        TreeMap<Long, Long> oracle = new TreeMap<>(Long::compareUnsigned);
        try (EmbeddedCluster cluster = BTreeEngines.cluster(transport, 2);
             RolexKV engine = BTreeEngines.open(cluster, SMALL_NODES, config -> config.put("value_layout", "inline8"))) {
            List<Long> known = new ArrayList<>();
            for (int step = 0; step < 3_000; step++) {
                int operation = random.nextInt(100);
                long key = known.isEmpty() || random.nextInt(3) == 0 ? random.nextLong() : known.get(random.nextInt(known.size()));
                if (operation < 35) {
                    long next = random.nextLong();
                    engine.put(key, word(next));
                    oracle.put(key, next);
                    known.add(key);
                } else if (operation < 45) {
                    long[] keys = new long[1 + random.nextInt(40)];
                    List<byte[]> values = new ArrayList<>();
                    for (int i = 0; i < keys.length; i++) {
                        keys[i] = i > 0 && random.nextInt(10) == 0 ? keys[i - 1] : random.nextLong();
                        long next = random.nextLong();
                        values.add(word(next));
                        oracle.put(keys[i], next);
                        known.add(keys[i]);
                    }
                    engine.batchPut(keys, values);
                } else if (operation < 60) {
                    Long expected = oracle.get(key);
                    assertEquals(Optional.ofNullable(expected), engine.get(key).map(BTreeEngineTest::value),
                            "get key=" + Long.toUnsignedString(key));
                } else if (operation < 70) {
                    long[] keys = new long[1 + random.nextInt(300)];
                    for (int i = 0; i < keys.length; i++) {
                        keys[i] = known.isEmpty() || random.nextInt(4) == 0 ? random.nextLong() : known.get(random.nextInt(known.size()));
                    }
                    List<Optional<byte[]>> got = engine.batchGet(keys);
                    for (int i = 0; i < keys.length; i++) {
                        assertEquals(Optional.ofNullable(oracle.get(keys[i])), got.get(i).map(BTreeEngineTest::value),
                                "batchGet key=" + Long.toUnsignedString(keys[i]));
                    }
                } else if (operation < 80) {
                    assertEquals(oracle.remove(key) != null, engine.delete(key), "delete key=" + Long.toUnsignedString(key));
                } else if (operation < 90) {
                    Optional<byte[]> written = engine.update(key, current -> Optional.of(word(current.map(BTreeEngineTest::value).orElse(0L) + 1)));
                    long expected = oracle.getOrDefault(key, 0L) + 1;
                    oracle.put(key, expected);
                    known.add(key);
                    assertEquals(expected, value(written.orElseThrow()));
                } else {
                    long from = random.nextLong();
                    long to = random.nextInt(4) == 0 ? -1L : from + (random.nextLong() >>> 4);
                    if (Long.compareUnsigned(from, to) > 0) {
                        to = -1L;
                    }
                    int limit = random.nextInt(60);
                    List<KeyValueBytes> scanned = engine.scan(from, to, limit);
                    List<Map.Entry<Long, Long>> expected = new ArrayList<>(oracle.subMap(from, true, to, true).entrySet())
                            .subList(0, Math.min(limit, oracle.subMap(from, true, to, true).size()));
                    assertEquals(expected.size(), scanned.size(), "scan from=" + Long.toUnsignedString(from));
                    for (int i = 0; i < expected.size(); i++) {
                        assertEquals(expected.get(i).getKey(), scanned.get(i).key());
                        assertEquals(expected.get(i).getValue(), value(scanned.get(i).value()));
                    }
                }
            }
            assertTrue(engine.indexCounters().splits() > 0, "the trees split");
            assertTrue(engine.modelCacheBytes() > 0, "internal nodes are cached");
            for (Map.Entry<Long, Long> entry : oracle.entrySet()) {
                assertEquals(entry.getValue(), value(engine.get(entry.getKey()).orElseThrow()));
            }
        }
    }

    @Test
    void roundTripsPerCallWithAWarmCache() {
        try (EmbeddedCluster cluster = BTreeEngines.cluster("loopback", 1);
             RolexKV engine = BTreeEngines.open(cluster, BTreeIndexKind.DEFAULT, config -> config.put("max_value_bytes", 1000))) {
            long[] keys = new long[20_000];
            List<byte[]> values = new ArrayList<>();
            for (int i = 0; i < keys.length; i++) {
                keys[i] = i * 1_000L;
                values.add(new byte[100]);
            }
            engine.bulkLoad(keys, values);
            assertEquals(Map.of("put", 2L, "get", 2L, "update", 3L, "delete", 2L, "small put", 2L, "small get", 1L),
                    Map.of("put", doorbells(engine, () -> engine.put(5_000, new byte[100])),
                            "get", doorbells(engine, () -> engine.get(7_000)),
                            "update", doorbells(engine, () -> engine.update(9_000, current -> Optional.of(new byte[50]))),
                            "delete", doorbells(engine, () -> engine.delete(11_000)),
                            "small put", doorbells(engine, () -> engine.put(13_000, new byte[7])),
                            "small get", doorbells(engine, () -> engine.get(13_000))),
                    "put rides the block WRITE on the lock doorbell; update reads the old block under the lock;"
                            + " a value of up to 7 bytes lives in the word itself");
            long[] some = new long[200];
            for (int i = 0; i < some.length; i++) {
                some[i] = keys[i * 97];
            }
            long batchGet = doorbells(engine, () -> engine.batchGet(some));
            assertEquals(2, batchGet, "the leaves of 200 keys in one doorbell, their blocks in the next");
            assertArrayEquals(new byte[100], engine.get(keys[1]).orElseThrow());
        }
    }

    private static long doorbells(RolexKV engine, Runnable call) {
        FabricCounters.Snapshot before = engine.threadCounters().snapshot();
        call.run();
        return engine.threadCounters().snapshot().minus(before).doorbells();
    }
}
