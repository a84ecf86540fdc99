package io.rolexkv.rolex.index;

import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.OptionalLong;
import java.util.Random;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The lock, split and retrain protocol under stress: many virtual threads on several compute nodes insert, update and
 * delete on leaves of 8 keys while the memory node's retrainer, set to retrain a model once a few of its synonym slots
 * are used, regroups models under them; readers meanwhile check every key they know to be acknowledged against what
 * the index returns. Afterwards the structure checker must find the index sound and its contents must equal the
 * oracle the writers kept.
 *
 * <p>What a reader may see, for a key whose writer acknowledged state {@code a} before the read began: if {@code a}
 * was a put, the key must be found with {@code a}'s value or a newer one, unless a delete of it started meanwhile; if
 * {@code a} was a delete, it may be absent or hold a value written after it. Never an older value than {@code a}'s,
 * never one whose write had not started when the read ended. A writer owns its keys, so "newer" is its sequence
 * number, stored in the value.
 */
class IndexStressTest {
    private static final IndexGeometry GEOMETRY = IndexGeometry.of(8, 0.75, 4).withEmptyIndexLeaves(16).withLeafAllocationChunk(2);
    /** Retrain a model once 254 - 250 = 4 of its synonym slots are used: many retrains in a few seconds. */
    private static final int RETRAIN_FREE_SLOTS = 250;
    private static final int COMPUTE_NODES = 4;
    private static final int WRITERS_PER_NODE = 3;
    private static final int READERS = 4;
    private static final int LOADED = 2_000;
    private static final int KEYS_PER_WRITER = 400;
    private static final long PRESENT = 1;

    @ParameterizedTest
    @ValueSource(strings = {"loopback", IndexFixture.TORN})
    @Timeout(120)
    void writersReadersAndTheRetrainerKeepEveryAcknowledgedWrite(String transport) throws Exception {
        stress(transport, Duration.ofSeconds(3));
    }

    @ParameterizedTest
    @ValueSource(strings = {"loopback", IndexFixture.TORN, "tcp", "tcp-torn"})
    @Tag("slow")
    @Timeout(600)
    void writersReadersAndTheRetrainerKeepEveryAcknowledgedWriteForAMinute(String transport) throws Exception {
        stress(transport, Duration.ofSeconds(60));
    }

    /** What the writers did to one key: the last operation acknowledged, the last started, the last delete started. */
    private static final class KeyLog {
        /** {@code sequence << 1 | PRESENT} of the last acknowledged operation; 0 before the first. */
        volatile long acknowledged;
        volatile long started;
        volatile long deleteStarted;
    }

    private static long word(int writer, long sequence) {
        return ((long) writer << 40) | sequence;
    }

    private static long sequenceOf(long word) {
        return word & ((1L << 40) - 1);
    }

