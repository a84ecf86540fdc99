package io.rolexkv.rolex.index;

import io.rolexkv.common.fabric.FabricConnection;
import io.rolexkv.common.fabric.FabricLimits;
import io.rolexkv.common.fabric.TestMemoryNode;
import io.rolexkv.common.fabric.WordOrder;
import io.rolexkv.rolex.layout.IndexMetaDescriptor;
import io.rolexkv.rolex.layout.TablesDescriptor;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.OptionalLong;
import java.util.Random;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLongArray;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The lean index's compaction and retraining ({@link LeanRetrainer}) against a TreeMap oracle: an index grown from
 * empty by random and by ordered inserts, with deletes, stays exact through every pass, passes the structure checker
 * after each, ends with every key back in a base (no delta leaf left once idle), and racing writers and readers lose no
 * acknowledged write and never see a value go back while the retrainer runs beside them.
 */
class LeanRetrainerTest {
    private static final int EPSILON = 4;
    private static final int GROUP_SIZE = 8;
    private static final int DELTA_CAPACITY = 8;
    private static final LeanRetrainer.Policy POLICY = new LeanRetrainer.Policy(2, 0.125, 32, 256, 1 << 16);

    private static TestMemoryNode node(String transport) {
        return new TestMemoryNode(transport, IndexFixture.regions(64L << 20));
    }

    /** Passes until the index has been idle long enough for every delta leaf to be compacted, and one more. */
    private static void passUntilIdle(LeanRetrainer retrainer) {
        long until = System.nanoTime() + LeanRetrainer.IDLE_NANOS * 3 / 2;
        do {
            LeanRetrainer.PassResult result = retrainer.runPass();
            assertTrue(!result.failed(), () -> "pass failed: " + result.failure());
            java.util.concurrent.locks.LockSupport.parkNanos(LeanRetrainer.IDLE_NANOS / 10);
        } while (System.nanoTime() < until);
        LeanRetrainer.PassResult last = retrainer.runPass();
        assertTrue(!last.failed(), () -> "pass failed: " + last.failure());
    }

    private static void assertMatches(TreeMap<Long, Long> oracle, LeanIndex index) {
        for (Map.Entry<Long, Long> entry : oracle.entrySet()) {
            assertEquals(OptionalLong.of(entry.getValue()), index.get(entry.getKey()),
                    "key " + Long.toUnsignedString(entry.getKey()));
        }
        List<KeyValue> all = index.scan(0, -1L, Integer.MAX_VALUE);
        assertEquals(oracle.size(), all.size(), "keys a full scan returns");
        int i = 0;
        for (Map.Entry<Long, Long> entry : oracle.entrySet()) {
            assertEquals(new KeyValue(entry.getKey(), entry.getValue()), all.get(i++));
        }
    }

