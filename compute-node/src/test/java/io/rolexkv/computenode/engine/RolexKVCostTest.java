package io.rolexkv.computenode.engine;

import io.rolexkv.common.fabric.FabricCounters;
import io.rolexkv.computenode.TestClusters;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.Random;
import java.util.function.Supplier;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Round trips, from the counters, on the figures the engine promises: get of a block value 2 doorbells (1 inline),
 * put 2, update 3, delete 2, and a batchGet of 1,000 keys in a handful of doorbells where 1,000 gets take 2,000.
 * Keys are spread over the key space so no leaf splits (a split costs a claim doorbell more, by design).
 */
@Timeout(120)
class RolexKVCostTest {
    static final int[] VALUE_BYTES = {0, 7, 8, 9, 512, 64 << 10, EngineSetups.MAX_VALUE_BYTES};

    static Stream<Object[]> clusters() {
        List<Object[]> cases = new ArrayList<>();
        for (String transport : TestClusters.TRANSPORTS) {
            cases.add(new Object[] {transport, 1});
            cases.add(new Object[] {transport, 3});
        }
        return cases.stream();
    }

    private static TestClusters.Cluster cluster(String transport, int nodes) {
        return TestClusters.start(transport, nodes, config -> config.put("max_value_bytes", EngineSetups.MAX_VALUE_BYTES));
    }

    /** The doorbells {@code operation} cost, from the engine's totals and from the thread's own counters (must agree). */
    private static <T> long doorbells(RolexKV engine, Supplier<T> operation) {
        FabricCounters.Snapshot total = engine.counters().snapshot();
        FabricCounters.Snapshot own = engine.threadCounters().snapshot();
        operation.get();
        long byTotals = engine.counters().snapshot().minus(total).doorbells();
        long byThread = engine.threadCounters().snapshot().minus(own).doorbells();
        assertEquals(byTotals, byThread, "a single-threaded caller's own counters see every doorbell of its call");
        return byTotals;
    }

    private static byte[] value(int length, long seed) {
        byte[] value = new byte[length];
        new Random(seed).nextBytes(value);
        return value;
    }

    @ParameterizedTest(name = "{0} memory_nodes={1}")
    @MethodSource("clusters")
    void singleKeyOperationsCostWhatTheDesignPromises(String transport, int nodes) {
        try (TestClusters.Cluster cluster = cluster(transport, nodes)) {
            RolexKV engine = cluster.openEngine();
            Random random = new Random(5);
            for (int round = 0; round < 30; round++) {
                for (int length : VALUE_BYTES) {
                    long key = random.nextLong();
                    byte[] value = value(length, key);
                    boolean inline = length <= 7;
                    String what = "value bytes=" + length + " key=" + Long.toUnsignedString(key);

                    long put = doorbells(engine, () -> { engine.put(key, value); return null; });
                    assertTrue(put <= 2, what + " insert took doorbells=" + put);
                    long get = doorbells(engine, () -> engine.get(key));
                    assertEquals(inline ? 1 : 2, get, what + " get");
                    assertArrayEquals(value, engine.get(key).orElseThrow(), what);
                    assertEquals(inline ? 1 : 2, doorbells(engine, () -> engine.getView(key)), what + " getView");

                    byte[] replacement = value(length, key + 1);
                    long overwrite = doorbells(engine, () -> { engine.put(key, replacement); return null; });
                    assertTrue(overwrite <= 2, what + " overwrite took doorbells=" + overwrite);

                    long update = doorbells(engine, () -> engine.update(key, current -> current.map(bytes -> {
                        byte[] next = bytes.clone();
                        if (next.length > 0) {
                            next[next.length - 1]++;
                        }
                        return next;
                    })));
                    assertTrue(update <= 3, what + " update took doorbells=" + update);

                    long delete = doorbells(engine, () -> engine.delete(key));
                    assertTrue(delete <= 2, what + " delete took doorbells=" + delete);
                    assertEquals(1, doorbells(engine, () -> engine.get(key)), what + " get of a missing key");
                }
            }
            assertEquals(0, engine.indexCounters().splits(), "spread keys never split a leaf here");
        }
    }

    @ParameterizedTest(name = "{0} memory_nodes={1}")
    @MethodSource("clusters")
    void aBatchGetOfAThousandKeysTakesAHandfulOfDoorbellsWhereGetsTakeTwoThousand(String transport, int nodes) {
        try (TestClusters.Cluster cluster = cluster(transport, nodes)) {
            RolexKV engine = cluster.openEngine();
            Random random = new Random(6);
            long[] keys = new long[1_000];
            List<byte[]> values = new ArrayList<>();
            for (int i = 0; i < keys.length; i++) {
                keys[i] = random.nextLong();
                values.add(value(512, i));
            }
            long put = doorbells(engine, () -> { engine.batchPut(keys, values); return null; });
            // Per node: two doorbells per 256 keys (the blocks ride the first), plus a claim per split leaf.
            long chunks = nodes == 1 ? 4 : 3 * 2;
            assertTrue(put <= 2 * chunks + engine.indexCounters().splits(), "batchPut of 1,000 took doorbells=" + put);

            long batch = doorbells(engine, () -> {
                List<Optional<byte[]>> got = engine.batchGet(keys);
                for (int i = 0; i < keys.length; i++) {
                    assertArrayEquals(values.get(i), got.get(i).orElseThrow(), "key " + i);
                }
                return null;
            });
            long single = doorbells(engine, () -> {
                for (long key : keys) {
                    engine.get(key);
                }
                return null;
            });
            assertEquals(2_000, single);
            // Per node: one doorbell per 256 keys of leaves, one (or two) of blocks.
            assertTrue(batch <= chunks + 2L * nodes, "batchGet of 1,000 took doorbells=" + batch);
        }
    }

    @ParameterizedTest(name = "{0} memory_nodes={1}")
    @MethodSource("clusters")
    void aRepeatedKeyInABatchKeepsTheLaterValueAndIsReadOnce(String transport, int nodes) {
        try (TestClusters.Cluster cluster = cluster(transport, nodes)) {
            RolexKV engine = cluster.openEngine();
            long[] keys = {5, -5L, 5, Long.MIN_VALUE, -5L, 5};
            List<byte[]> values = new ArrayList<>();
            for (int i = 0; i < keys.length; i++) {
                values.add(value(100 + i, i));
            }
            engine.batchPut(keys, values);
            assertArrayEquals(values.get(5), engine.get(5).orElseThrow());
            assertArrayEquals(values.get(4), engine.get(-5L).orElseThrow());
            assertArrayEquals(values.get(3), engine.get(Long.MIN_VALUE).orElseThrow());
            List<Optional<byte[]>> got = engine.batchGet(keys);
            assertEquals(keys.length, got.size());
            assertArrayEquals(values.get(5), got.get(0).orElseThrow());
            assertArrayEquals(values.get(5), got.get(2).orElseThrow());
            got.get(0).orElseThrow()[0]++;
            assertArrayEquals(values.get(5), got.get(2).orElseThrow(), "each answer is the caller's own array");
        }
    }
}
