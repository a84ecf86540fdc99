package io.rolexkv.rolex.index;

import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.FieldSource;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.OptionalLong;
import java.util.Random;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.atomic.AtomicBoolean;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Several compute nodes (each its own connection and cache) insert, update, delete and read overlapping keys at once,
 * with leaves small enough that splits race with readers. Invariants: no acknowledged write is lost, no reader sees a
 * value that was never written, keys present throughout are always found, scans are sorted and complete for them.
 */
@Timeout(180)
class RolexIndexConcurrencyTest {
    static final List<String> TRANSPORTS = IndexTransports.CONCURRENCY_NAMES;

    private static final int WRITERS = 3;
    private static final int READERS = 2;
    private static final int OPERATIONS_PER_WRITER = 2_500;
    private static final int PRIVATE_KEYS = 200;

    @ParameterizedTest
    @FieldSource("TRANSPORTS")
    void invariantsHoldUnderConcurrentWritersAndReaders(String transport) throws Exception {
        Random setup = new Random(99);
        long[] stableKeys = new long[1_500];
        for (int i = 0; i < stableKeys.length; i++) {
            // Uneven gaps, so training yields several models; every stable key is a multiple of 10^6.
            stableKeys[i] = (i == 0 ? 0 : stableKeys[i - 1]) + (1 + (setup.nextInt(8) == 0 ? setup.nextInt(50) : 0)) * 1_000_000L;
        }
        Map<Long, Set<Long>> written = new ConcurrentHashMap<>();
        for (long key : stableKeys) {
            written.computeIfAbsent(key, k -> ConcurrentHashMap.newKeySet()).add(key ^ 0x5555);
        }
        long[] sharedKeys = new long[40];
        for (int i = 0; i < sharedKeys.length; i++) {
            sharedKeys[i] = stableKeys[setup.nextInt(stableKeys.length)] + 1 + i;
        }
        IndexGeometry geometry = IndexGeometry.of(8, 0.75, 4).withLeafAllocationChunk(2);
        try (IndexFixture fixture = new IndexFixture(transport, 64L << 20)) {
            long[] stableValues = new long[stableKeys.length];
            for (int i = 0; i < stableValues.length; i++) {
                stableValues[i] = stableKeys[i] ^ 0x5555;
            }
            RolexIndex.bulkLoad(fixture.connect(), geometry, stableKeys, stableValues);
            List<Throwable> failures = new CopyOnWriteArrayList<>();
            AtomicBoolean writing = new AtomicBoolean(true);
            CountDownLatch start = new CountDownLatch(1);
            List<Map<Long, Long>> lastAcknowledged = new ArrayList<>();
            List<Thread> writers = new ArrayList<>();
            List<RolexIndex> writerIndexes = new ArrayList<>();
            for (int w = 0; w < WRITERS; w++) {
                int writer = w;
                Map<Long, Long> acknowledged = new HashMap<>();
                lastAcknowledged.add(acknowledged);
                RolexIndex index = RolexIndex.open(fixture.connect());
                writerIndexes.add(index);
                writers.add(Thread.ofPlatform().name("writer-" + w).start(() -> {
                    Random random = new Random(1000 + writer);
                    try {
                        start.await();
                        for (int op = 0; op < OPERATIONS_PER_WRITER; op++) {
                            boolean shared = random.nextInt(5) == 0;
                            // 200 private keys per writer: within what the synonym tables hold without retraining.
                            long key = shared ? sharedKeys[random.nextInt(sharedKeys.length)]
                                    : stableKeys[random.nextInt(PRIVATE_KEYS) * 7] + 100 + writer * 1000L;
                            if (!shared && random.nextInt(4) == 0) {
                                index.delete(key);
                                acknowledged.put(key, null);
                            } else {
                                long value = ((long) writer << 48) | op;
                                written.computeIfAbsent(key, k -> ConcurrentHashMap.newKeySet()).add(value);
                                index.put(key, value);
                                if (!shared) {
                                    acknowledged.put(key, value);
                                }
                            }
                        }
                    } catch (Throwable t) {
                        failures.add(t);
                    }
                }));
            }
            List<Thread> readers = new ArrayList<>();
            for (int r = 0; r < READERS; r++) {
                int readerId = r;
                RolexIndex index = RolexIndex.open(fixture.connect());
                readers.add(Thread.ofPlatform().name("reader-" + r).start(() -> {
                    Random random = new Random(2000 + readerId);
                    try {
                        start.await();
                        while (writing.get()) {
                            long stable = stableKeys[random.nextInt(stableKeys.length)];
                            assertEquals(OptionalLong.of(stable ^ 0x5555), index.get(stable), "a stable key is always found");
                            long probe = stableKeys[random.nextInt(PRIVATE_KEYS) * 7] + 100 + random.nextInt(WRITERS) * 1000L;
                            OptionalLong seen = index.get(probe);
                            if (seen.isPresent()) {
                                Set<Long> values = written.get(probe);
                                assertTrue(values != null && values.contains(seen.getAsLong()),
                                        "key " + probe + " showed a value never written: " + seen.getAsLong());
                            }
                            if (random.nextInt(10) == 0) {
                                int from = random.nextInt(stableKeys.length - 50);
                                List<KeyValue> scan = index.scan(stableKeys[from], stableKeys[from + 49], 10_000);
                                int stableSeen = 0;
                                for (int i = 0; i < scan.size(); i++) {
                                    if (i > 0) {
                                        assertTrue(Long.compareUnsigned(scan.get(i - 1).key(), scan.get(i).key()) < 0, "scan sorted, no duplicates");
                                    }
                                    Set<Long> values = written.get(scan.get(i).key());
                                    assertTrue(values != null && values.contains(scan.get(i).value()), "scan value never written");
                                    if (scan.get(i).key() % 1_000_000L == 0) {
                                        stableSeen++;
                                    }
                                }
                                assertEquals(50, stableSeen, "the scan holds every stable key in its range");
                            }
                        }
                    } catch (Throwable t) {
                        failures.add(t);
                    }
                }));
            }
            start.countDown();
            for (Thread thread : writers) {
                thread.join();
            }
            writing.set(false);
            for (Thread thread : readers) {
                thread.join();
            }
            if (!failures.isEmpty()) {
                AssertionError error = new AssertionError("concurrent run failed: " + failures.getFirst(), failures.getFirst());
                failures.stream().skip(1).forEach(error::addSuppressed);
                throw error;
            }
            long splits = writerIndexes.stream().mapToLong(index -> index.counters().splits()).sum();
            long conflicts = writerIndexes.stream().mapToLong(index -> index.counters().lockConflicts()).sum();
            assertTrue(splits > 0, "writers must split leaves while readers read, splits=" + splits);
            assertTrue(conflicts > 0, "writers must contend for locks, conflicts=" + conflicts);
            RolexIndex check = RolexIndex.open(fixture.connect());
            for (Map<Long, Long> acknowledged : lastAcknowledged) {
                for (Map.Entry<Long, Long> entry : acknowledged.entrySet()) {
                    OptionalLong expected = entry.getValue() == null ? OptionalLong.empty() : OptionalLong.of(entry.getValue());
                    assertEquals(expected, check.get(entry.getKey()), "last acknowledged write of key " + entry.getKey());
                }
            }
            for (long key : sharedKeys) {
                OptionalLong value = check.get(key);
                assertTrue(value.isPresent() && written.get(key).contains(value.getAsLong()), "shared key " + key);
            }
            List<KeyValue> all = check.scan(0, -1L, Integer.MAX_VALUE);
            for (int i = 1; i < all.size(); i++) {
                assertTrue(Long.compareUnsigned(all.get(i - 1).key(), all.get(i).key()) < 0);
            }
        }
    }
}