    @Test
    void randomInsertsAndDeletesStayExactThroughEveryPassAndEndCompacted() {
        try (TestMemoryNode node = node("loopback")) {
            LeanIndex.createEmpty(node.connect(), new IndexGeometry(EPSILON, GROUP_SIZE, DELTA_CAPACITY, 64));
            LeanIndex index = LeanIndex.open(node.connect());
            LeanRetrainer retrainer = new LeanRetrainer(node.localConnection(), FabricLimits.DEFAULT, POLICY);
            TreeMap<Long, Long> oracle = new TreeMap<>(Long::compareUnsigned);
            Random random = new Random(11);
            List<Long> inserted = new ArrayList<>();
            for (int op = 1; op <= 30_000; op++) {
                int kind = random.nextInt(10);
                if (kind < 7 || inserted.isEmpty()) {
                    long key = random.nextLong();
                    long value = random.nextLong();
                    index.put(key, value, null);
                    oracle.put(key, value);
                    inserted.add(key);
                } else if (kind < 8) {
                    long key = inserted.get(random.nextInt(inserted.size()));
                    assertEquals(oracle.containsKey(key) ? OptionalLong.of(oracle.remove(key)) : OptionalLong.empty(),
                            index.remove(key));
                } else if (kind < 9) {
                    long key = inserted.get(random.nextInt(inserted.size()));
                    long value = random.nextLong();
                    index.put(key, value, null);
                    oracle.put(key, value);
                } else {
                    long key = inserted.get(random.nextInt(inserted.size()));
                    Long expected = oracle.get(key);
                    assertEquals(expected == null ? OptionalLong.empty() : OptionalLong.of(expected), index.get(key));
                }
                if (op % 1_000 == 0) {
                    LeanRetrainer.PassResult pass = retrainer.runPass();
                    assertTrue(!pass.failed(), () -> "pass failed: " + pass.failure());
                    LeanIndexChecker.check(node.connect()).requireSound();
                }
            }
            passUntilIdle(retrainer);
            LeanIndexChecker.Report report = LeanIndexChecker.check(node.connect()).requireSound();
            assertEquals(0, report.deltaLeaves(), "delta leaves left after idle compaction");
            assertEquals(oracle.size(), report.keys() , "live keys the checker counts");
            assertTrue(retrainer.stats().retrains() > 10, "models retrained: " + retrainer.stats());
            assertTrue(index.counters().refreshes() > 0, "the compute node picked up new models");
            assertMatches(oracle, index);
            assertEquals(List.of(LeanIndex.open(node.connect()).view().models), List.of(index.view().models),
                    "models as patched from epoch to epoch, against the whole set as published");
            assertTrue(index.counters().fullReloads() * 2 < index.counters().refreshes(), "refreshes that read the whole set: "
                    + index.counters().fullReloads() + " of " + index.counters().refreshes());
            assertMatches(oracle, LeanIndex.open(node.connect()));
        }
    }

    /**
     * A lookup whose group has delta leaves the cache knows reads them in its one doorbell, and still does on the models
     * of a later epoch that kept that model: what the cache knows of its chains carries over a refresh.
     */
    @Test
    void aKnownChainIsReadInTheLookupsDoorbellBeforeAndAfterARefresh() {
        int perCluster = 2_000;
        long[] keys = new long[2 * perCluster];
        for (int i = 0; i < perCluster; i++) {
            keys[i] = 16L * (i + 1);
            keys[perCluster + i] = (1L << 40) + 16L * (i + 1);
        }
        try (TestMemoryNode node = node("loopback")) {
            FabricConnection connection = node.connect();
            LeanIndex index = LeanIndex.bulkLoad(connection, new IndexGeometry(EPSILON, GROUP_SIZE, DELTA_CAPACITY, 64),
                    keys, keys.clone());
            LeanIndex.View loaded = index.view();
            int modelA = loaded.modelFor(keys[0]);
            int modelB = loaded.modelFor(keys[keys.length - 1]);
            assertTrue(modelA != modelB, "two clusters far apart make two models at least");
            long keyB = keys[keys.length - 10] + 1; // between two base keys of B: a delta leaf
            index.put(keyB, 7, null);
            for (int group = 0; group < 40; group++) { // a delta leaf in each of 40 groups of A: A is due, B is not
                index.put(16L * GROUP_SIZE * group + 1, group, null);
            }
            index.get(keyB);
            assertEquals(1, doorbellsOf(connection, () -> assertEquals(OptionalLong.of(7), index.get(keyB))),
                    "the chain the cache knows, read with the window");

            LeanRetrainer retrainer = new LeanRetrainer(node.localConnection(), FabricLimits.DEFAULT,
                    new LeanRetrainer.Policy(2, 0.125, 0, 2048, 1 << 16)); // A and B too big to merge
            LeanRetrainer.PassResult pass = retrainer.runPass();
            assertTrue(!pass.failed() && pass.retrained() > 0, () -> "a pass that compacts A: " + pass);
            assertEquals(OptionalLong.of(0), index.get(1), "a key of the compacted model: the index refreshes");
            assertTrue(index.view().epoch > loaded.epoch, "the index is on the new epoch's models");
            assertTrue(List.of(index.view().models).contains(loaded.models[modelB]), () -> "B kept as it was: " + pass + " before " + List.of(loaded.models) + " after " + List.of(index.view().models));
            assertEquals(1, doorbellsOf(connection, () -> assertEquals(OptionalLong.of(7), index.get(keyB))),
                    "the chain the cache knew of B, still read with the window on the new models");
        }
    }

