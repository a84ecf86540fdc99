package io.rolexkv.common.kv;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.function.Executable;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Random;
import java.util.Set;
import java.util.TreeMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.function.UnaryOperator;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

/**
 * The semantics every {@link BaseKV} engine must give, stated as tests against the in-process reference engine
 * ({@link SortedMapKV}) and against plain expectations: random operation sequences with unsigned keys over the whole
 * 64-bit range, every value size that is an edge somewhere (0, 8, 9 bytes, a 128-float embedding, 64 KB, exactly the
 * limit), refusals that leave the store unchanged, batch ordering, scan bounds, update as an atomic read-modify-write,
 * bulk load checks, clear, use after close, and concurrent updates that must lose no increment.
 *
 * <p>An engine runs the suite by subclassing it and implementing {@link #newEngine(int)}; anything the engines need
 * besides themselves (a server, a memory node) is stopped in {@link #releaseResources()}, which runs after every
 * engine the test opened is closed. Random data comes from fixed seeds. The random sequences run
 * {@value #RANDOM_STEPS_DEFAULT} steps unless the system property {@value #RANDOM_STEPS_PROP_NAME} says otherwise
 * (or a subclass overrides {@link #randomSteps()}), so the suite stays fast on a slow fabric and can be turned up
 * for a soak. Closing an engine twice must be harmless: the suite closes every engine after each test, including
 * the ones a test closed itself.
 */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
public abstract class BaseKVContractTest {
    public static final String RANDOM_STEPS_PROP_NAME = "rolexkv.contract.random_steps";
    public static final int RANDOM_STEPS_DEFAULT = 1500;

    /**
     * The limit most tests run with: above 64 KB so a 64 KB value is legal, and not a power of two, so an engine that
     * rounds its limit to a block size shows it at "exactly the limit".
     */
    protected static final int MAX_VALUE_BYTES = 80 * 1024 + 7;
    /** Bytes of a 128-float embedding. */
    protected static final int EMBEDDING_DIMENSIONS = 128;

    /** Keys that sit on an edge of the unsigned order: both ends, and both sides of the signed/unsigned break. */
    private static final long[] EDGE_KEYS = {
            0L, 1L, 2L, 0x7FFF_FFFF_FFFF_FFFEL, Long.MAX_VALUE, Long.MIN_VALUE, 0x8000_0000_0000_0001L, -2L, -1L,
            0xFFFF_FFFFL, 0x1_0000_0000L};

    private final List<BaseKV> engines = new ArrayList<>();

    /** A new, empty engine refusing values longer than {@code maxValueBytes}. */
    protected abstract BaseKV newEngine(int maxValueBytes);

    /** Stops what the engines of one test needed besides themselves; runs after they are all closed. */
    protected void releaseResources() {
    }

    /** How many operations each random sequence runs. */
    protected int randomSteps() {
        int steps = Integer.getInteger(RANDOM_STEPS_PROP_NAME, RANDOM_STEPS_DEFAULT);
        if (steps < 1) {
            throw new IllegalArgumentException(RANDOM_STEPS_PROP_NAME + "=" + steps + " must be >= 1");
        }
        return steps;
    }

    /** An engine that is closed after the test. */
    protected final BaseKV engine(int maxValueBytes) {
        BaseKV engine = newEngine(maxValueBytes);
        engines.add(engine);
        return engine;
    }

    protected final BaseKV engine() {
        return engine(MAX_VALUE_BYTES);
    }

    @AfterEach
    final void closeEngines() {
        try {
            for (BaseKV engine : engines) {
                engine.close();
            }
        } finally {
            engines.clear();
            releaseResources();
        }
    }

    // ---------------------------------------------------------------------------------------------------------------
    // Against the reference engine
    // ---------------------------------------------------------------------------------------------------------------

