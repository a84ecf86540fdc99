package io.rolexkv.rolex.index;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;

/** {@link ConcurrentLongMap} against a {@link HashMap} under random operations, and under concurrent readers and writers. */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class ConcurrentLongMapTest {

    @Test
    void randomOperationsMatchAHashMap() {
        ConcurrentLongMap<String> map = new ConcurrentLongMap<>();
        Map<Long, String> reference = new HashMap<>();
        Random random = new Random(31);
        for (int step = 0; step < 200_000; step++) {
            // Tables offsets: multiples of 64, the keys the index uses, plus a few negative and extreme ones.
            long key = random.nextInt(8) == 0 ? random.nextLong() % 50 : 64L * random.nextInt(5_000);
            switch (random.nextInt(10)) {
                case 0, 1, 2, 3 -> {
                    String value = "v" + step;
                    assertEquals(reference.put(key, value), map.put(key, value), "put key=" + key + " step=" + step);
                }
                case 4, 5 -> assertEquals(reference.remove(key), map.remove(key), "remove key=" + key + " step=" + step);
                case 6 -> {
                    if (step % 5_000 == 0) {
                        long modulus = 2 + random.nextInt(7);
                        map.removeKeysIf(k -> Math.floorMod(k, modulus) == 1);
                        reference.keySet().removeIf(k -> Math.floorMod(k, modulus) == 1);
                    }
                }
                default -> {
                    assertEquals(reference.get(key), map.get(key), "get key=" + key + " step=" + step);
                    assertEquals(reference.containsKey(key), map.containsKey(key));
                }
            }
            assertEquals(reference.size(), map.size(), "size at step=" + step);
        }
        for (Map.Entry<Long, String> entry : reference.entrySet()) {
            assertEquals(entry.getValue(), map.get(entry.getKey()));
        }
        List<String> values = new ArrayList<>();
        map.forEachValue(values::add);
        assertEquals(reference.values().stream().sorted().toList(), values.stream().sorted().toList());
    }

    @Test
    void nullValuesAreRefused() {
        assertThrows(NullPointerException.class, () -> new ConcurrentLongMap<String>().put(1, null));
    }

    /**
     * Keys put before the readers start and never removed are found by every read while writers put, replace and
     * remove other keys and grow the table many times; afterwards each writer's keys hold its last values.
     */
    @Test
    void readersNeverMissAKeyPresentThroughoutWhileWritersChangeOthers() throws Exception {
        ConcurrentLongMap<long[]> map = new ConcurrentLongMap<>();
        int stable = 1_000;
        long[][] stableValues = new long[stable][];
        for (int i = 0; i < stable; i++) {
            stableValues[i] = new long[] {i};
            map.put(stableKey(i), stableValues[i]);
        }
        int writers = 2;
        int readers = 2;
        AtomicBoolean stop = new AtomicBoolean();
        CountDownLatch writersDone = new CountDownLatch(writers);
        ExecutorService pool = Executors.newFixedThreadPool(writers + readers);
        try {
            List<Future<Map<Long, long[]>>> written = new ArrayList<>();
            for (int w = 0; w < writers; w++) {
                int writer = w;
                written.add(pool.submit(() -> {
                    try {
                        Random random = new Random(100 + writer);
                        Map<Long, long[]> mine = new HashMap<>();
                        for (int step = 0; step < 100_000; step++) {
                            long key = writerKey(writer, random.nextInt(20_000));
                            if (random.nextInt(3) == 0) {
                                assertSame(mine.remove(key), map.remove(key));
                            } else {
                                long[] value = {step};
                                assertSame(mine.put(key, value), map.put(key, value));
                            }
                        }
                        return mine;
                    } finally {
                        writersDone.countDown();
                    }
                }));
            }
            List<Future<Long>> reads = new ArrayList<>();
            for (int r = 0; r < readers; r++) {
                int reader = r;
                reads.add(pool.submit(() -> {
                    Random random = new Random(200 + reader);
                    long count = 0;
                    while (!stop.get()) {
                        int i = random.nextInt(stable);
                        long[] value = map.get(stableKey(i));
                        if (value != stableValues[i]) {
                            throw new AssertionError("key=" + stableKey(i) + " read " + (value == null ? "nothing" : value[0]));
                        }
                        count++;
                    }
                    return count;
                }));
            }
            writersDone.await();
            stop.set(true);
            for (Future<Long> read : reads) {
                read.get();
            }
            int expectedSize = stable;
            for (int w = 0; w < writers; w++) {
                Map<Long, long[]> mine = written.get(w).get();
                for (Map.Entry<Long, long[]> entry : mine.entrySet()) {
                    assertSame(entry.getValue(), map.get(entry.getKey()), "writer=" + w + " key=" + entry.getKey());
                }
                for (int k = 0; k < 20_000; k++) {
                    if (!mine.containsKey(writerKey(w, k))) {
                        assertNull(map.get(writerKey(w, k)), "a removed key is back: writer=" + w + " k=" + k);
                    }
                }
                expectedSize += mine.size();
            }
            assertEquals(expectedSize, map.size());
        } finally {
            stop.set(true);
            pool.shutdownNow();
        }
    }

    private static long stableKey(int i) {
        return 64L * (3 * i);
    }

    private static long writerKey(int writer, int k) {
        return 64L * (3 * k + 1 + writer);
    }
}