    /**
     * Tables space never leaks: every byte below {@code tablesUsed} is a published model's block or free for reuse, in
     * the retrainer that freed it and in one started afresh on the same memory (a memory node restarted with its data),
     * which finds what its predecessor freed and reuses it safely once its grace is over.
     */
    @Test
    void aRetrainerStartedOnExistingMemoryReclaimsTheTablesSpaceItsPredecessorFreed() throws InterruptedException {
        try (TestMemoryNode node = node("loopback")) {
            LeanIndex.createEmpty(node.connect(), new IndexGeometry(EPSILON, GROUP_SIZE, DELTA_CAPACITY, 64));
            LeanIndex index = LeanIndex.open(node.connect());
            LeanRetrainer before = new LeanRetrainer(node.localConnection(), FabricLimits.DEFAULT, POLICY);
            TreeMap<Long, Long> oracle = new TreeMap<>(Long::compareUnsigned);
            Random random = new Random(23);
            insertAndPass(index, before, oracle, random, 8_000);
            assertTrue(before.freedTableBytes() > 0, "compaction freed tables space");
            assertEquals(tablesUsed(node), liveTableBytes(node) + before.freedTableBytes(), "the first retrainer's books");

            LeanRetrainer after = new LeanRetrainer(node.localConnection(), FabricLimits.DEFAULT, POLICY);
            LeanRetrainer.PassResult first = after.runPass();
            assertTrue(!first.failed(), () -> "pass failed: " + first.failure());
            assertEquals(tablesUsed(node) - liveTableBytes(node), after.freedTableBytes(),
                    "a restarted retrainer counts every byte no published model covers as free");

            TimeUnit.NANOSECONDS.sleep(LeanRetrainer.REUSE_GRACE_NANOS + TimeUnit.MILLISECONDS.toNanos(100));
            long usedBefore = tablesUsed(node);
            insertAndPass(index, after, oracle, random, 8_000);
            assertTrue(tablesUsed(node) < usedBefore + after.freedTableBytes() + liveTableBytes(node),
                    "the reclaimed space is reused rather than the region's end pushed on");
            assertEquals(tablesUsed(node), liveTableBytes(node) + after.freedTableBytes(), "the second retrainer's books");
            LeanIndexChecker.check(node.connect()).requireSound();
            assertMatches(oracle, index);
            assertMatches(oracle, LeanIndex.open(node.connect()));
        }
    }

    private static void insertAndPass(LeanIndex index, LeanRetrainer retrainer, TreeMap<Long, Long> oracle, Random random,
                                      int inserts) {
        for (int i = 1; i <= inserts; i++) {
            long key = random.nextLong();
            long value = random.nextLong();
            index.put(key, value, null);
            oracle.put(key, value);
            if (i % 500 == 0) {
                LeanRetrainer.PassResult pass = retrainer.runPass();
                assertTrue(!pass.failed(), () -> "pass failed: " + pass.failure());
            }
        }
    }

    private static long tablesUsed(TestMemoryNode node) {
        FabricConnection connection = node.connect();
        return WordOrder.getLong(IndexLoader.readBytes(connection, IndexLoader.layoutProbe(connection)
                .metaAddress(IndexMetaDescriptor.TABLES_USED_OFFSET), Long.BYTES), 0);
    }

    /** Bytes of the published models' blocks, each to its aligned end. */
    private static long liveTableBytes(TestMemoryNode node) {
        long bytes = 0;
        for (LeanModel model : LeanIndex.open(node.connect()).view().models) {
            bytes += TablesDescriptor.alignedBlockBytes(model.blockBytes());
        }
        return bytes;
    }

    private static long doorbellsOf(FabricConnection connection, Runnable action) {
        long before = connection.counters().snapshot().doorbells();
        action.run();
        return connection.counters().snapshot().doorbells() - before;
    }