    @ParameterizedTest(name = "seed={0}")
    @ValueSource(longs = {1, 0xC0FFEE})
    void randomOperationsMatchTheReferenceEngine(long seed) {
        BaseKV engine = engine();
        BaseKV reference = new SortedMapKV(MAX_VALUE_BYTES);
        Random random = new Random(seed);
        long[] keyPool = keyPool(random, 96);
        int steps = randomSteps();
        for (int step = 0; step < steps; step++) {
            String where = "seed=" + seed + " step=" + step;
            int choice = random.nextInt(100);
            if (choice < 22) {
                long key = pick(random, keyPool);
                byte[] value = randomValue(random);
                engine.put(key, value);
                reference.put(key, value);
            } else if (choice < 42) {
                long key = pick(random, keyPool);
                assertOptionalEquals(reference.get(key), engine.get(key), where + " get key=" + Long.toUnsignedString(key));
            } else if (choice < 52) {
                long key = pick(random, keyPool);
                assertEquals(reference.delete(key), engine.delete(key), where + " delete key=" + Long.toUnsignedString(key));
            } else if (choice < 60) {
                int size = random.nextInt(12);
                long[] keys = new long[size];
                List<byte[]> values = new ArrayList<>(size);
                for (int i = 0; i < size; i++) {
                    keys[i] = pick(random, keyPool);
                    values.add(randomValue(random));
                }
                engine.batchPut(keys, values);
                reference.batchPut(keys, values);
            } else if (choice < 70) {
                long[] keys = new long[random.nextInt(16)];
                for (int i = 0; i < keys.length; i++) {
                    keys[i] = pick(random, keyPool);
                }
                assertOptionalListEquals(reference.batchGet(keys), engine.batchGet(keys), where + " batchGet");
            } else if (choice < 80) {
                long from = pick(random, keyPool) + random.nextInt(3) - 1;
                long to = random.nextInt(8) == 0 ? from - 1 : pick(random, keyPool);
                int limit = random.nextInt(6) == 0 ? 0 : random.nextInt(40);
                assertEquals(reference.scan(from, to, limit), engine.scan(from, to, limit),
                        where + " scan from=" + Long.toUnsignedString(from) + " to=" + Long.toUnsignedString(to)
                                + " limit=" + limit);
            } else if (choice < 84) {
                long from = pick(random, keyPool);
                int count = random.nextInt(25);
                assertEquals(reference.scan(from, count), engine.scan(from, count),
                        where + " scan from=" + Long.toUnsignedString(from) + " count=" + count);
            } else {
                long key = pick(random, keyPool);
                UnaryOperator<Optional<byte[]>> function = randomUpdate(random);
                assertOptionalEquals(reference.update(key, function), engine.update(key, function),
                        where + " update key=" + Long.toUnsignedString(key));
            }
        }
        assertSameContents(reference, engine, "seed=" + seed + " at the end");
    }

    @Test
    void keysAreOrderedUnsignedAcrossTheWholeRange() {
        BaseKV engine = engine();
        List<Long> shuffled = new ArrayList<>();
        for (long key : EDGE_KEYS) {
            shuffled.add(key);
        }
        Collections.shuffle(shuffled, new Random(5));
        for (long key : shuffled) {
            engine.put(key, longBytes(key));
        }
        long[] sorted = EDGE_KEYS.clone();
        sortUnsigned(sorted);
        List<KeyValueBytes> all = engine.scan(0, -1L, Integer.MAX_VALUE);
        assertEquals(sorted.length, all.size(), "every edge key comes back: " + all);
        for (int i = 0; i < sorted.length; i++) {
            assertEquals(sorted[i], all.get(i).key(), "position " + i + " of " + all);
            assertArrayEquals(longBytes(sorted[i]), all.get(i).value());
        }
        for (long key : EDGE_KEYS) {
            assertArrayEquals(longBytes(key), engine.get(key).orElseThrow(), "key=" + Long.toUnsignedString(key));
        }
    }

    // ---------------------------------------------------------------------------------------------------------------
    // Values
    // ---------------------------------------------------------------------------------------------------------------

    @ParameterizedTest(name = "bytes={0}")
    @ValueSource(ints = {0, 8, 9, 512, 64 * 1024, MAX_VALUE_BYTES})
    void valuesOfEdgeSizesRoundTripThroughEveryRead(int length) {
        BaseKV engine = engine();
        Random random = new Random(length);
        long key = 0x8000_0000_0000_0000L + length;
        byte[] value = randomBytes(random, length);
        engine.put(key, value);
        engine.put(key + 1, randomBytes(random, 3));

        assertArrayEquals(value, engine.get(key).orElseThrow(), "get");
        MemorySegment view = engine.getView(key).orElseThrow();
        assertEquals(length, view.byteSize(), "getView size");
        assertArrayEquals(value, view.toArray(ValueLayout.JAVA_BYTE), "getView");
        assertArrayEquals(value, engine.batchGet(new long[] {key}).getFirst().orElseThrow(), "batchGet");
        List<KeyValueBytes> scanned = engine.scan(key, key, 10);
        assertEquals(List.of(new KeyValueBytes(key, value)), scanned, "scan");
        assertArrayEquals(value, engine.update(key, current -> current).orElseThrow(), "update returning the same value");
        assertArrayEquals(value, engine.get(key).orElseThrow(), "get after the identity update");

        // The same size through the batch paths.
        byte[] other = randomBytes(random, length);
        engine.batchPut(new long[] {key}, List.of(other));
        assertArrayEquals(other, engine.get(key).orElseThrow(), "after batchPut");
        engine.bulkLoad(new long[] {key - 1, key}, List.of(new byte[0], value));
        assertArrayEquals(value, engine.get(key).orElseThrow(), "after bulkLoad");
        assertArrayEquals(new byte[0], engine.get(key - 1).orElseThrow(), "empty value after bulkLoad");
    }

