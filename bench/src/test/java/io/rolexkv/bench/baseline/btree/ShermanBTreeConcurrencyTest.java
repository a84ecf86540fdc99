package io.rolexkv.bench.baseline.btree;

import io.rolexkv.common.fabric.fault.FaultPlan;
import io.rolexkv.rolex.index.KeyValue;
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
 * Several compute nodes (each its own connection and cache; one of them runs two writer threads) insert, update,
 * delete, read and scan overlapping keys at once, through the fault-injecting transport with torn writes on (a WRITE
 * longer than a word lands in pieces, out of order, with pauses between) and jittered latency, with nodes small enough
 * that splits at every level race with readers. Invariants: no acknowledged write is lost, no reader sees a value
 * never written, keys present throughout are always found, scans are sorted and complete for them, and the tree is
 * sound afterwards.
 */
@Timeout(120)
class ShermanBTreeConcurrencyTest {
    static final List<String> TRANSPORTS = BTreeTransports.NAMES;

    private static final int WRITERS = 3;
    private static final int READERS = 2;
    private static final int OPERATIONS_PER_WRITER = 1_500;
    private static final int PRIVATE_KEYS = 150;
    private static final FaultPlan TEARING = FaultPlan.builder()
            .seed(7)
            .randomLatencyMicros(20)
            .tearWrites(0.5, 4, 200)
            .build();