    @Test
    void compactedDeltaLeavesAreReusedOnceTheLeafRegionIsUsedUp() {
        // Room for 5,000 delta leaves of 8 keys: what is live at once fits; what 60,000 inserts make over the run does not.
        int capacity = 5_000;
        java.util.Map<String, Long> regions = IndexFixture.regions(
                io.rolexkv.rolex.layout.LeafDescriptor.leafBytes(DELTA_CAPACITY) * (long) capacity + 64);
        regions.put(IndexLayout.META_REGION, 64L << 10); // a recycled-leaf ring of 4,096 slots
        try (TestMemoryNode node = new TestMemoryNode("loopback", regions)) {
            LeanIndex.createEmpty(node.connect(), new IndexGeometry(EPSILON, GROUP_SIZE, DELTA_CAPACITY, 64));
            LeanIndex index = LeanIndex.open(node.connect());
            LeanRetrainer retrainer = new LeanRetrainer(node.localConnection(), FabricLimits.DEFAULT, POLICY);
            TreeMap<Long, Long> oracle = new TreeMap<>(Long::compareUnsigned);
            Random random = new Random(17);
            for (int i = 1; i <= 60_000; i++) {
                long key = random.nextLong();
                index.put(key, ~key, null);
                oracle.put(key, ~key);
                if (i % 200 == 0) {
                    LeanRetrainer.PassResult pass = retrainer.runPass();
                    assertTrue(!pass.failed(), () -> "pass failed: " + pass.failure());
                }
            }
            assertTrue(index.counters().newLeaves() > capacity, "delta leaves made: "
                    + (index.counters().newLeaves()) + " in a region of " + capacity);
            assertTrue(index.leavesRecycled() > 0, "leaves taken from the recycled-leaf ring");
            passUntilIdle(retrainer);
            LeanIndexChecker.check(node.connect()).requireSound();
            assertMatches(oracle, index);
        }
    }

    @Test
    void orderedAppendsGetModelsOfBoundedSizeAndLoseNothing() {
        try (TestMemoryNode node = node("loopback")) {
            LeanIndex.createEmpty(node.connect(), new IndexGeometry(EPSILON, GROUP_SIZE, DELTA_CAPACITY, 16));
            LeanIndex index = LeanIndex.open(node.connect());
            LeanRetrainer retrainer = new LeanRetrainer(node.localConnection(), FabricLimits.DEFAULT, POLICY);
            TreeMap<Long, Long> oracle = new TreeMap<>(Long::compareUnsigned);
            long key = 1L << 40;
            for (int i = 0; i < 20_000; i++) {
                key += 1 + (i % 7);
                index.put(key, i, null);
                oracle.put(key, (long) i);
                if (i % 100 == 0) {
                    LeanRetrainer.PassResult pass = retrainer.runPass();
                    assertTrue(!pass.failed(), () -> "pass failed: " + pass.failure());
                }
            }
            passUntilIdle(retrainer);
            LeanIndexChecker.check(node.connect()).requireSound();
            LeanIndex fresh = LeanIndex.open(node.connect());
            assertTrue(fresh.modelCount() >= 20_000 / POLICY.maxModelKeys(), "models: " + fresh.modelCount());
            assertMatches(oracle, fresh);
        }
    }