    @Test
    void anEmbeddingReadsBackAsFloatsThroughGetView() {
        BaseKV engine = engine();
        Random random = new Random(128);
        float[] embedding = new float[EMBEDDING_DIMENSIONS];
        byte[] bytes = new byte[EMBEDDING_DIMENSIONS * Float.BYTES];
        MemorySegment writer = MemorySegment.ofArray(bytes);
        for (int i = 0; i < embedding.length; i++) {
            embedding[i] = (float) random.nextGaussian();
            writer.setAtIndex(ValueLayout.JAVA_FLOAT_UNALIGNED, i, embedding[i]);
        }
        embedding[7] = Float.NaN;
        writer.setAtIndex(ValueLayout.JAVA_FLOAT_UNALIGNED, 7, Float.NaN);
        embedding[8] = -0.0f;
        writer.setAtIndex(ValueLayout.JAVA_FLOAT_UNALIGNED, 8, -0.0f);
        long key = 0xFEED_0000_0000_0001L;
        engine.put(key, bytes);

        MemorySegment view = engine.getView(key).orElseThrow();
        assertTrue(view.isReadOnly(), "getView hands out a read-only view");
        assertEquals(bytes.length, view.byteSize());
        for (int i = 0; i < embedding.length; i++) {
            assertEquals(Float.floatToRawIntBits(embedding[i]),
                    Float.floatToRawIntBits(view.getAtIndex(ValueLayout.JAVA_FLOAT_UNALIGNED, i)), "dimension " + i);
        }
        // The view stays what it was after later calls, including a rewrite of the same key.
        engine.put(key, new byte[bytes.length]);
        engine.get(key);
        engine.getView(key);
        assertArrayEquals(bytes, view.toArray(ValueLayout.JAVA_BYTE), "a view must not change under its reader");
        assertTrue(engine.getView(key + 1).isEmpty(), "a missing key has no view");
    }

    @Test
    void arraysAreCopiedInAndOut() {
        BaseKV engine = engine();
        byte[] value = {1, 2, 3, 4, 5, 6, 7, 8, 9};
        engine.put(10, value);
        value[0] = 99;
        assertArrayEquals(new byte[] {1, 2, 3, 4, 5, 6, 7, 8, 9}, engine.get(10).orElseThrow(),
                "changing the caller's array after put must not change the store");
        byte[] read = engine.get(10).orElseThrow();
        read[1] = 99;
        assertArrayEquals(new byte[] {1, 2, 3, 4, 5, 6, 7, 8, 9}, engine.get(10).orElseThrow(),
                "changing a returned array must not change the store");

        List<byte[]> batch = new ArrayList<>(List.of(new byte[] {1}, new byte[] {2}));
        engine.batchPut(new long[] {11, 12}, batch);
        batch.get(0)[0] = 99;
        assertArrayEquals(new byte[] {1}, engine.get(11).orElseThrow(), "after batchPut");
        engine.scan(0, 100).getFirst().value()[0] = 99;
        assertArrayEquals(new byte[] {1, 2, 3, 4, 5, 6, 7, 8, 9}, engine.get(10).orElseThrow(), "after scan");
    }

    @Test
    void oversizeValuesAreRefusedNamingSizeAndLimitAndNothingIsStored() {
        int limit = 1000;
        BaseKV engine = engine(limit);
        assertEquals(limit, engine.maxValueBytes());
        engine.put(1, new byte[] {1});
        engine.put(2, new byte[limit]);
        Map<Long, byte[]> before = contents(engine);
        byte[] oversize = new byte[limit + 1];

        assertRefusedNaming(() -> engine.put(3, oversize), limit + 1, limit, "put of a new key");
        assertRefusedNaming(() -> engine.put(1, oversize), limit + 1, limit, "put over an existing key");
        assertRefusedNaming(() -> engine.batchPut(new long[] {4, 1, 5}, List.of(new byte[] {4}, oversize, new byte[] {5})),
                limit + 1, limit, "batchPut with one oversize value");
        assertRefusedNaming(() -> engine.update(1, current -> Optional.of(oversize)), limit + 1, limit,
                "update to an oversize value");
        assertRefusedNaming(() -> engine.update(6, current -> Optional.of(oversize)), limit + 1, limit,
                "update of an absent key to an oversize value");
        assertRefusedNaming(() -> engine.bulkLoad(new long[] {7, 8}, List.of(new byte[] {7}, oversize)), limit + 1, limit,
                "bulkLoad with one oversize value");
        assertRefusedNaming(() -> engine.put(9, new byte[limit * 70]), limit * 70, limit, "put of a far larger value");

        assertSameContents(before, engine, "after the refusals");
    }