    @ParameterizedTest
    @FieldSource("TRANSPORTS")
    void invariantsHoldUnderConcurrentWritersAndReadersWithTornWrites(String transport) throws Exception {
        Random setup = new Random(99);
        long[] stableKeys = new long[1_200];
        for (int i = 0; i < stableKeys.length; i++) {
            // Every stable key is a multiple of 10^6; writers' keys sit in the gaps.
            stableKeys[i] = (i == 0 ? 1 : stableKeys[i - 1] / 1_000_000L + 1 + setup.nextInt(3)) * 1_000_000L;
        }
        Map<Long, Set<Long>> written = new ConcurrentHashMap<>();
        long[] stableWords = new long[stableKeys.length];
        for (int i = 0; i < stableKeys.length; i++) {
            stableWords[i] = stableKeys[i] ^ 0x5555;
            written.computeIfAbsent(stableKeys[i], k -> ConcurrentHashMap.newKeySet()).add(stableWords[i]);
        }
        long[] sharedKeys = new long[30];
        for (int i = 0; i < sharedKeys.length; i++) {
            sharedKeys[i] = stableKeys[setup.nextInt(stableKeys.length)] + 1 + i;
        }
        BTreeOptions options = ShermanBTreeOracleTest.SMALL_NODES;
        try (BTreeFixture fixture = new BTreeFixture(transport, 16L << 20, TEARING)) {
            ShermanBTree.bulkLoad(fixture.connect(), options, stableKeys, stableWords);
            List<Throwable> failures = new CopyOnWriteArrayList<>();
            AtomicBoolean writing = new AtomicBoolean(true);
            CountDownLatch start = new CountDownLatch(1);
            List<Map<Long, Long>> lastAcknowledged = new ArrayList<>();
            List<ShermanBTree> trees = new ArrayList<>();
            List<Thread> writers = new ArrayList<>();
            for (int w = 0; w < WRITERS; w++) {
                int writer = w;
                Map<Long, Long> acknowledged = new HashMap<>();
                lastAcknowledged.add(acknowledged);
                // The last writer shares the previous writer's compute node (connection, cache, node pool): two threads.
                ShermanBTree tree = w == WRITERS - 1 ? trees.getLast() : ShermanBTree.open(fixture.connect(), options);
                if (w < WRITERS - 1) {
                    trees.add(tree);
                }
                writers.add(Thread.ofPlatform().name("writer-" + w).start(() -> {
                    Random random = new Random(1000 + writer);
                    try {
                        start.await();
                        for (int op = 0; op < OPERATIONS_PER_WRITER; op++) {
                            boolean shared = random.nextInt(5) == 0;
                            long key = shared ? sharedKeys[random.nextInt(sharedKeys.length)]
                                    : stableKeys[random.nextInt(PRIVATE_KEYS) * 7] + 100 + writer * 1000L + random.nextInt(3);
                            if (!shared && random.nextInt(4) == 0) {
                                tree.delete(key);
                                acknowledged.put(key, null);
                            } else {
                                long word = ((long) writer << 48) | op;
                                written.computeIfAbsent(key, k -> ConcurrentHashMap.newKeySet()).add(word);
                                tree.put(key, word);
                                if (!shared) {
                                    acknowledged.put(key, word);
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
                int reader = r;
                ShermanBTree tree = ShermanBTree.open(fixture.connect(), options);
                trees.add(tree);
                readers.add(Thread.ofPlatform().name("reader-" + r).start(() -> {
                    Random random = new Random(2000 + reader);
                    try {
                        start.await();
                        while (writing.get()) {
                            int index = random.nextInt(stableKeys.length);
                            assertEquals(OptionalLong.of(stableWords[index]), tree.get(stableKeys[index]),
                                    "a stable key is always found");
                            long probe = stableKeys[random.nextInt(PRIVATE_KEYS) * 7] + 100
                                    + random.nextInt(WRITERS) * 1000L + random.nextInt(3);
                            OptionalLong seen = tree.get(probe);
                            if (seen.isPresent()) {
                                Set<Long> words = written.get(probe);
                                assertTrue(words != null && words.contains(seen.getAsLong()),
                                        "key " + probe + " showed a word never written: " + seen.getAsLong());
                            }
                            if (random.nextInt(8) == 0) {
                                int from = random.nextInt(stableKeys.length - 60);
                                checkScan(tree.scan(stableKeys[from], stableKeys[from + 59], 10_000), written, 60);
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
            long splits = trees.stream().mapToLong(tree -> tree.counters().splits()).sum();
            long internalSplits = trees.stream().mapToLong(tree -> tree.counters().internalSplits()).sum();
            long conflicts = trees.stream().mapToLong(tree -> tree.counters().lockConflicts()).sum();
            long torn = trees.stream().mapToLong(tree -> tree.counters().tornReads()).sum();
            assertTrue(splits > 0 && internalSplits > 0, "writers must split leaves and internal nodes while readers read,"
                    + " splits=" + splits + " internalSplits=" + internalSplits);
            assertTrue(conflicts > 0, "writers must contend for locks, conflicts=" + conflicts);
            assertTrue(torn > 0, "readers must meet torn nodes and read them again, tornReads=" + torn);

            ShermanBTree check = ShermanBTree.open(fixture.connect(), options);
            for (Map<Long, Long> acknowledged : lastAcknowledged) {
                for (Map.Entry<Long, Long> entry : acknowledged.entrySet()) {
                    OptionalLong expected = entry.getValue() == null ? OptionalLong.empty() : OptionalLong.of(entry.getValue());
                    assertEquals(expected, check.get(entry.getKey()), "last acknowledged write of key " + entry.getKey());
                }
            }
            for (long key : sharedKeys) {
                OptionalLong word = check.get(key);
                assertTrue(word.isPresent() && written.get(key).contains(word.getAsLong()), "shared key " + key);
            }
            List<KeyValue> all = check.scan(0, -1L, Integer.MAX_VALUE);
            checkScan(all, written, stableKeys.length);
            assertEquals(all.size(), BTreeInspector.inspect(fixture.connect()).keys());
        }
    }

    /** Sorted without duplicates, only words that were written, and exactly {@code stable} stable keys. */
    private static void checkScan(List<KeyValue> scan, Map<Long, Set<Long>> written, int stable) {
        int stableSeen = 0;
        for (int i = 0; i < scan.size(); i++) {
            if (i > 0) {
                assertTrue(Long.compareUnsigned(scan.get(i - 1).key(), scan.get(i).key()) < 0, "scan sorted, no duplicates");
            }
            Set<Long> words = written.get(scan.get(i).key());
            assertTrue(words != null && words.contains(scan.get(i).value()), "scan showed a word never written");
            if (scan.get(i).key() % 1_000_000L == 0) {
                stableSeen++;
            }
        }
        assertEquals(stable, stableSeen, "the scan holds every stable key in its range");
    }
}