    @Test
    void evenlySpacedAppendsLandOnTheRoomsFencesWithoutDeltaLeaves() {
        try (TestMemoryNode node = node("loopback")) {
            LeanIndex.createEmpty(node.connect(), new IndexGeometry(EPSILON, GROUP_SIZE, DELTA_CAPACITY, 16));
            LeanIndex index = LeanIndex.open(node.connect());
            LeanRetrainer retrainer = new LeanRetrainer(node.localConnection(), FabricLimits.DEFAULT, POLICY);
            long first = (1L << 63) + 1_000;
            int n = 0;
            for (; n < 2_000; n++) {
                index.put(first + 10L * n, n, null);
                if (n % 100 == 0) {
                    retrainer.runPass();
                }
            }
            passUntilIdle(retrainer);
            LeanModel room = LeanIndex.open(node.connect()).view().models[LeanIndex.open(node.connect()).modelCount() - 1];
            long lastFence = room.lowKey() + 10L * (room.keyCount() - 1);
            assertTrue(Long.compareUnsigned(lastFence, first + 10L * (n + 100)) > 0, "room for 100 more appends at least");
            long deltaLeavesBefore = index.counters().newLeaves();
            for (; Long.compareUnsigned(first + 10L * n, lastFence) <= 0; n++) {
                index.put(first + 10L * n, n, null);
            }
            assertEquals(deltaLeavesBefore, index.counters().newLeaves(),
                    "delta leaves made by appends that the room's fences predicted");
            for (int i = 0; i < n; i++) {
                assertEquals(OptionalLong.of(i), index.get(first + 10L * i));
            }
            LeanIndexChecker.check(node.connect()).requireSound();
        }
    }

    /**
     * Compaction work stays in proportion to the inserts it absorbs. A bulk-loaded index of models of about the size the
     * optimal PLA gives random keys takes inserts into the range of one model only: compacting that model must not drag
     * its untouched neighbours along (they would be refitted to the same segments), each compaction must absorb several
     * inserts, and once the index has gone idle and been compacted, passes replace nothing more.
     */
    @Test
    void compactionWorkIsBoundedByTheInsertsItAbsorbs() {
        try (TestMemoryNode node = node("loopback")) {
            Random random = new Random(23);
            long[] keys = random.longs(80_000, 1, Long.MAX_VALUE).sorted().distinct().toArray(); // positive: signed order is unsigned order
            LeanIndex.bulkLoad(node.connect(), IndexGeometry.DEFAULT, keys, keys.clone());
            LeanIndex index = LeanIndex.open(node.connect());
            LeanRetrainer retrainer = new LeanRetrainer(node.localConnection(), FabricLimits.DEFAULT, LeanRetrainer.Policy.DEFAULT);
            LeanModel[] models = index.view().models;
            assertTrue(models.length > 100, "models: " + models.length);
            int hot = models.length / 2;
            long low = models[hot].lowKey();
            long span = models[hot + 1].lowKey() - low;
            TreeMap<Long, Long> oracle = new TreeMap<>(Long::compareUnsigned);
            for (long key : keys) {
                oracle.put(key, key);
            }
            int inserts = 400;
            for (int i = 1; i <= inserts; i++) {
                long key = low + 1 + Math.floorMod(random.nextLong(), span - 1);
                index.put(key, i, null);
                oracle.put(key, (long) i);
                if (i % 10 == 0) {
                    LeanRetrainer.PassResult pass = retrainer.runPass();
                    assertTrue(!pass.failed(), () -> "pass failed: " + pass.failure());
                }
            }
            LeanRetrainer.Stats whileInserting = retrainer.stats();
            assertTrue(whileInserting.retrains() > 0, "the hot model was compacted: " + whileInserting);
            assertTrue(whileInserting.retrains() * 8 <= inserts, "models replaced for " + inserts + " inserts into one"
                    + " model's range: " + whileInserting);
            assertTrue(whileInserting.keysRetrained() <= 64L * inserts, "keys copied for " + inserts + " inserts: "
                    + whileInserting);
            passUntilIdle(retrainer);
            long afterIdle = retrainer.stats().retrains();
            for (int i = 0; i < 20; i++) {
                assertTrue(!retrainer.runPass().failed());
            }
            assertEquals(afterIdle, retrainer.stats().retrains(), "models replaced by passes with no insert since");
            LeanIndexChecker.Report report = LeanIndexChecker.check(node.connect()).requireSound();
            assertEquals(0, report.deltaLeaves(), "delta leaves left after idle compaction");
            assertMatches(oracle, index);
        }
    }