    @Test
    void malformedBatchesAreRefusedAndNothingIsStored() {
        BaseKV engine = engine();
        engine.put(1, new byte[] {1});
        Map<Long, byte[]> before = contents(engine);
        assertThrows(IllegalArgumentException.class, () -> engine.batchPut(new long[] {2, 3}, List.of(new byte[] {2})));
        assertThrows(IllegalArgumentException.class, () -> engine.bulkLoad(new long[] {2, 3}, List.of(new byte[] {2})));
        assertThrows(IllegalArgumentException.class, () -> engine.put(4, null));
        assertThrows(IllegalArgumentException.class, () -> engine.scan(0, -1L, -1));
        assertSameContents(before, engine, "after the refusals");
    }

    // ---------------------------------------------------------------------------------------------------------------
    // Batches and scans
    // ---------------------------------------------------------------------------------------------------------------

    @Test
    void batchPutWithARepeatedKeyKeepsTheLaterValue() {
        BaseKV engine = engine();
        long key = 0xDEAD_BEEF_0000_0000L;
        engine.batchPut(new long[] {key, 5, key, 6, key}, List.of(
                new byte[] {1}, new byte[] {50}, new byte[] {2, 2}, new byte[] {60}, new byte[] {3, 3, 3}));
        assertArrayEquals(new byte[] {3, 3, 3}, engine.get(key).orElseThrow(), "the last of three wins");
        assertArrayEquals(new byte[] {50}, engine.get(5).orElseThrow());
        assertArrayEquals(new byte[] {60}, engine.get(6).orElseThrow());
        assertEquals(3, engine.scan(0, 100).size(), "one pair per distinct key");

        engine.batchPut(new long[] {key, key}, List.of(new byte[] {9}, new byte[0]));
        assertArrayEquals(new byte[0], engine.get(key).orElseThrow(), "a later empty value still wins");
        engine.batchPut(new long[0], List.of());
        assertEquals(3, engine.scan(0, 100).size(), "an empty batch changes nothing");
    }

    @Test
    void batchGetAnswersInTheOrderAskedWithDuplicatesAndMisses() {
        BaseKV engine = engine();
        engine.put(-1L, new byte[] {1});
        engine.put(0, new byte[] {2});
        engine.put(Long.MIN_VALUE, new byte[0]);
        long[] asked = {Long.MIN_VALUE, 7, -1L, 0, -1L, 7, Long.MIN_VALUE, -1L};
        List<Optional<byte[]>> answers = engine.batchGet(asked);
        assertEquals(asked.length, answers.size());
        assertOptionalListEquals(List.of(Optional.of(new byte[0]), Optional.empty(), Optional.of(new byte[] {1}),
                Optional.of(new byte[] {2}), Optional.of(new byte[] {1}), Optional.empty(), Optional.of(new byte[0]),
                Optional.of(new byte[] {1})), answers, "batchGet");
        assertTrue(engine.batchGet(new long[0]).isEmpty(), "no keys, no answers");

        // Duplicates are separate arrays: changing one answer does not change another.
        List<Optional<byte[]>> twice = engine.batchGet(new long[] {0, 0});
        twice.get(0).orElseThrow()[0] = 99;
        assertArrayEquals(new byte[] {2}, twice.get(1).orElseThrow());
    }

