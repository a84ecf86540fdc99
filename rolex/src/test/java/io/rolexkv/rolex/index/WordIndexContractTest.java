package io.rolexkv.rolex.index;

import io.rolexkv.common.check.RegisterHistory;
import io.rolexkv.common.fabric.CorruptDataException;
import io.rolexkv.common.fabric.DoorbellBatch;
import io.rolexkv.common.fabric.FabricConnection;
import io.rolexkv.common.fabric.FabricCounters;
import io.rolexkv.common.fabric.GlobalAddress;
import io.rolexkv.common.fabric.TestMemoryNode;
import io.rolexkv.common.fabric.WordOrder;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.FieldSource;
import org.junit.jupiter.params.provider.MethodSource;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.OptionalLong;
import java.util.Random;
import java.util.Set;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.function.UnaryOperator;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * What every {@link WordIndex} promises, run on each index by a subclass that says how to build, open and inspect it:
 * seeded random operations against a TreeMap over every transport, from one and from four compute nodes; writers and
 * readers racing on overlapping keys (torn writes included); the engine's hooks (extras in the first doorbell, verbs
 * of an update before its word, the word an update sees under the lock, all-or-nothing batches); batch lookups. Every
 * test ends with the subclass's structure check, which must find the index sound and holding exactly the keys the
 * test expects.
 *
 * <p>Nodes and leaves are kept small by the subclass ({@link #bulkLoad}, {@link #createEmpty}) so that a few thousand
 * keys split leaves (and, for a tree, inner nodes) many times.
 */
@Timeout(180)
public abstract class WordIndexContractTest<I extends WordIndex> {
    /** A region every test node has besides the index's, for the verbs the tests append to the index's doorbells. */
    protected static final String SCRATCH_REGION = "scratch";

    static final List<String> TRANSPORTS = List.of("loopback", "tcp");
    /** Plain and tearing, in process and over sockets. */
    static final List<String> CONCURRENCY_TRANSPORTS = List.of("loopback", "loopback" + TestMemoryNode.TORN_SUFFIX,
            "tcp", "tcp" + TestMemoryNode.TORN_SUFFIX);

    // ------------------------------------------------------------------ what an index under test provides

    /** The regions (name to bytes) a memory node needs for this index; big enough for every test here. */
    protected abstract Map<String, Long> regions();

    /** Builds the index of {@code keys} (strictly increasing, unsigned) and {@code words}, with small nodes. */
    protected abstract I bulkLoad(FabricConnection connection, long[] keys, long[] words);

    /** Builds an empty index, with small nodes. */
    protected abstract I createEmpty(FabricConnection connection);

    /**
     * Opens the built index as compute node number {@code client} (1, 2, ...; the builder is 0). Client 1 is opened
     * as a compute node normally is; an index may give the others different cache settings, so that their mix is
     * tested too.
     */
    protected abstract I open(FabricConnection connection, int client);

    /** Leaves (or nodes) this compute node split. */
    protected abstract long splits(I index);

    /** Lock races this compute node lost. */
    protected abstract long lockConflicts(I index);

    /** Walks the whole structure on {@code node}, fails on any broken invariant, and checks it holds {@code keys} keys. */
    protected abstract void assertStructureSound(TestMemoryNode node, long keys);

    /** What this index also promises after {@link #randomOperationsMatchTreeMap} ({@code clients.get(0)} built it). */
    protected void afterRandomRun(TestMemoryNode node, List<I> clients) {
    }

    /** What this index also promises after {@link #invariantsHoldUnderConcurrentWritersAndReaders}. */
    protected void afterConcurrentRun(String transport, List<I> clients) {
    }

    /** What this index also promises of a reader whose cache another compute node's splits made stale. */
    protected void afterStaleBatchReads(I reader) {
    }

    /**
     * A connection that breaks this index's write protocol in a way that must lose or reorder acknowledged writes (for
     * example, its unlock applied before the writes it guards), for {@link #aBrokenWriteProtocolIsCaughtByTheHistoryCheck};
     * {@code null} if the index offers none.
     */
    protected FabricConnection brokenWriteProtocol(FabricConnection connection) {
        return null;
    }

    // ------------------------------------------------------------------ fixture

    protected final TestMemoryNode startNode(String transport) {
        Map<String, Long> regions = new LinkedHashMap<>(regions());
        regions.put(SCRATCH_REGION, 1L << 20);
        return new TestMemoryNode(transport, regions);
    }

    private static long scratchAddress(FabricConnection connection, long offset) {
        return GlobalAddress.of(connection.memoryNodeId(), connection.region(SCRATCH_REGION).id(), offset);
    }

    private static long scratchWord(TestMemoryNode node, long offset) {
        return WordOrder.getLong(node.memory.segment(SCRATCH_REGION), offset);
    }

    private static long doorbellsSince(FabricConnection connection, FabricCounters.Snapshot before) {
        return connection.counters().snapshot().minus(before).doorbells();
    }

    private long splits(List<I> indexes) {
        return indexes.stream().mapToLong(this::splits).sum();
    }

    /** {@code count} distinct keys in unsigned order, clustered, some above 2^63 (unsigned order matters). */
    public static long[] randomSortedKeys(Random random, int count) {
        TreeMap<Long, Boolean> keys = new TreeMap<>(Long::compareUnsigned);
        long cursor = 0;
        while (keys.size() < count) {
            cursor += 1 + random.nextInt(random.nextInt(10) == 0 ? 5_000_000 : 1_000); // clustered gaps
            keys.put(cursor * 0x1_0000_0001L, true);
        }
        return keys.keySet().stream().mapToLong(Long::longValue).toArray();
    }

    private static OptionalLong optional(Long word) {
        return word == null ? OptionalLong.empty() : OptionalLong.of(word);
    }

    private static List<KeyValue> expectedScan(TreeMap<Long, Long> oracle, long from, long to, int limit) {
        List<KeyValue> expected = new ArrayList<>();
        if (limit == 0 || Long.compareUnsigned(from, to) > 0) {
            return expected;
        }
        for (Map.Entry<Long, Long> entry : oracle.subMap(from, true, to, true).entrySet()) {
            if (expected.size() == limit) {
                break;
            }
            expected.add(new KeyValue(entry.getKey(), entry.getValue()));
        }
        return expected;
    }

    // ------------------------------------------------------------------ random operations against a TreeMap

    static Stream<Arguments> randomCases() {
        List<Arguments> cases = new ArrayList<>();
        for (String transport : TRANSPORTS) {
            for (boolean bulk : new boolean[] {true, false}) {
                for (int clients : new int[] {1, 4}) {
                    cases.add(Arguments.of(transport, bulk, clients));
                }
            }
        }
        return cases.stream();
    }

    @ParameterizedTest(name = "{0} bulkLoad={1} clients={2}")
    @MethodSource("randomCases")
    void randomOperationsMatchTreeMap(String transport, boolean bulkLoad, int clients) {
        Random random = new Random(20_260_202L + clients * 31L + (bulkLoad ? 7 : 0));
        TreeMap<Long, Long> oracle = new TreeMap<>(Long::compareUnsigned);
        try (TestMemoryNode node = startNode(transport)) {
            List<I> indexes = new ArrayList<>();
            if (bulkLoad) {
                long[] keys = randomSortedKeys(random, 3_000);
                long[] words = new long[keys.length];
                for (int i = 0; i < keys.length; i++) {
                    words[i] = random.nextLong();
                    oracle.put(keys[i], words[i]);
                }
                indexes.add(bulkLoad(node.connect(), keys, words));
            } else {
                indexes.add(createEmpty(node.connect()));
            }
            for (int client = 1; client < clients; client++) {
                indexes.add(open(node.connect(), client));
            }
            List<Long> known = new ArrayList<>(oracle.keySet());
            for (int step = 0; step < 6_000; step++) {
                I index = indexes.get(random.nextInt(indexes.size()));
                int operation = random.nextInt(100);
                long key = pickKey(random, known);
                String name = Long.toUnsignedString(key);
                if (operation < 40) {
                    long word = random.nextLong();
                    Long previous = oracle.put(key, word);
                    WriteResult result = index.put(key, word, null);
                    assertEquals(optional(previous), result.previous(), "put of key " + name + " returns what it replaced");
                    assertEquals(OptionalLong.of(word), result.written());
                    known.add(key);
                } else if (operation < 45) {
                    long add = random.nextInt(1_000);
                    Long previous = oracle.get(key);
                    if (previous != null) {
                        oracle.put(key, previous + add);
                    }
                    WriteResult result = index.update(key, (current, finalDoorbell) -> current.isPresent()
                            ? OptionalLong.of(current.getAsLong() + add) : OptionalLong.empty());
                    assertEquals(optional(previous), result.previous(), "update of key " + name + " saw the word");
                } else if (operation < 60) {
                    assertEquals(optional(oracle.remove(key)), index.remove(key), "remove of key " + name);
                } else if (operation < 80) {
                    assertEquals(optional(oracle.get(key)), index.get(key), "get of key " + name);
                    FoundWord found = new FoundWord();
                    found.set(key * 31 + 7);
                    assertEquals(oracle.containsKey(key), index.find(key, found), "find of key " + name);
                    assertEquals(oracle.getOrDefault(key, key * 31 + 7), found.word(),
                            "find of key " + name + " puts the word, or leaves the holder alone");
                } else if (operation < 88) {
                    long[] batch = new long[1 + random.nextInt(40)];
                    for (int i = 0; i < batch.length; i++) {
                        batch[i] = i == 0 ? key : pickKey(random, known);
                    }
                    OptionalLong[] got = index.getAll(batch);
                    for (int i = 0; i < batch.length; i++) {
                        assertEquals(optional(oracle.get(batch[i])), got[i], "getAll of key " + Long.toUnsignedString(batch[i]));
                    }
                } else {
                    long to = random.nextInt(4) == 0 ? -1L : key + (random.nextLong() >>> random.nextInt(1, 64));
                    if (Long.compareUnsigned(to, key) < 0) {
                        to = -1L;
                    }
                    int limit = random.nextInt(5) == 0 ? 0 : random.nextInt(1, 80);
                    assertEquals(expectedScan(oracle, key, to, limit), index.scan(key, to, limit),
                            "scan from " + name + " to " + Long.toUnsignedString(to) + " limit " + limit);
                }
            }
            for (I index : indexes) {
                long[] all = oracle.keySet().stream().mapToLong(Long::longValue).toArray();
                OptionalLong[] got = index.getAll(all);
                for (int i = 0; i < all.length; i++) {
                    assertEquals(OptionalLong.of(oracle.get(all[i])), got[i], "every key from every compute node");
                }
                assertEquals(expectedScan(oracle, 0, -1L, Integer.MAX_VALUE), index.scan(0, -1L, Integer.MAX_VALUE),
                        "a full scan from every compute node returns exactly the oracle's pairs");
            }
            assertTrue(splits(indexes) > 0, "the run must split, splits=" + splits(indexes));
            assertStructureSound(node, oracle.size());
            afterRandomRun(node, indexes);
        }
    }

    /** A key already used, its neighbour, or a fresh one anywhere in the (unsigned) key space. */
    private static long pickKey(Random random, List<Long> known) {
        int choice = random.nextInt(20);
        if (choice < 11 && !known.isEmpty()) {
            return known.get(random.nextInt(known.size()));
        }
        if (choice < 15 && !known.isEmpty()) {
            return known.get(random.nextInt(known.size())) + 1;
        }
        return switch (choice % 3) {
            case 0 -> random.nextLong();
            case 1 -> random.nextLong() >>> 1;
            default -> (random.nextLong() >>> 20) * 0x1_0000_0001L;
        };
    }

    // ------------------------------------------------------------------ concurrency

    private static final int WRITERS = 3;
    private static final int READERS = 2;
    private static final int OPERATIONS_PER_WRITER = 2_000;
    private static final int PRIVATE_KEYS = 200;

    /**
     * Several compute nodes (each its own connection and cache; the last two writers share one, two threads on one
     * index) insert, update, delete, read and scan overlapping keys at once, with nodes small enough that splits race
     * with readers. Invariants: no acknowledged write is lost, no reader sees a word never written, keys present
     * throughout are always found, scans are sorted and complete for them, and the structure is sound afterwards.
     */
    @ParameterizedTest
    @FieldSource("CONCURRENCY_TRANSPORTS")
    void invariantsHoldUnderConcurrentWritersAndReaders(String transport) throws Exception {
        Random setup = new Random(99);
        long[] stableKeys = new long[1_500];
        for (int i = 0; i < stableKeys.length; i++) {
            // Uneven gaps (so a learned index trains several models); every stable key is a multiple of 10^6.
            stableKeys[i] = (i == 0 ? 1_000_000L : stableKeys[i - 1])
                    + (1 + (setup.nextInt(8) == 0 ? setup.nextInt(50) : 0)) * 1_000_000L;
        }
        long[] stableWords = new long[stableKeys.length];
        Map<Long, Set<Long>> written = new ConcurrentHashMap<>();
        for (int i = 0; i < stableKeys.length; i++) {
            stableWords[i] = stableKeys[i] ^ 0x5555;
            written.computeIfAbsent(stableKeys[i], k -> ConcurrentHashMap.newKeySet()).add(stableWords[i]);
        }
        long[] sharedKeys = new long[40];
        for (int i = 0; i < sharedKeys.length; i++) {
            sharedKeys[i] = stableKeys[setup.nextInt(stableKeys.length)] + 1 + i;
        }
        try (TestMemoryNode node = startNode(transport)) {
            bulkLoad(node.connect(), stableKeys, stableWords);
            List<Throwable> failures = new CopyOnWriteArrayList<>();
            AtomicBoolean writing = new AtomicBoolean(true);
            CountDownLatch start = new CountDownLatch(1);
            List<Map<Long, Long>> lastAcknowledged = new ArrayList<>();
            List<I> indexes = new ArrayList<>();
            List<Thread> writers = new ArrayList<>();
            for (int w = 0; w < WRITERS; w++) {
                int writer = w;
                Map<Long, Long> acknowledged = new HashMap<>();
                lastAcknowledged.add(acknowledged);
                I index = w == WRITERS - 1 ? indexes.getLast() : open(node.connect(), indexes.size() + 1);
                if (w < WRITERS - 1) {
                    indexes.add(index);
                }
                writers.add(Thread.ofPlatform().name("writer-" + w).start(() -> {
                    Random random = new Random(1000 + writer);
                    try {
                        start.await();
                        for (int op = 0; op < OPERATIONS_PER_WRITER; op++) {
                            boolean shared = random.nextInt(5) == 0;
                            long key = shared ? sharedKeys[random.nextInt(sharedKeys.length)] : privateKey(stableKeys, random, writer);
                            if (!shared && random.nextInt(4) == 0) {
                                index.remove(key);
                                acknowledged.put(key, null);
                            } else {
                                long word = ((long) writer << 48) | op;
                                written.computeIfAbsent(key, k -> ConcurrentHashMap.newKeySet()).add(word);
                                index.put(key, word, null);
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
                I index = open(node.connect(), indexes.size() + 1);
                indexes.add(index);
                readers.add(Thread.ofPlatform().name("reader-" + r).start(() -> {
                    Random random = new Random(2000 + reader);
                    try {
                        start.await();
                        while (writing.get()) {
                            int at = random.nextInt(stableKeys.length);
                            assertEquals(OptionalLong.of(stableWords[at]), index.get(stableKeys[at]), "a stable key is always found");
                            FoundWord found = new FoundWord();
                            assertTrue(index.find(stableKeys[at], found), "a stable key is always found without an OptionalLong");
                            assertEquals(stableWords[at], found.word());
                            long probe = privateKey(stableKeys, random, random.nextInt(WRITERS));
                            OptionalLong seen = index.get(probe);
                            if (seen.isPresent()) {
                                Set<Long> words = written.get(probe);
                                assertTrue(words != null && words.contains(seen.getAsLong()),
                                        "key " + probe + " showed a word never written: " + seen.getAsLong());
                            }
                            if (random.nextInt(8) == 0) {
                                int from = random.nextInt(stableKeys.length - 50);
                                checkScan(index.scan(stableKeys[from], stableKeys[from + 49], 10_000), written, 50);
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
            long conflicts = indexes.stream().mapToLong(this::lockConflicts).sum();
            assertTrue(splits(indexes) > 0, "writers must split while readers read, splits=" + splits(indexes));
            if (!transport.equals("loopback")) {
                // With latency the writers' runs overlap for sure; plain loopback may run them one after another on
                // a loaded machine (the B+tree's whole run takes a fraction of a second), so a race is likely, not certain.
                assertTrue(conflicts > 0, "writers must contend for locks, conflicts=" + conflicts);
            }

            I check = open(node.connect(), indexes.size() + 1);
            for (Map<Long, Long> acknowledged : lastAcknowledged) {
                for (Map.Entry<Long, Long> entry : acknowledged.entrySet()) {
                    assertEquals(optional(entry.getValue()), check.get(entry.getKey()), "last acknowledged write of key " + entry.getKey());
                }
            }
            for (long key : sharedKeys) {
                OptionalLong word = check.get(key);
                assertTrue(word.isPresent() && written.get(key).contains(word.getAsLong()), "shared key " + key);
            }
            List<KeyValue> all = check.scan(0, -1L, Integer.MAX_VALUE);
            checkScan(all, written, stableKeys.length);
            assertStructureSound(node, all.size());
            afterConcurrentRun(transport, indexes);
        }
    }

    /** One of writer {@code writer}'s keys: in the gaps between stable keys, apart from other writers'. */
    private static long privateKey(long[] stableKeys, Random random, int writer) {
        return stableKeys[random.nextInt(PRIVATE_KEYS) * 7] + 100 + writer * 1000L;
    }

    /** Sorted without duplicates, only words that were written, and exactly {@code stable} stable keys. */
    // ------------------------------------------------------------------ recorded histories

    /** Keys bulk loaded around the hot keys the history clients race on (every tenth is hot). */
    private static final long[] HISTORY_LOADED = java.util.stream.LongStream.rangeClosed(1, 120).map(i -> i * 1_000).toArray();
    private static final long[] HOT_KEYS = {40_000, 40_500, 41_000, 41_500, 42_000, 42_001};

    /**
     * {@code clients} compute nodes, each over {@code wrap} of its own connection, run {@code operations} random
     * operations each on the hot keys (gets, puts that report the value they replaced, removes) while putting keys new
     * to the index next to them, which splits leaves under the racing operations; every call and answer is recorded. A
     * write that gave up having changed nothing is not recorded; any other failure fails the test.
     */
    private RacingRun recordRacingClients(TestMemoryNode node, UnaryOperator<FabricConnection> wrap, int clients,
                                          int operations) throws Exception {
        return recordRacingClients(node, wrap, wrap, clients, operations);
    }

    /** {@link #recordRacingClients}, with each client's gets run by a compute node of its own over {@code readWrap}. */
    private RacingRun recordRacingClients(TestMemoryNode node, UnaryOperator<FabricConnection> wrap,
                                          UnaryOperator<FabricConnection> readWrap, int clients, int operations)
            throws Exception {
        bulkLoad(node.connect(), HISTORY_LOADED, HISTORY_LOADED.clone());
        RegisterHistory history = new RegisterHistory();
        List<Throwable> failures = new CopyOnWriteArrayList<>();
        CountDownLatch start = new CountDownLatch(1);
        List<Thread> threads = new ArrayList<>();
        for (int c = 0; c < clients; c++) {
            int client = c;
            I index = open(wrap.apply(node.connect()), client + 1);
            I reader = readWrap == wrap ? index : open(readWrap.apply(node.connect()), client + 1);
            threads.add(Thread.ofPlatform().start(() -> {
                Random random = new Random(31 + client);
                String name = "client" + client;
                try {
                    start.await();
                    for (int i = 0; i < operations; i++) {
                        long key = HOT_KEYS[random.nextInt(HOT_KEYS.length)];
                        long value = (long) (client + 1) << 40 | i;
                        long call = history.invoke();
                        try {
                            switch (random.nextInt(4)) {
                                case 0, 1 -> history.get(name, call, key, reader.get(key));
                                case 2 -> history.put(name, call, key, value, index.put(key, value, null).previous());
                                default -> history.remove(name, call, key, index.remove(key));
                            }
                            long fresh = 40_000 + 1 + random.nextInt(2_000) * 8L + client;
                            if (i % 4 == 0 && java.util.Arrays.stream(HOT_KEYS).noneMatch(hot -> hot == fresh)) {
                                // A key of this client's own, next to the hot ones: leaves fill and split meanwhile.
                                long freshCall = history.invoke();
                                history.put(name, freshCall, fresh, value, index.put(fresh, value, null).previous());
                            }
                        } catch (IndexGaveUpException nothingChanged) {
                            // A lock time-out or model churn: the operation had no effect, so it is not in the history.
                        }
                    }
                } catch (Throwable e) {
                    failures.add(e);
                }
            }));
        }
        try (AutoCloseable background = backgroundWork(node)) {
            start.countDown();
            for (Thread thread : threads) {
                thread.join();
            }
        }
        return new RacingRun(history, failures);
    }

    /**
     * What the memory node does in the background while clients race in the history tests (an index's retrainer,
     * compacting under them); nothing by default. Closing it stops it.
     */
    protected AutoCloseable backgroundWork(TestMemoryNode node) {
        return () -> { };
    }

    /** What {@link #recordRacingClients} recorded, and how clients failed (a client stops at its first failure). */
    private record RacingRun(RegisterHistory history, List<Throwable> failures) {
        RegisterHistory requireNoFailure() {
            assertEquals(List.of(), failures, "client failures");
            return history;
        }
    }

    private static Map<Long, Long> historyInitial() {
        Map<Long, Long> initial = new HashMap<>();
        for (long key : HISTORY_LOADED) {
            initial.put(key, key);
        }
        return initial;
    }

    /**
     * Clients racing on a few keys of shared leaves, over plain and write-tearing transports, leave a history that is
     * linearizable key by key: every get returns what the last write before it left, every put and remove reports the
     * value it replaced, as one map would. Then the structure is sound and holds what a fresh scan finds.
     */
    @ParameterizedTest
    @FieldSource("CONCURRENCY_TRANSPORTS")
    void historiesOfRacingClientsAreLinearizable(String transport) throws Exception {
        try (TestMemoryNode node = startNode(transport)) {
            RegisterHistory history = recordRacingClients(node, UnaryOperator.identity(), 4, 1_500).requireNoFailure();
            RegisterHistory.Result result = history.check(historyInitial()).requireLinearizable();
            assertTrue(result.operations() > 4 * 1_500, "recorded: " + result);
            I fresh = open(node.connect(), 9);
            assertStructureSound(node, fresh.scan(0, -1L, Integer.MAX_VALUE).size());
        }
    }

    /**
     * The check is not vacuous: the same clients, their gets served by a transport that answers some READs from an
     * older state (as a stale cache would; each such state was once real and intact, so no checksum can object), leave
     * a history no map could produce, and the check says so.
     */
    @Test
    void staleReadsAreCaughtByTheHistoryCheck() throws Exception {
        try (TestMemoryNode node = startNode("loopback")) {
            RacingRun run = recordRacingClients(node, UnaryOperator.identity(), StaleReadConnection::new, 4, 1_500);
            RegisterHistory.Result result = run.requireNoFailure().check(historyInitial());
            assertFalse(result.linearizable(), "stale reads must leave a history no map could produce");
        }
    }

    /**
     * A broken write protocol ({@link #brokenWriteProtocol}, for example an unlock applied before the writes it guards)
     * is caught: by the history check, or by the index's own torn-write detection when the broken writes leave a
     * structure whose checksums never pass again (then a client fails with {@link CorruptDataException}).
     */
    @Test
    void aBrokenWriteProtocolIsCaught() throws Exception {
        try (TestMemoryNode node = startNode("loopback")) {
            org.junit.jupiter.api.Assumptions.assumeTrue(brokenWriteProtocol(node.connect()) != null,
                    "this index offers no broken variant");
            RacingRun run = recordRacingClients(node, this::brokenWriteProtocol, 4, 1_500);
            boolean corruptionDetected = run.failures().stream().anyMatch(e -> e instanceof CorruptDataException);
            List<Throwable> others = run.failures().stream().filter(e -> !(e instanceof CorruptDataException)).toList();
            assertEquals(List.of(), others, "failures other than detected corruption");
            assertTrue(corruptionDetected || !run.history().check(historyInitial()).linearizable(),
                    "the broken protocol went unnoticed");
        }
    }

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

    @Test
    void concurrentIncrementsThroughUpdateAreExact() throws Exception {
        long[] keys = {10, 20, 30};
        int threads = 4;
        int incrementsPerThread = 300;
        try (TestMemoryNode node = startNode("loopback")) {
            bulkLoad(node.connect(), keys, new long[keys.length]);
            List<Throwable> failures = new CopyOnWriteArrayList<>();
            List<Thread> workers = new ArrayList<>();
            for (int t = 0; t < threads; t++) {
                I index = open(node.connect(), t + 1);
                workers.add(Thread.ofVirtual().start(() -> {
                    try {
                        for (int i = 0; i < incrementsPerThread; i++) {
                            index.update(keys[i % keys.length], (current, finalDoorbell) -> OptionalLong.of(current.orElse(0) + 1));
                        }
                    } catch (Throwable e) {
                        failures.add(e);
                    }
                }));
            }
            for (Thread worker : workers) {
                worker.join();
            }
            assertTrue(failures.isEmpty(), () -> "failures: " + failures);
            I check = open(node.connect(), threads + 1);
            long total = 0;
            for (long key : keys) {
                total += check.get(key).orElseThrow();
            }
            assertEquals((long) threads * incrementsPerThread, total, "no increment lost, none applied twice");
            assertStructureSound(node, keys.length);
        }
    }

    // ------------------------------------------------------------------ the engine's hooks

    @Test
    void putRunsItsExtrasInTheFirstDoorbellOnceEvenWhenTheLeafSplits() {
        try (TestMemoryNode node = startNode("loopback")) {
            FabricConnection connection = node.connect();
            I index = createEmpty(connection);
            long counter = scratchAddress(connection, 0);
            for (long key = 1; key <= 200; key++) {
                long slot = scratchAddress(connection, 8 * key);
                long word = key * 10;
                FabricCounters.Snapshot before = connection.counters().snapshot();
                long splitsBefore = splits(index);
                WriteResult result = index.put(key, word, batch -> {
                    batch.writeLong(slot, word); // as the engine writes a value block the word names
                    batch.fetchAndAdd(counter, 1);
                });
                assertEquals(OptionalLong.empty(), result.previous());
                assertEquals(OptionalLong.of(word), result.written());
                if (splits(index) == splitsBefore) {
                    assertEquals(2, doorbellsSince(connection, before), "lock + read with the extras, then word + unlock");
                }
                assertEquals(word, scratchWord(node, 8 * key), "the extras ran");
                assertEquals(key, scratchWord(node, 0), "exactly once per put, splits or not");
            }
            assertTrue(splits(index) > 10, "puts split, splits=" + splits(index));
            for (long key = 1; key <= 200; key++) {
                assertEquals(OptionalLong.of(key * 10), index.get(key));
            }
            assertStructureSound(node, 200);
        }
    }

    @Test
    void updateSeesTheWordUnderTheLockAndItsVerbsLandBeforeTheWord() {
        try (TestMemoryNode node = startNode("loopback")) {
            FabricConnection connection = node.connect();
            I index = createEmpty(connection);
            long log = scratchAddress(connection, 0);
            for (long key = 1; key <= 120; key++) {
                index.put(key, key, null);
            }
            for (long key = 1; key <= 300; key++) {
                long expected = key <= 120 ? key : -1;
                long at = key;
                FabricCounters.Snapshot before = connection.counters().snapshot();
                long splitsBefore = splits(index);
                WriteResult result = index.update(key, (current, finalDoorbell) -> {
                    assertEquals(expected, current.orElse(-1), "the word as read under the lock");
                    finalDoorbell.writeLong(log, at);
                    return OptionalLong.of(current.orElse(0) + 1000);
                });
                assertEquals(expected < 0 ? OptionalLong.empty() : OptionalLong.of(expected), result.previous());
                assertEquals(at, scratchWord(node, 0), "the update's verb ran");
                if (splits(index) == splitsBefore) {
                    assertEquals(2, doorbellsSince(connection, before), "the update's verbs share the word's doorbell");
                }
            }
            for (long key = 1; key <= 300; key++) {
                assertEquals(OptionalLong.of((key <= 120 ? key : 0) + 1000), index.get(key));
            }
            // An update with a doorbell of its own while the lock is held (as for a value block): three in all.
            FabricCounters.Snapshot before = connection.counters().snapshot();
            WriteResult own = index.update(3, (current, finalDoorbell) -> {
                DoorbellBatch read = new DoorbellBatch();
                read.read(log, 8);
                connection.execute(read);
                finalDoorbell.writeLong(log, current.getAsLong());
                return OptionalLong.of(current.getAsLong() + 1);
            });
            assertEquals(3, doorbellsSince(connection, before), "lock+read, the update's own read, write+unlock");
            assertEquals(OptionalLong.of(1003), own.previous());
            assertEquals(1003, scratchWord(node, 0));
            assertEquals(OptionalLong.of(1004), index.get(3));
            // An update that deletes, and one that throws: the lock is released and nothing changes.
            assertEquals(OptionalLong.empty(), index.update(5, (current, finalDoorbell) -> OptionalLong.empty()).written());
            assertEquals(OptionalLong.empty(), index.get(5));
            assertThrows(IllegalStateException.class, () -> index.update(6, (current, finalDoorbell) -> {
                throw new IllegalStateException("refused");
            }));
            assertEquals(OptionalLong.of(1006), index.get(6));
            assertEquals(OptionalLong.of(1006), index.remove(6), "the lock was released");
            assertStructureSound(node, 298);
        }
    }

    @Test
    void removeReturnsTheOldWordAndUpdateAllAppliesInOrderAllOrNothing() {
        try (TestMemoryNode node = startNode("loopback")) {
            FabricConnection connection = node.connect();
            I index = createEmpty(connection);
            index.put(7, 70, null);
            assertEquals(OptionalLong.of(70), index.remove(7));
            assertEquals(OptionalLong.empty(), index.remove(7));
            long[] keys = {1, 2, 1};
            WordUpdate[] updates = {
                    (current, finalDoorbell) -> OptionalLong.of(10),
                    (current, finalDoorbell) -> OptionalLong.of(20),
                    (current, finalDoorbell) -> OptionalLong.of(current.orElseThrow() + 1)};
            WriteResult[] results = index.updateAll(keys, updates, null);
            assertEquals(OptionalLong.of(10), results[2].previous(), "the repeated key saw its earlier update");
            assertEquals(OptionalLong.of(11), index.get(1));
            assertEquals(OptionalLong.of(20), index.get(2));

            // Up to maxAtomicBatchKeys keys, a batch whose last update throws links none of its words.
            int atomic = Math.min(8, index.maxAtomicBatchKeys());
            assertTrue(atomic >= 1, "maxAtomicBatchKeys=" + index.maxAtomicBatchKeys());
            long[] batch = new long[atomic];
            WordUpdate[] batchUpdates = new WordUpdate[atomic];
            for (int i = 0; i < atomic; i++) {
                batch[i] = 100 + i;
                boolean last = i == atomic - 1;
                batchUpdates[i] = (current, finalDoorbell) -> {
                    if (last) {
                        throw new IllegalStateException("refused");
                    }
                    return OptionalLong.of(5);
                };
            }
            assertThrows(IllegalStateException.class, () -> index.updateAll(batch, batchUpdates, null));
            for (long key : batch) {
                assertEquals(OptionalLong.empty(), index.get(key), "nothing of the refused batch was linked");
            }
            assertStructureSound(node, 2);
        }
    }

    @Test
    void getAllMatchesTreeMapAndReadsTheLeavesInOneDoorbell() {
        Random random = new Random(20_260_312L);
        TreeMap<Long, Long> oracle = new TreeMap<>(Long::compareUnsigned);
        long[] loaded = randomSortedKeys(random, 5_000);
        long[] words = new long[loaded.length];
        for (int i = 0; i < loaded.length; i++) {
            words[i] = random.nextLong();
            oracle.put(loaded[i], words[i]);
        }
        try (TestMemoryNode node = startNode("loopback")) {
            FabricConnection readerConnection = node.connect();
            bulkLoad(node.connect(), loaded, words);
            I reader = open(readerConnection, 1);
            long[] some = new long[256];
            for (int i = 0; i < some.length; i++) {
                some[i] = random.nextInt(4) == 0 ? random.nextLong() : loaded[random.nextInt(loaded.length)];
            }
            FabricCounters.Snapshot before = readerConnection.counters().snapshot();
            OptionalLong[] got = reader.getAll(some);
            assertEquals(1, doorbellsSince(readerConnection, before), "256 keys, their leaves in one doorbell");
            for (int i = 0; i < some.length; i++) {
                assertEquals(optional(oracle.get(some[i])), got[i]);
            }
            // Another compute node splits leaves the reader's cache does not know of: the reader follows the links.
            I writer = open(node.connect(), 2);
            for (int step = 0; step < 2_000; step++) {
                long key = loaded[random.nextInt(loaded.length)] + 1 + random.nextInt(1_000);
                long word = random.nextLong();
                writer.put(key, word, null);
                oracle.put(key, word);
            }
            assertTrue(splits(writer) > 100, "the writer split, splits=" + splits(writer));
            List<Long> keys = new ArrayList<>(oracle.keySet());
            for (int round = 0; round < 20; round++) {
                long[] batch = new long[1 + random.nextInt(600)];
                for (int i = 0; i < batch.length; i++) {
                    batch[i] = random.nextInt(5) == 0 ? random.nextLong() : keys.get(random.nextInt(keys.size()));
                }
                OptionalLong[] read = reader.getAll(batch);
                for (int i = 0; i < batch.length; i++) {
                    assertEquals(optional(oracle.get(batch[i])), read[i], "key=" + Long.toUnsignedString(batch[i]));
                }
            }
            afterStaleBatchReads(reader);
            assertStructureSound(node, oracle.size());
        }
    }
}