    /**
     * Writers own disjoint keys and write increasing versions; readers check no version goes back; the retrainer runs
     * in a background thread all along. At the end every key holds its last acknowledged version.
     */
    @ParameterizedTest
    @ValueSource(strings = {"loopback", "tcp"})
    void racingWritersAndReadersLoseNothingWhileTheRetrainerRuns(String transport) throws Exception {
        int writers = 3;
        int keysPerWriter = 400;
        try (TestMemoryNode node = node(transport)) {
            LeanIndex.createEmpty(node.connect(), new IndexGeometry(EPSILON, GROUP_SIZE, DELTA_CAPACITY, 32));
            LeanRetrainer retrainer = new LeanRetrainer(node.localConnection(), FabricLimits.DEFAULT, POLICY);
            AtomicBoolean running = new AtomicBoolean(true);
            ConcurrentLinkedQueue<Throwable> failures = new ConcurrentLinkedQueue<>();
            long[] keys = new long[writers * keysPerWriter];
            Random random = new Random(5);
            for (int i = 0; i < keys.length; i++) {
                keys[i] = random.nextLong();
            }
            AtomicLongArray acknowledged = new AtomicLongArray(keys.length); // version + 1, 0 = none yet
            List<Thread> threads = new ArrayList<>();
            threads.add(Thread.ofPlatform().start(() -> {
                while (running.get()) {
                    LeanRetrainer.PassResult pass = retrainer.runPass();
                    if (pass.failed()) {
                        failures.add(new AssertionError("pass failed: " + pass.failure()));
                    }
                    java.util.concurrent.locks.LockSupport.parkNanos(200_000);
                }
            }));
            for (int w = 0; w < writers; w++) {
                int writer = w;
                threads.add(Thread.ofPlatform().start(() -> {
                    try {
                        LeanIndex index = LeanIndex.open(node.connect());
                        Random own = new Random(writer);
                        for (int round = 1; round <= 6; round++) {
                            for (int k = 0; k < keysPerWriter; k++) {
                                int slot = writer * keysPerWriter + own.nextInt(keysPerWriter);
                                long version = acknowledged.get(slot);
                                index.put(keys[slot], version, null);
                                acknowledged.set(slot, version + 1);
                            }
                        }
                    } catch (Throwable e) {
                        failures.add(e);
                    }
                }));
            }
            List<Thread> readers = new ArrayList<>();
            for (int r = 0; r < 2; r++) {
                int reader = r;
                readers.add(Thread.ofPlatform().start(() -> {
                    try {
                        LeanIndex index = LeanIndex.open(node.connect());
                        Random own = new Random(100 + reader);
                        long[] seen = new long[keys.length];
                        while (running.get()) {
                            int slot = own.nextInt(keys.length);
                            long floor = acknowledged.get(slot); // acknowledged before the read began
                            OptionalLong value = index.get(keys[slot]);
                            long read = value.isPresent() ? value.getAsLong() + 1 : 0;
                            if (read < floor || read < seen[slot]) {
                                failures.add(new AssertionError("key slot " + slot + " read version " + (read - 1)
                                        + " after " + (Math.max(floor, seen[slot]) - 1) + " was acknowledged or seen"));
                                return;
                            }
                            seen[slot] = read;
                        }
                    } catch (Throwable e) {
                        failures.add(e);
                    }
                }));
            }
            for (Thread thread : threads.subList(1, threads.size())) {
                thread.join(TimeUnit.MINUTES.toMillis(3));
            }
            running.set(false);
            threads.getFirst().join();
            for (Thread reader : readers) {
                reader.join();
            }
            assertTrue(failures.isEmpty(), () -> "failures: " + failures);
            long retrainedWhileRacing = retrainer.stats().retrains();
            passUntilIdle(retrainer);
            LeanIndexChecker.check(node.connect()).requireSound();
            LeanIndex index = LeanIndex.open(node.connect());
            for (int slot = 0; slot < keys.length; slot++) {
                long version = acknowledged.get(slot);
                assertEquals(version == 0 ? OptionalLong.empty() : OptionalLong.of(version - 1), index.get(keys[slot]),
                        "slot " + slot);
            }
            assertTrue(retrainedWhileRacing > 0, "models retrained while writers raced: " + retrainer.stats());
        }
    }
}