    @Test
    void scanHonoursInclusiveBoundsLimitsAndEmptyRanges() {
        BaseKV engine = engine();
        long[] keys = {0, 10, 20, 30, Long.MAX_VALUE, Long.MIN_VALUE, -10L, -1L};
        for (long key : keys) {
            engine.put(key, longBytes(key));
        }
        assertEquals(keysOf(10, 20, 30), scannedKeys(engine.scan(10, 30, 100)), "both bounds are inclusive");
        assertEquals(keysOf(10, 20), scannedKeys(engine.scan(10, 30, 2)), "the limit cuts from the low end");
        assertEquals(keysOf(20), scannedKeys(engine.scan(11, 29, 100)), "bounds between keys");
        assertEquals(keysOf(20), scannedKeys(engine.scan(20, 20, 100)), "from == to on a key");
        assertEquals(keysOf(), scannedKeys(engine.scan(21, 21, 100)), "from == to off a key");
        assertEquals(keysOf(), scannedKeys(engine.scan(11, 19, 100)), "a range with no key");
        assertEquals(keysOf(), scannedKeys(engine.scan(30, 10, 100)), "from > to");
        assertEquals(keysOf(), scannedKeys(engine.scan(-1L, 0, 100)), "from > to across the whole range");
        assertEquals(keysOf(), scannedKeys(engine.scan(0, -1L, 0)), "limit 0");
        assertEquals(keysOf(Long.MAX_VALUE, Long.MIN_VALUE), scannedKeys(engine.scan(31, -11L, 100)),
                "across the signed break");
        assertEquals(keysOf(-10L, -1L), scannedKeys(engine.scan(-10L, -1L, 100)), "up to the largest key");
        assertEquals(keysOf(0, 10, 20, 30, Long.MAX_VALUE, Long.MIN_VALUE, -10L, -1L),
                scannedKeys(engine.scan(0, -1L, Integer.MAX_VALUE)), "everything, in unsigned order");
        for (KeyValueBytes pair : engine.scan(0, -1L, 100)) {
            assertArrayEquals(longBytes(pair.key()), pair.value(), "value of " + pair);
        }

        assertEquals(keysOf(30, Long.MAX_VALUE, Long.MIN_VALUE), scannedKeys(engine.scan(21, 3)), "scan(from, count)");
        assertEquals(keysOf(-10L, -1L), scannedKeys(engine.scan(Long.MIN_VALUE + 1, 10)), "count beyond the end");
        assertEquals(keysOf(-1L), scannedKeys(engine.scan(-1L, 10)), "from the largest key");
        assertEquals(keysOf(), scannedKeys(engine.scan(5, 0)), "count 0");
        engine.delete(-1L);
        assertEquals(keysOf(), scannedKeys(engine.scan(-9L, 10)), "past the last key");
    }

    @Test
    void scanOfManyLargeValuesReturnsThemAll() {
        BaseKV engine = engine();
        Random random = new Random(64);
        Map<Long, byte[]> expected = new TreeMap<>(Long::compareUnsigned);
        for (int i = 0; i < 48; i++) {
            long key = random.nextLong();
            byte[] value = randomBytes(random, 32 * 1024 + random.nextInt(32 * 1024));
            engine.put(key, value);
            expected.put(key, value);
        }
        assertSameContents(expected, engine, "1.5+ MB of values in one scan");
        List<KeyValueBytes> firstTen = engine.scan(0, 10);
        assertEquals(new ArrayList<>(expected.keySet()).subList(0, 10), scannedKeys(firstTen));
    }

    // ---------------------------------------------------------------------------------------------------------------
    // Update
    // ---------------------------------------------------------------------------------------------------------------

    @Test
    void updateSeesAbsentAndPresentValuesAndDeletesOnEmpty() {
        BaseKV engine = engine();
        long key = -3L;
        List<Optional<byte[]>> seen = new ArrayList<>();

        Optional<byte[]> created = engine.update(key, current -> {
            seen.add(current);
            return Optional.of(new byte[] {1});
        });
        assertTrue(seen.getLast().isEmpty(), "an absent key is seen as empty");
        assertArrayEquals(new byte[] {1}, created.orElseThrow(), "update returns the value it wrote");
        assertArrayEquals(new byte[] {1}, engine.get(key).orElseThrow());

        Optional<byte[]> grown = engine.update(key, current -> {
            seen.add(current);
            byte[] next = Arrays.copyOf(current.orElseThrow(), current.orElseThrow().length + 1);
            next[next.length - 1] = 2;
            return Optional.of(next);
        });
        assertArrayEquals(new byte[] {1}, seen.getLast().orElseThrow(), "a present key is seen with its value");
        assertArrayEquals(new byte[] {1, 2}, grown.orElseThrow());
        assertArrayEquals(new byte[] {1, 2}, engine.get(key).orElseThrow());

        Optional<byte[]> deleted = engine.update(key, current -> Optional.empty());
        assertTrue(deleted.isEmpty(), "returning empty deletes and update says so");
        assertTrue(engine.get(key).isEmpty(), "the key is gone");
        assertFalse(engine.delete(key), "delete finds nothing after the update deleted it");

        assertTrue(engine.update(key, current -> Optional.empty()).isEmpty(), "empty on an absent key");
        assertTrue(engine.get(key).isEmpty(), "still absent");

        assertArrayEquals(new byte[0], engine.update(key, current -> Optional.of(new byte[0])).orElseThrow(),
                "an empty value is a value, not a deletion");
        assertTrue(engine.get(key).isPresent());
        assertEquals(1, engine.scan(0, 10).size());
    }

