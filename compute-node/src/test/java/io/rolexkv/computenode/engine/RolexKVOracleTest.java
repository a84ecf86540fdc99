package io.rolexkv.computenode.engine;

import io.rolexkv.common.kv.BaseKV;
import io.rolexkv.common.kv.KeyValueBytes;
import io.rolexkv.common.kv.SortedMapKV;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Optional;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

/**
 * Seeded random operation sequences on every engine setup, each result compared with the in-process reference
 * ({@link SortedMapKV}), and the whole store compared at the end. Keys come from a pool mixing small keys, keys spread
 * over the unsigned space (half above 2^63), the extremes and the neighbours of every memory node boundary; values
 * from a mix of lengths around the inline/block edge, 512 B, 64 KiB and the configured maximum.
 */
@Timeout(120)
class RolexKVOracleTest {
    static final int OPERATIONS = 2_500;

    static List<EngineSetups.Setup> setups() {
        return EngineSetups.all();
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("setups")
    void randomOperationsMatchTheReference(EngineSetups.Setup setup) {
        Random random = new Random(20_260_214L);
        long[] pool = keyPool(random);
        SortedMapKV reference = new SortedMapKV(EngineSetups.MAX_VALUE_BYTES);
        try (EngineSetups.Opened opened = setup.open()) {
            BaseKV engine = opened.engine();
            for (int step = 0; step < OPERATIONS; step++) {
                String where = "step=" + step;
                int choice = random.nextInt(100);
                long key = pool[random.nextInt(pool.length)];
                if (choice < 25) {
                    byte[] value = value(random);
                    engine.put(key, value);
                    reference.put(key, value);
                } else if (choice < 40) {
                    assertSame(reference.get(key), engine.get(key), where + " get");
                } else if (choice < 45) {
                    Optional<MemorySegment> view = engine.getView(key);
                    assertSame(reference.get(key), view.map(segment -> segment.toArray(ValueLayout.JAVA_BYTE)), where + " getView");
                    view.filter(segment -> segment.byteSize() > 0).ifPresent(segment -> assertThrows(
                            IllegalArgumentException.class, () -> segment.set(ValueLayout.JAVA_BYTE, 0, (byte) 1),
                            "views are read-only"));
                } else if (choice < 53) {
                    assertEquals(reference.delete(key), engine.delete(key), where + " delete");
                } else if (choice < 61) {
                    long[] keys = keys(random, pool, 1 + random.nextInt(40));
                    List<Optional<byte[]>> expected = reference.batchGet(keys);
                    List<Optional<byte[]>> actual = engine.batchGet(keys);
                    assertEquals(keys.length, actual.size());
                    for (int i = 0; i < keys.length; i++) {
                        assertSame(expected.get(i), actual.get(i), where + " batchGet[" + i + "]");
                    }
                } else if (choice < 69) {
                    long[] keys = keys(random, pool, 1 + random.nextInt(30));
                    List<byte[]> values = new ArrayList<>();
                    for (int i = 0; i < keys.length; i++) {
                        values.add(value(random));
                    }
                    engine.batchPut(keys, values);
                    reference.batchPut(keys, values);
                } else if (choice < 77) {
                    long from = random.nextBoolean() ? key : pool[random.nextInt(pool.length)];
                    long to = random.nextInt(4) == 0 ? -1L : pool[random.nextInt(pool.length)];
                    int limit = random.nextInt(4) == 0 ? Integer.MAX_VALUE : random.nextInt(60);
                    assertEquals(reference.scan(from, to, limit), engine.scan(from, to, limit), where + " scan");
                } else if (choice < 92) {
                    byte[] fresh = value(random);
                    int grow = random.nextInt(600);
                    assertSame(reference.update(key, current -> step(current, fresh, grow)),
                            engine.update(key, current -> step(current, fresh, grow)), where + " update");
                } else if (choice < 96) {
                    byte[] oversize = new byte[EngineSetups.MAX_VALUE_BYTES + 1 + random.nextInt(10)];
                    assertThrows(IllegalArgumentException.class, () -> engine.put(key, oversize), where);
                    assertSame(reference.get(key), engine.get(key), where + " oversize put stored nothing");
                } else {
                    List<KeyValueBytes> all = reference.scan(0, Integer.MAX_VALUE);
                    assertEquals(all, engine.scan(0, Integer.MAX_VALUE), where + " full scan");
                }
            }
            assertEquals(reference.scan(0, Integer.MAX_VALUE), engine.scan(0, Integer.MAX_VALUE), "final store");
            if (opened.cluster() != null) {
                assertEquals(reference.scan(0, Integer.MAX_VALUE).size(), opened.cluster().checkIndexes(),
                        "the memory nodes' indexes are sound and hold every key");
            }
        }
    }

    /** The update function: create, grow by {@code grow} bytes and bump, or delete once the value is long. */
    static Optional<byte[]> step(Optional<byte[]> current, byte[] fresh, int grow) {
        if (current.isEmpty()) {
            return Optional.of(fresh);
        }
        byte[] value = current.get();
        if (value.length > 20_000) {
            return Optional.empty();
        }
        byte[] next = Arrays.copyOf(value, Math.min(EngineSetups.MAX_VALUE_BYTES, value.length + grow));
        if (next.length > 0) {
            next[0]++;
        }
        return Optional.of(next);
    }

    static long[] keyPool(Random random) {
        List<Long> pool = new ArrayList<>();
        for (long small = 0; small < 120; small++) {
            pool.add(small);
        }
        for (int i = 0; i < 150; i++) {
            pool.add(random.nextLong());
        }
        long[] edges = {-1L, -2L, Long.MIN_VALUE, Long.MAX_VALUE, 999, 1000, 1001,
                0x5555_5555_5555_5555L, 0x5555_5555_5555_5556L, 0xAAAA_AAAA_AAAA_AAAAL, 0xAAAA_AAAA_AAAA_AAABL};
        for (long edge : edges) {
            pool.add(edge);
        }
        return pool.stream().mapToLong(Long::longValue).toArray();
    }

    static long[] keys(Random random, long[] pool, int count) {
        long[] keys = new long[count];
        for (int i = 0; i < count; i++) {
            keys[i] = i > 0 && random.nextInt(6) == 0 ? keys[random.nextInt(i)] : pool[random.nextInt(pool.length)];
        }
        return keys;
    }

    static byte[] value(Random random) {
        int choice = random.nextInt(100);
        int length;
        if (choice < 20) {
            length = random.nextInt(8); // inline
        } else if (choice < 35) {
            length = 8 + random.nextInt(2); // 8 and 9: the first block sizes
        } else if (choice < 75) {
            length = 512;
        } else if (choice < 95) {
            length = 10 + random.nextInt(3000);
        } else if (choice < 98) {
            length = 64 << 10;
        } else {
            length = EngineSetups.MAX_VALUE_BYTES;
        }
        byte[] value = new byte[length];
        random.nextBytes(value);
        return value;
    }

    static void assertSame(Optional<byte[]> expected, Optional<byte[]> actual, String where) {
        assertEquals(expected.isPresent(), actual.isPresent(), where + " presence");
        expected.ifPresent(bytes -> assertArrayEquals(bytes, actual.get(), where + " value"));
    }
}