    private void stress(String transport, Duration length) throws Exception {
        Random setup = new Random(20_261_203L);
        // Near-even gaps: few models, so that the splits gather in them and retraining comes often.
        long[] loaded = new long[LOADED];
        for (int i = 0; i < LOADED; i++) {
            loaded[i] = (i + 1) * 1_000_000L + setup.nextInt(1_000);
        }
        long top = loaded[loaded.length - 1];
        int writerCount = COMPUTE_NODES * WRITERS_PER_NODE;
        // Writer w owns its keys; writer 0 also appends past the largest key (ordered inserts, timestamps).
        long[][] owned = new long[writerCount][KEYS_PER_WRITER];
        Map<Long, KeyLog> logs = new ConcurrentHashMap<>();
        for (long key : loaded) {
            logs.put(key, new KeyLog()); // reserved: no writer takes a loaded key
        }
        for (int w = 0; w < writerCount; w++) {
            for (int i = 0; i < KEYS_PER_WRITER; i++) {
                long key;
                do {
                    key = setup.nextInt(3) == 0 ? loaded[setup.nextInt(loaded.length)] + 1 + setup.nextInt(1 << 20)
                            : Long.remainderUnsigned(setup.nextLong(), top);
                } while (logs.putIfAbsent(key, new KeyLog()) != null);
                owned[w][i] = key;
            }
        }
        try (IndexFixture node = new IndexFixture(transport, 128L << 20)) {
            RolexIndex.bulkLoad(node.connect(), GEOMETRY, loaded, loaded.clone());
            Retrainer retrainer = new Retrainer(node.localConnection(), io.rolexkv.common.fabric.FabricLimits.DEFAULT,
                    new Retrainer.Policy(RETRAIN_FREE_SLOTS, Retrainer.Policy.MIN_SYNONYM_LEAVES_DEFAULT,
                            Retrainer.Policy.SYNONYM_LEAF_FRACTION_DEFAULT));
            List<Throwable> failures = new CopyOnWriteArrayList<>();
            AtomicBoolean running = new AtomicBoolean(true);
            Thread background = RetrainingTest.startRetrainer(retrainer, running, failures);
            List<RolexIndex> nodes = new ArrayList<>();
            for (int n = 0; n < COMPUTE_NODES; n++) {
                nodes.add(RolexIndex.open(node.connect()).waitForRoom(Duration.ofSeconds(30)));
            }
            AtomicLong appended = new AtomicLong(top + (1 << 21)); // above every owned key
            List<Long> appendedKeys = new CopyOnWriteArrayList<>();
            long deadline = System.nanoTime() + length.toNanos();
            List<Thread> writers = new ArrayList<>();
            for (int w = 0; w < writerCount; w++) {
                int writer = w;
                RolexIndex index = nodes.get(w % COMPUTE_NODES);
                writers.add(Thread.ofPlatform().name("writer-" + w).start(() -> {
                    Random random = new Random(1_000 + writer);
                    long sequence = 0;
                    try {
                        while (System.nanoTime() < deadline && failures.isEmpty()) {
                            sequence++;
                            if (writer == 0 && random.nextInt(4) == 0) {
                                long key = appended.addAndGet(1 + random.nextInt(1_000));
                                index.put(key, word(writer, sequence), null);
                                appendedKeys.add(key);
                                continue;
                            }
                            long key = owned[writer][random.nextInt(KEYS_PER_WRITER)];
                            KeyLog log = logs.get(key);
                            log.started = sequence;
                            if (random.nextInt(4) == 0) {
                                log.deleteStarted = sequence;
                                index.remove(key);
                                log.acknowledged = sequence << 1;
                            } else {
                                index.put(key, word(writer, sequence), null);
                                log.acknowledged = sequence << 1 | PRESENT;
                            }
                        }
                    } catch (Throwable e) {
                        failures.add(e);
                    }
                }));
            }
            AtomicLong checkedReads = new AtomicLong();
            List<Thread> readers = new ArrayList<>();
            for (int r = 0; r < READERS; r++) {
                int reader = r;
                RolexIndex index = RolexIndex.open(node.connect());
                readers.add(Thread.ofPlatform().name("reader-" + r).start(() -> {
                    Random random = new Random(2_000 + reader);
                    try {
                        while (System.nanoTime() < deadline && failures.isEmpty()) {
                            long stable = loaded[random.nextInt(loaded.length)];
                            assertEquals(OptionalLong.of(stable), index.get(stable), "a loaded key is always found");
                            long key = owned[random.nextInt(writerCount)][random.nextInt(KEYS_PER_WRITER)];
                            KeyLog log = logs.get(key);
                            long before = log.acknowledged;
                            OptionalLong seen = index.get(key);
                            checkRead(key, before, seen, log.started, log.deleteStarted);
                            checkedReads.incrementAndGet();
                            if (random.nextInt(16) == 0) {
                                int from = random.nextInt(loaded.length - 40);
                                List<KeyValue> scan = index.scan(loaded[from], loaded[from + 39], Integer.MAX_VALUE);
                                long stableSeen = scan.stream().filter(pair -> pair.key() == pair.value()).count();
                                for (int i = 1; i < scan.size(); i++) {
                                    assertTrue(Long.compareUnsigned(scan.get(i - 1).key(), scan.get(i).key()) < 0,
                                            "scan sorted without duplicates at index=" + i);
                                }
                                assertEquals(40, stableSeen, "the scan holds every loaded key of its range");
                            }
                        }
                    } catch (Throwable e) {
                        failures.add(e);
                    }
                }));
            }
            for (Thread thread : writers) {
                thread.join();
            }
            for (Thread thread : readers) {
                thread.join();
            }
            running.set(false);
            background.join();
            if (!failures.isEmpty()) {
                AssertionError error = new AssertionError(transport + ": " + failures.getFirst(), failures.getFirst());
                failures.stream().skip(1).limit(5).forEach(error::addSuppressed);
                throw error;
            }

            TreeMap<Long, Long> oracle = new TreeMap<>(Long::compareUnsigned);
            for (long key : loaded) {
                oracle.put(key, key);
            }
            for (int w = 0; w < writerCount; w++) {
                for (long key : owned[w]) {
                    long acknowledged = logs.get(key).acknowledged;
                    if ((acknowledged & PRESENT) != 0) {
                        oracle.put(key, word(w, acknowledged >>> 1));
                    }
                }
            }
            RolexIndex fresh = RolexIndex.open(node.connect());
            List<KeyValue> all = fresh.scan(0, -1L, Integer.MAX_VALUE);
            for (long key : appendedKeys) {
                OptionalLong value = fresh.get(key);
                assertTrue(value.isPresent(), "appended key " + Long.toUnsignedString(key));
                oracle.put(key, value.getAsLong());
            }
            List<KeyValue> expected = oracle.entrySet().stream().map(entry -> new KeyValue(entry.getKey(), entry.getValue())).toList();
            assertEquals(expected, all, "the index holds exactly what the writers acknowledged");
            IndexChecker.Report report = IndexChecker.check(node.connect()).requireSound();
            assertEquals(oracle.size(), report.keys(), report.toString());

            long splits = nodes.stream().mapToLong(index -> index.counters().splits()).sum();
            long conflicts = nodes.stream().mapToLong(index -> index.counters().lockConflicts()).sum();
            Retrainer.Stats retrains = retrainer.stats();
            assertTrue(splits > 0 && conflicts > 0 && retrains.retrains() > 0 && checkedReads.get() > 0,
                    "the run must split, contend, retrain and read: splits=" + splits + " lockConflicts=" + conflicts
                            + " retrainer=" + retrains + " checkedReads=" + checkedReads.get() + " " + report);
        }
    }

    /**
     * @param acknowledged the key's last acknowledged operation when the read began
     * @param started      the key's last started operation when the read ended
     * @param deleteStarted the key's last started delete when the read ended
     */
    private static void checkRead(long key, long acknowledged, OptionalLong seen, long started, long deleteStarted) {
        long acknowledgedSequence = acknowledged >>> 1;
        boolean acknowledgedPresent = (acknowledged & PRESENT) != 0;
        String where = "key=" + Long.toUnsignedString(key) + " acknowledgedSequence=" + acknowledgedSequence
                + " acknowledgedPresent=" + acknowledgedPresent + " started=" + started + " deleteStarted=" + deleteStarted;
        if (seen.isEmpty()) {
            assertTrue(!acknowledgedPresent || deleteStarted > acknowledgedSequence,
                    "an acknowledged key was not found and no delete of it had started: " + where);
            return;
        }
        long sequence = sequenceOf(seen.getAsLong());
        assertTrue(sequence >= acknowledgedSequence && (sequence > acknowledgedSequence || acknowledgedPresent),
                "a value older than the acknowledged state: seenSequence=" + sequence + " " + where);
        assertTrue(sequence <= started, "a value whose write had not started: seenSequence=" + sequence + " " + where);
    }
}