    @Test
    void updateFunctionMayScribbleOnItsArgumentWithoutChangingTheStore() {
        BaseKV engine = engine();
        engine.put(1, new byte[] {1, 1});
        engine.update(1, current -> {
            current.orElseThrow()[0] = 42;
            return Optional.of(new byte[] {2});
        });
        assertArrayEquals(new byte[] {2}, engine.get(1).orElseThrow());
        engine.update(1, current -> {
            current.orElseThrow()[0] = 42;
            return current;
        });
        assertArrayEquals(new byte[] {42}, engine.get(1).orElseThrow(), "the returned array is what is written");
    }

    @Test
    void concurrentUpdateIncrementsLoseNothing() throws Exception {
        BaseKV engine = engine();
        long[] counters = {0, Long.MIN_VALUE, -1L};
        int threads = 4;
        int incrementsPerThread = Math.max(20, randomSteps() / 10);
        CountDownLatch start = new CountDownLatch(1);
        List<List<Long>> writtenPerKey = new ArrayList<>();
        for (int i = 0; i < counters.length; i++) {
            writtenPerKey.add(Collections.synchronizedList(new ArrayList<>()));
        }
        ExecutorService pool = Executors.newFixedThreadPool(threads);
        try {
            List<Future<?>> workers = new ArrayList<>();
            for (int t = 0; t < threads; t++) {
                long seed = t;
                workers.add(pool.submit(() -> {
                    Random random = new Random(seed);
                    start.await();
                    for (int i = 0; i < incrementsPerThread; i++) {
                        int which = random.nextInt(counters.length);
                        byte[] written = engine.update(counters[which], BaseKVContractTest::increment).orElseThrow();
                        writtenPerKey.get(which).add(counterValue(written));
                    }
                    return null;
                }));
            }
            start.countDown();
            for (Future<?> worker : workers) {
                worker.get(50, TimeUnit.SECONDS);
            }
        } finally {
            pool.shutdownNow();
        }
        long total = 0;
        for (int i = 0; i < counters.length; i++) {
            List<Long> written = new ArrayList<>(writtenPerKey.get(i));
            long count = written.size();
            total += count;
            long stored = count == 0 ? 0 : counterValue(engine.get(counters[i]).orElseThrow());
            assertEquals(count, stored, "key=" + Long.toUnsignedString(counters[i]) + " increments must all land");
            // Each increment wrote a distinct value, 1..count: no two updates read the same old value.
            Set<Long> distinct = new HashSet<>(written);
            assertEquals(count, distinct.size(), "two updates of key=" + Long.toUnsignedString(counters[i])
                    + " saw the same value");
            for (long value = 1; value <= count; value++) {
                assertTrue(distinct.contains(value), "no update wrote " + value);
            }
        }
        assertEquals((long) threads * incrementsPerThread, total);
    }

    // ---------------------------------------------------------------------------------------------------------------
    // Bulk load, clear, close
    // ---------------------------------------------------------------------------------------------------------------

    @Test
    void bulkLoadReplacesTheContents() {
        BaseKV engine = engine();
        engine.put(5, new byte[] {5});
        engine.put(-5L, new byte[] {5});
        Random random = new Random(77);
        int size = 1000;
        long[] keys = new long[size];
        for (int i = 0; i < size; i++) {
            keys[i] = random.nextLong();
        }
        sortUnsigned(keys);
        keys = Arrays.stream(keys).distinct().toArray();
        List<byte[]> values = new ArrayList<>();
        Map<Long, byte[]> expected = new TreeMap<>(Long::compareUnsigned);
        for (long key : keys) {
            byte[] value = randomValue(random);
            values.add(value);
            expected.put(key, value);
        }
        engine.bulkLoad(keys, values);
        assertSameContents(expected, engine, "after bulk load");
        engine.bulkLoad(new long[0], List.of());
        assertTrue(engine.scan(0, 10).isEmpty(), "an empty bulk load leaves an empty store");
    }

    @Test
    void bulkLoadRefusesUnsortedOrDuplicateKeysNamingThePairAndChangesNothing() {
        BaseKV engine = engine();
        engine.put(3, new byte[] {3});
        engine.put(-3L, new byte[] {3});
        Map<Long, byte[]> before = contents(engine);
        List<byte[]> values = List.of(new byte[] {1}, new byte[] {2}, new byte[] {3}, new byte[] {4});

        // Signed order, not unsigned: -2 is above Long.MAX_VALUE. The pair must be named in unsigned form.
        IllegalArgumentException unsorted = assertThrows(IllegalArgumentException.class,
                () -> engine.bulkLoad(new long[] {1, -2L, Long.MAX_VALUE, -1L}, values));
        assertMessageNames(unsorted, Long.toUnsignedString(-2L), Long.toUnsignedString(Long.MAX_VALUE));
        assertSameContents(before, engine, "after the unsorted bulk load");

        IllegalArgumentException duplicate = assertThrows(IllegalArgumentException.class,
                () -> engine.bulkLoad(new long[] {1, 2, 0x9000_0000_0000_0000L, 0x9000_0000_0000_0000L}, values));
        assertMessageNames(duplicate, Long.toUnsignedString(0x9000_0000_0000_0000L), "duplicate");
        assertSameContents(before, engine, "after the duplicate bulk load");
    }

    @Test
    void clearRemovesEveryKeyAndTheStoreStaysUsable() {
        BaseKV engine = engine();
        for (long key : EDGE_KEYS) {
            engine.put(key, longBytes(key));
        }
        engine.clear();
        assertTrue(engine.scan(0, -1L, Integer.MAX_VALUE).isEmpty(), "nothing left");
        for (long key : EDGE_KEYS) {
            assertTrue(engine.get(key).isEmpty(), "key=" + Long.toUnsignedString(key));
        }
        engine.clear();
        engine.put(-1L, new byte[] {1});
        assertArrayEquals(new byte[] {1}, engine.get(-1L).orElseThrow(), "usable after clear");
        assertEquals(1, engine.scan(0, 10).size());
    }

    @Test
    void everyCallAfterCloseThrowsIllegalStateException() {
        BaseKV engine = engine();
        engine.put(1, new byte[] {1});
        engine.close();
        Map<String, Executable> calls = new TreeMap<>();
        calls.put("get", () -> engine.get(1));
        calls.put("getView", () -> engine.getView(1));
        calls.put("put", () -> engine.put(2, new byte[] {2}));
        calls.put("batchGet", () -> engine.batchGet(new long[] {1}));
        calls.put("batchPut", () -> engine.batchPut(new long[] {2}, List.of(new byte[] {2})));
        calls.put("delete", () -> engine.delete(1));
        calls.put("scan(from, to, limit)", () -> engine.scan(0, -1L, 10));
        calls.put("scan(from, count)", () -> engine.scan(0, 10));
        calls.put("update", () -> engine.update(1, current -> current));
        calls.put("bulkLoad", () -> engine.bulkLoad(new long[] {1}, List.of(new byte[] {1})));
        calls.put("clear", engine::clear);
        for (Map.Entry<String, Executable> call : calls.entrySet()) {
            assertThrows(IllegalStateException.class, call.getValue(), call.getKey() + " after close");
        }
    }

    // ---------------------------------------------------------------------------------------------------------------
    // Helpers
    // ---------------------------------------------------------------------------------------------------------------

    /** Adds one to an 8-byte little-endian counter, starting from zero when the key is absent. */
    private static Optional<byte[]> increment(Optional<byte[]> current) {
        long value = current.map(BaseKVContractTest::counterValue).orElse(0L);
        return Optional.of(ByteBuffer.allocate(Long.BYTES).order(ByteOrder.LITTLE_ENDIAN).putLong(value + 1).array());
    }

    private static long counterValue(byte[] bytes) {
        assertEquals(Long.BYTES, bytes.length, "a counter is 8 bytes");
        return ByteBuffer.wrap(bytes).order(ByteOrder.LITTLE_ENDIAN).getLong();
    }

    /**
     * A side-effect-free update chosen by {@code random} now, so it gives the same answer however often the engine
     * runs it: delete, replace with a fresh value, or change the current value (append a byte, bump the first).
     */
    private static UnaryOperator<Optional<byte[]>> randomUpdate(Random random) {
        int kind = random.nextInt(4);
        byte[] fresh = randomValue(random);
        byte extra = (byte) random.nextInt();
        return switch (kind) {
            case 0 -> current -> Optional.empty();
            case 1 -> current -> Optional.of(fresh.clone());
            case 2 -> current -> current.map(value -> {
                byte[] next = Arrays.copyOf(value, Math.min(value.length + 1, MAX_VALUE_BYTES));
                next[next.length - 1] = extra;
                return next;
            }).or(() -> Optional.of(fresh.clone()));
            default -> current -> current.filter(value -> value.length > 0).map(value -> {
                byte[] next = value.clone();
                next[0]++;
                return next;
            });
        };
    }

    /** Keys spread over the whole unsigned range, the edge keys, and a few close neighbours so scans find runs. */
    private static long[] keyPool(Random random, int size) {
        long[] pool = new long[size];
        System.arraycopy(EDGE_KEYS, 0, pool, 0, EDGE_KEYS.length);
        for (int i = EDGE_KEYS.length; i < size; i++) {
            pool[i] = i % 4 == 0 ? pool[i - 1] + 1 + random.nextInt(3) : random.nextLong();
        }
        return pool;
    }

    private static long pick(Random random, long[] pool) {
        return pool[random.nextInt(pool.length)];
    }

    /** Mostly small values, the 8/9-byte edge often, now and then a few KB. */
    private static byte[] randomValue(Random random) {
        int choice = random.nextInt(100);
        int length;
        if (choice < 8) {
            length = 0;
        } else if (choice < 20) {
            length = 8;
        } else if (choice < 28) {
            length = 9;
        } else if (choice < 95) {
            length = 1 + random.nextInt(100);
        } else {
            length = 1 + random.nextInt(8 * 1024);
        }
        return randomBytes(random, length);
    }

    protected static byte[] randomBytes(Random random, int length) {
        byte[] bytes = new byte[length];
        random.nextBytes(bytes);
        return bytes;
    }

    protected static byte[] longBytes(long value) {
        return ByteBuffer.allocate(Long.BYTES).order(ByteOrder.LITTLE_ENDIAN).putLong(value).array();
    }

    private static void sortUnsigned(long[] keys) {
        for (int i = 0; i < keys.length; i++) {
            keys[i] ^= Long.MIN_VALUE;
        }
        Arrays.sort(keys);
        for (int i = 0; i < keys.length; i++) {
            keys[i] ^= Long.MIN_VALUE;
        }
    }

    private static List<Long> keysOf(long... keys) {
        return Arrays.stream(keys).boxed().toList();
    }

    private static List<Long> scannedKeys(List<KeyValueBytes> pairs) {
        return pairs.stream().map(KeyValueBytes::key).toList();
    }

    /** Everything in {@code engine}, read by a full scan. */
    private static Map<Long, byte[]> contents(BaseKV engine) {
        Map<Long, byte[]> contents = new TreeMap<>(Long::compareUnsigned);
        for (KeyValueBytes pair : engine.scan(0, -1L, Integer.MAX_VALUE)) {
            contents.put(pair.key(), pair.value());
        }
        return contents;
    }

    private static void assertSameContents(BaseKV reference, BaseKV engine, String where) {
        assertSameContents(contents(reference), engine, where);
    }

    /** Compares by full scan, then each key by get, so a store whose scan and get disagree fails too. */
    private static void assertSameContents(Map<Long, byte[]> expected, BaseKV engine, String where) {
        List<KeyValueBytes> scanned = engine.scan(0, -1L, Integer.MAX_VALUE);
        List<KeyValueBytes> wanted = expected.entrySet().stream()
                .map(entry -> new KeyValueBytes(entry.getKey(), entry.getValue())).toList();
        assertEquals(wanted, scanned, where + ": full scan");
        for (Map.Entry<Long, byte[]> entry : expected.entrySet()) {
            assertArrayEquals(entry.getValue(), engine.get(entry.getKey()).orElseThrow(),
                    where + ": get key=" + Long.toUnsignedString(entry.getKey()));
        }
    }

    private static void assertOptionalEquals(Optional<byte[]> expected, Optional<byte[]> actual, String where) {
        assertEquals(expected.isPresent(), actual.isPresent(), where + ": present");
        expected.ifPresent(bytes -> assertArrayEquals(bytes, actual.orElseThrow(), where + ": value"));
    }

    private static void assertOptionalListEquals(List<Optional<byte[]>> expected, List<Optional<byte[]>> actual,
                                                 String where) {
        assertEquals(expected.size(), actual.size(), where + ": answers");
        for (int i = 0; i < expected.size(); i++) {
            assertOptionalEquals(expected.get(i), actual.get(i), where + " [" + i + "]");
        }
    }

    private static void assertRefusedNaming(Executable call, int size, int limit, String what) {
        IllegalArgumentException refused = assertThrows(IllegalArgumentException.class, call, what);
        assertMessageNames(refused, String.valueOf(size), String.valueOf(limit));
    }

    private static void assertMessageNames(Exception exception, String... parts) {
        String message = exception.getMessage();
        if (message == null) {
            fail("no message in " + exception);
        }
        for (String part : parts) {
            assertTrue(message.contains(part), "message should name " + part + ": " + message);
        }
    }
}
