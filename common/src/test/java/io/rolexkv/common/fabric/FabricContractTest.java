package io.rolexkv.common.fabric;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.MethodSource;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

/**
 * The semantics every fabric transport must give, stated as tests: verb results, in-order execution inside a batch,
 * exact cost counters, atomics under many concurrent clients, whole-batch rejection of bad verbs, and prompt failure
 * when the connection is lost. A transport runs the suite by subclassing it and implementing {@link #start}: start
 * serving the given memory and return a {@link Fixture} that opens connections and can kill the server. Most
 * transports need nothing more than {@link Fixture#serving}.
 *
 * <p>Every test gets a fresh memory node (id {@value #MEMORY_NODE_ID}) with two zeroed regions, {@code data}
 * ({@value #DATA_REGION_BYTES} bytes, id 0) and {@code spare} ({@value #SPARE_REGION_BYTES} bytes, id 1), served
 * with the small {@link #LIMITS} so oversize batches are cheap to build. The tests check results against a reference
 * model (a byte array mirroring the region, plain arithmetic for the atomics) and against the memory node's memory
 * itself, read directly through {@link RegisteredMemory#segment(int)}. Random data comes from fixed seeds.
 */
@Timeout(value = 30, unit = TimeUnit.SECONDS)
public abstract class FabricContractTest {
    protected static final int MEMORY_NODE_ID = 3;
    protected static final long DATA_REGION_BYTES = 64 * 1024;
    protected static final long SPARE_REGION_BYTES = 4096;
    /** Small enough that the oversize tests build small batches; every other test stays well inside. */
    protected static final FabricLimits LIMITS = new FabricLimits(64, 16 * 1024);
    /** How long any single completion may take before the test calls it a hang. */
    protected static final long COMPLETION_TIMEOUT_SECONDS = 10;

    /** Where the bad-input tests put the WRITE that must not land: unaligned, and longer than one word. */
    private static final long MARKER_OFFSET = 1024 + 3;
    private static final int MARKER_LENGTH = 44;

    /**
     * A running memory node served by the transport under test. {@link #close()} stops everything the fixture
     * started; the suite closes the {@link RegisteredMemory} itself afterwards.
     */
    public interface Fixture extends AutoCloseable {

        /** A new connection to the memory node, whose counters have {@code totals} as parent (may be null). */
        FabricConnection connect(FabricCounters totals);

        default FabricConnection connect() {
            return connect(null);
        }

        /** Kills the memory node's server, as a crash would: every open connection breaks. */
        void killServer();

        @Override
        void close();

        /** The usual fixture: {@code transport} serves {@code memory} at {@code bindEndpoint} and connects to it. */
        static Fixture serving(FabricTransport transport, RegisteredMemory memory, String bindEndpoint) {
            FabricServer server = transport.serve(memory, bindEndpoint);
            return new Fixture() {
                @Override
                public FabricConnection connect(FabricCounters totals) {
                    return transport.connect(server.endpoint(), totals);
                }

                @Override
                public void killServer() {
                    server.close();
                }

                @Override
                public void close() {
                    try {
                        server.close();
                    } finally {
                        transport.close();
                    }
                }
            };
        }
    }

    /** Starts serving {@code memory}, refusing batches beyond {@code limits}. */
    protected abstract Fixture start(RegisteredMemory memory, FabricLimits limits);

    protected RegisteredMemory memory;
    protected RegionInfo data;
    protected RegionInfo spare;
    protected Fixture fixture;

    @BeforeEach
    void startMemoryNode() {
        memory = new RegisteredMemory(MEMORY_NODE_ID);
        data = memory.allocate("data", DATA_REGION_BYTES);
        spare = memory.allocate("spare", SPARE_REGION_BYTES);
        fixture = start(memory, LIMITS);
    }

    @AfterEach
    void stopMemoryNode() {
        try {
            if (fixture != null) {
                fixture.close();
            }
        } finally {
            memory.close();
        }
    }

    // ---------------------------------------------------------------------------------------------------------------
    // Connection set-up
    // ---------------------------------------------------------------------------------------------------------------

    @Test
    void connectionReportsTheMemoryNodeAndItsRegions() {
        FabricConnection connection = fixture.connect();
        assertTrue(connection.isOpen());
        assertEquals(MEMORY_NODE_ID, connection.memoryNodeId());
        assertEquals(memory.regions(), connection.regions());
        assertEquals(spare, connection.region("spare"));
        IllegalArgumentException missing = assertThrows(IllegalArgumentException.class,
                () -> connection.region("leaves"));
        assertTrue(missing.getMessage().contains("leaves") && missing.getMessage().contains("data"),
                missing.getMessage());
    }

    // ---------------------------------------------------------------------------------------------------------------
    // Verb semantics
    // ---------------------------------------------------------------------------------------------------------------

    @Test
    void readReturnsWhatWasWritten() {
        FabricConnection connection = fixture.connect();
        Random random = new Random(11);
        byte[] model = new byte[8192];
        for (int round = 0; round < 300; round++) {
            int length = 1 + random.nextInt(256);
            int offset = random.nextInt(model.length - length);
            byte[] bytes = randomBytes(random, length);
            connection.execute(writeBatch(address(data, offset), bytes));
            System.arraycopy(bytes, 0, model, offset, length);

            int readLength = 1 + random.nextInt(512);
            int readOffset = random.nextInt(model.length - readLength);
            DoorbellBatch read = new DoorbellBatch();
            read.read(address(data, readOffset), readLength);
            assertArrayEquals(Arrays.copyOfRange(model, readOffset, readOffset + readLength),
                    connection.execute(read).readBytes(0), "round=" + round + " read offset=" + readOffset);
        }
        assertArrayEquals(model, regionBytes(data, 0, model.length), "memory node's own view of the region");
    }

    @Test
    void writesOfOddLengthsAtUnalignedOffsetsChangeExactlyTheirBytes() {
        FabricConnection connection = fixture.connect();
        Random random = new Random(13);
        byte[] model = new byte[(int) DATA_REGION_BYTES];
        int[] lengths = {1, 2, 3, 5, 7, 9, 13, 15, 17, 31, 33, 63, 65, 127};
        int base = 4096;
        for (int length : lengths) {
            for (int misalignment = 0; misalignment < 16; misalignment++) {
                int offset = base + misalignment;
                byte[] bytes = randomNonZeroBytes(random, length);
                connection.execute(writeBatch(address(data, offset), bytes));
                System.arraycopy(bytes, 0, model, offset, length);
                // Read a margin around the write: the neighbours must be exactly what the model says.
                int from = offset - 16;
                int to = offset + length + 16;
                DoorbellBatch read = new DoorbellBatch();
                read.read(address(data, from), to - from);
                assertArrayEquals(Arrays.copyOfRange(model, from, to), connection.execute(read).readBytes(0),
                        "length=" + length + " offset=" + offset);
            }
            base += 256;
        }
        // The region's last bytes are writable: the bounds check is inclusive of the end.
        byte[] tail = randomNonZeroBytes(random, 3);
        connection.execute(writeBatch(address(data, DATA_REGION_BYTES - 3), tail));
        System.arraycopy(tail, 0, model, model.length - 3, 3);
        assertArrayEquals(model, regionBytes(data, 0, model.length));
    }

    @Test
    void compareAndSwapReturnsTheOldValueAndSwapsOnlyOnMatch() {
        FabricConnection connection = fixture.connect();
        long word = address(data, 64);
        connection.execute(writeLongBatch(word, 0x1111));

        DoorbellBatch mismatch = new DoorbellBatch();
        int missed = mismatch.compareAndSwap(word, 0x2222, 0x3333);
        BatchResult missedResult = connection.execute(mismatch);
        assertEquals(0x1111, missedResult.oldValue(missed));
        assertFalse(missedResult.casSucceeded(missed));
        assertEquals(0x1111, readLong(connection, word), "a failed CAS must not change the word");

        DoorbellBatch match = new DoorbellBatch();
        int swapped = match.compareAndSwap(word, 0x1111, 0x3333);
        BatchResult swappedResult = connection.execute(match);
        assertEquals(0x1111, swappedResult.oldValue(swapped));
        assertTrue(swappedResult.casSucceeded(swapped));
        assertEquals(0x3333, readLong(connection, word));

        // All 64 bits take part in the compare and the swap, sign bit included.
        long[][] chain = {{0x3333, -2}, {-2, Long.MIN_VALUE}, {Long.MIN_VALUE, 0xFFFF_FFFFL}, {0xFFFF_FFFFL, 0}};
        for (long[] step : chain) {
            DoorbellBatch batch = new DoorbellBatch();
            int cas = batch.compareAndSwap(word, step[0], step[1]);
            BatchResult result = connection.execute(batch);
            assertTrue(result.casSucceeded(cas), "expected=" + step[0]);
            assertEquals(step[0], result.oldValue(cas));
        }
        DoorbellBatch almost = new DoorbellBatch();
        int nearMiss = almost.compareAndSwap(word, 1L << 32, 7);
        assertFalse(connection.execute(almost).casSucceeded(nearMiss), "a CAS must compare the high half too");
        assertEquals(0, memory.segment(data.id()).get(WordOrder.LONG_UNALIGNED, 64));
    }

    @Test
    void fetchAndAddReturnsTheOldValueAndAddsWithNegativeDeltasAndWrapAround() {
        FabricConnection connection = fixture.connect();
        long word = address(data, 128);
        long[][] deltasAndOldValues = {
                {5, 0}, {-7, 5}, {2, -2}, {0, 0}, {Long.MAX_VALUE, 0}, {1, Long.MAX_VALUE}, {-1, Long.MIN_VALUE},
                {Long.MIN_VALUE, Long.MAX_VALUE}, {1, -1}, {-1, 0}, {1, -1}};
        long model = 0;
        for (long[] step : deltasAndOldValues) {
            DoorbellBatch batch = new DoorbellBatch();
            int add = batch.fetchAndAdd(word, step[0]);
            assertEquals(step[1], connection.execute(batch).oldValue(add), "delta=" + step[0]);
            assertEquals(model, step[1], "the test's own table");
            model += step[0];
            assertEquals(model, readLong(connection, word), "after delta=" + step[0]);
        }
        assertEquals(0, model);
    }

    @Test
    void eightByteWordsAreLittleEndianAsSeenByRead() {
        FabricConnection connection = fixture.connect();
        long word = address(data, 256);
        DoorbellBatch add = new DoorbellBatch();
        add.fetchAndAdd(word, 0x0102030405060708L);
        connection.execute(add);
        DoorbellBatch read = new DoorbellBatch();
        read.read(word, 8);
        assertArrayEquals(new byte[] {8, 7, 6, 5, 4, 3, 2, 1}, connection.execute(read).readBytes(0));
        assertEquals(8, memory.segment(data.id()).get(ValueLayout.JAVA_BYTE, 256));

        // And the other way: bytes written by WRITE are the word the atomics see.
        long other = address(data, 264);
        connection.execute(writeBatch(other, new byte[] {1, 0, 0, 0, 0, 0, 0, (byte) 0x80}));
        DoorbellBatch cas = new DoorbellBatch();
        int swap = cas.compareAndSwap(other, 0x8000_0000_0000_0001L, 0x7F);
        BatchResult result = connection.execute(cas);
        assertTrue(result.casSucceeded(swap), "old=" + Long.toHexString(result.oldValue(swap)));
        DoorbellBatch readBack = new DoorbellBatch();
        readBack.read(other, 8);
        BatchResult bytes = connection.execute(readBack);
        assertArrayEquals(new byte[] {0x7F, 0, 0, 0, 0, 0, 0, 0}, bytes.readBytes(0));
        assertEquals(0x7F, bytes.readLong(0, 0));
    }

    // ---------------------------------------------------------------------------------------------------------------
    // In-order execution within a batch
    // ---------------------------------------------------------------------------------------------------------------

    @Test
    void writeThenReadInOneBatchSeesTheWrite() {
        FabricConnection connection = fixture.connect();
        Random random = new Random(17);
        byte[] first = randomNonZeroBytes(random, 40);
        byte[] second = randomNonZeroBytes(random, 72);
        DoorbellBatch batch = new DoorbellBatch();
        batch.write(address(data, 101), first);
        int afterFirst = batch.read(address(data, 96), 56);
        batch.write(address(data, 97), second);
        int afterSecond = batch.read(address(data, 96), 80);
        BatchResult result = connection.execute(batch);

        byte[] model = new byte[80];
        System.arraycopy(first, 0, model, 5, first.length);
        assertArrayEquals(Arrays.copyOf(model, 56), result.readBytes(afterFirst));
        System.arraycopy(second, 0, model, 1, second.length);
        assertArrayEquals(model, result.readBytes(afterSecond));
    }

    @Test
    void compareAndSwapThenReadInOneBatchSeesTheSwap() {
        FabricConnection connection = fixture.connect();
        long word = address(data, 512);
        DoorbellBatch batch = new DoorbellBatch();
        batch.writeLong(word, 100);
        int firstSwap = batch.compareAndSwap(word, 100, 200);
        int firstRead = batch.read(word, 8);
        int secondSwap = batch.compareAndSwap(word, 100, 300);
        int secondRead = batch.read(word, 8);
        BatchResult result = connection.execute(batch);

        assertTrue(result.casSucceeded(firstSwap), "CAS after WRITE in one batch must see the written word");
        assertEquals(200, result.readLong(firstRead, 0));
        assertFalse(result.casSucceeded(secondSwap));
        assertEquals(200, result.oldValue(secondSwap));
        assertEquals(200, result.readLong(secondRead, 0));
    }

    @Test
    void fetchAndAddTwiceThenReadInOneBatchSeesBothAdds() {
        FabricConnection connection = fixture.connect();
        long word = address(data, 520);
        DoorbellBatch batch = new DoorbellBatch();
        int first = batch.fetchAndAdd(word, 5);
        int second = batch.fetchAndAdd(word, 7);
        int read = batch.read(word, 8);
        BatchResult result = connection.execute(batch);
        assertEquals(0, result.oldValue(first));
        assertEquals(5, result.oldValue(second));
        assertEquals(12, result.readLong(read, 0));
    }

    @Test
    void readBeforeWriteInOneBatchSeesTheOldBytes() {
        FabricConnection connection = fixture.connect();
        Random random = new Random(19);
        byte[] before = randomNonZeroBytes(random, 64);
        byte[] after = randomNonZeroBytes(random, 64);
        connection.execute(writeBatch(address(data, 2048 + 5), before));

        DoorbellBatch batch = new DoorbellBatch();
        int oldRead = batch.read(address(data, 2048 + 5), 64);
        batch.write(address(data, 2048 + 5), after);
        int newRead = batch.read(address(data, 2048 + 5), 64);
        BatchResult result = connection.execute(batch);
        assertArrayEquals(before, result.readBytes(oldRead));
        assertArrayEquals(after, result.readBytes(newRead));
    }

    /**
     * A completion written into a caller's reused {@link CompletionBuffer} says what the reference model says, verb by
     * verb in order, for random mixes of READs (odd lengths, unaligned, empty), WRITEs, CASes that hit and miss, and
     * FAAs, in batches that grow and shrink so the buffer is reused at every size; and counts as one doorbell each.
     */
    @Test
    void executeIntoAReusedBufferGivesEveryVerbsResult() {
        FabricConnection connection = fixture.connect();
        CompletionBuffer buffer = new CompletionBuffer();
        Random random = new Random(41);
        byte[] model = new byte[8192];
        long atomics = 16384; // words the CASes and FAAs work on, mirrored in words[]
        long[] words = new long[8];
        for (int round = 0; round < 300; round++) {
            DoorbellBatch batch = new DoorbellBatch();
            List<Runnable> checks = new ArrayList<>();
            int verbs = 1 + random.nextInt(round % 3 == 0 ? 40 : 6);
            for (int v = 0; v < verbs; v++) {
                switch (random.nextInt(5)) {
                    case 0, 1 -> {
                        int length = random.nextInt(8) == 0 ? 0 : 1 + random.nextInt(round % 2 == 0 ? 700 : 40);
                        int offset = random.nextInt(model.length - length);
                        int verb = batch.read(address(data, offset), length);
                        byte[] expected = Arrays.copyOfRange(model, offset, offset + length);
                        checks.add(() -> {
                            assertEquals(length, buffer.readLength(verb));
                            assertArrayEquals(expected, buffer.readBytes().asSlice(buffer.readOffset(verb), length)
                                    .toArray(ValueLayout.JAVA_BYTE), "READ verb=" + verb);
                            assertArrayEquals(expected, buffer.read(verb).toArray(ValueLayout.JAVA_BYTE));
                            if (length >= Long.BYTES) {
                                assertEquals(WordOrder.getLong(MemorySegment.ofArray(expected), length - Long.BYTES),
                                        buffer.readLong(verb, length - Long.BYTES));
                            }
                        });
                    }
                    case 2 -> {
                        byte[] bytes = randomBytes(random, 1 + random.nextInt(64));
                        int offset = random.nextInt(model.length - bytes.length);
                        batch.write(address(data, offset), bytes);
                        System.arraycopy(bytes, 0, model, offset, bytes.length);
                    }
                    case 3 -> {
                        int word = random.nextInt(words.length);
                        long before = words[word];
                        long expected = random.nextBoolean() ? before : before + 1;
                        long desired = random.nextLong();
                        int verb = batch.compareAndSwap(address(data, atomics + 8L * word), expected, desired);
                        if (expected == before) {
                            words[word] = desired;
                        }
                        checks.add(() -> {
                            assertEquals(before, buffer.oldValue(verb), "CAS verb=" + verb);
                            assertEquals(expected == before, buffer.casSucceeded(verb));
                        });
                    }
                    default -> {
                        int word = random.nextInt(words.length);
                        long before = words[word];
                        long delta = random.nextInt(1000) - 500;
                        int verb = batch.fetchAndAdd(address(data, atomics + 8L * word), delta);
                        words[word] += delta;
                        checks.add(() -> assertEquals(before, buffer.oldValue(verb), "FAA verb=" + verb));
                    }
                }
            }
            long doorbells = connection.counters().snapshot().doorbells();
            connection.execute(batch, buffer);
            assertEquals(batch.size(), buffer.size());
            assertEquals(doorbells + 1, connection.counters().snapshot().doorbells(), "round=" + round);
            checks.forEach(Runnable::run);
        }
        assertArrayEquals(model, regionBytes(data, 0, model.length), "memory node's own view of the region");
    }

    // ---------------------------------------------------------------------------------------------------------------
    // Empty batches and counters
    // ---------------------------------------------------------------------------------------------------------------

    @Test
    void emptyBatchCompletesWithoutADoorbell() throws Exception {
        FabricCounters totals = new FabricCounters();
        FabricConnection connection = fixture.connect(totals);
        BatchResult result = connection.post(new DoorbellBatch()).get(COMPLETION_TIMEOUT_SECONDS, TimeUnit.SECONDS);
        assertEquals(0, result.size());
        assertEquals(0, connection.execute(new DoorbellBatch()).size());
        CompletionBuffer buffer = new CompletionBuffer();
        connection.execute(new DoorbellBatch(), buffer);
        assertEquals(0, buffer.size());
        assertEquals(FabricCounters.Snapshot.ZERO, connection.counters().snapshot());
        assertEquals(FabricCounters.Snapshot.ZERO, totals.snapshot());
    }

    @Test
    void countersRecordEveryDoorbellVerbAndByteAndFeedTheirParent() {
        FabricCounters totals = new FabricCounters();
        FabricConnection first = fixture.connect(totals);
        FabricConnection second = fixture.connect(totals);

        DoorbellBatch mixed = new DoorbellBatch();
        mixed.read(address(data, 3), 13);
        mixed.write(address(data, 4096 + 1), new byte[1]);
        mixed.write(address(data, 4096 + 9), new byte[9]);
        mixed.compareAndSwap(address(data, 0), 0, 1);
        mixed.fetchAndAdd(address(data, 8), 1);
        mixed.write(address(spare, 100), new byte[100]);
        mixed.read(address(spare, 0), 64);
        mixed.fetchAndAdd(address(data, 16), -1);
        FabricCounters.Snapshot mixedCost = new FabricCounters.Snapshot(1, 2, 3, 1, 2, 77, 110);

        DoorbellBatch small = new DoorbellBatch();
        small.read(address(data, 7), 5);
        small.write(address(data, 8000), new byte[3]);
        FabricCounters.Snapshot smallCost = new FabricCounters.Snapshot(1, 1, 1, 0, 0, 5, 3);

        first.execute(mixed);
        assertEquals(mixedCost, first.counters().snapshot());
        first.execute(mixed);
        second.execute(small);
        second.execute(new DoorbellBatch());

        assertEquals(mixedCost.plus(mixedCost), first.counters().snapshot());
        assertEquals(smallCost, second.counters().snapshot());
        assertEquals(mixedCost.plus(mixedCost).plus(smallCost), totals.snapshot());
    }

    // ---------------------------------------------------------------------------------------------------------------
    // Atomics under many concurrent clients
    // ---------------------------------------------------------------------------------------------------------------

    @Test
    void compareAndSwapSpinLockKeepsANonAtomicIncrementExact() throws Exception {
        int connections = 3;
        int threadsPerConnection = 4;
        int incrementsPerThread = 150;
        long lock = address(data, 0);
        long counter = address(data, 64);
        List<FabricConnection> clients = connectMany(connections);
        AtomicLong unlockFailures = new AtomicLong();
        runConcurrently(connections * threadsPerConnection, thread -> {
            FabricConnection connection = clients.get(thread % connections);
            long owner = thread + 1;
            DoorbellBatch acquire = new DoorbellBatch();
            int acquireCas = acquire.compareAndSwap(lock, 0, owner);
            DoorbellBatch readCounter = new DoorbellBatch();
            readCounter.read(counter, 8);
            for (int i = 0; i < incrementsPerThread; i++) {
                while (!connection.execute(acquire).casSucceeded(acquireCas)) {
                    spinWait();
                }
                long value = connection.execute(readCounter).readLong(0, 0);
                // The increment is a plain READ then WRITE: only the lock keeps it exact.
                DoorbellBatch release = new DoorbellBatch();
                release.writeLong(counter, value + 1);
                int releaseCas = release.compareAndSwap(lock, owner, 0);
                if (!connection.execute(release).casSucceeded(releaseCas)) {
                    unlockFailures.incrementAndGet();
                }
            }
        });
        assertEquals(0, unlockFailures.get(), "a lock holder found the lock word not its own");
        FabricConnection check = clients.getFirst();
        assertEquals((long) connections * threadsPerConnection * incrementsPerThread, readLong(check, counter));
        assertEquals(0, readLong(check, lock));
    }

    @Test
    void fetchAndAddFromManyConcurrentClientsSumsExactly() throws Exception {
        int connections = 3;
        int threadsPerConnection = 4;
        int addsPerThread = 300;
        long ticket = address(data, 128);
        long sum = address(spare, 8);
        List<FabricConnection> clients = connectMany(connections);
        ConcurrentLinkedQueue<Long> ticketsSeen = new ConcurrentLinkedQueue<>();
        runConcurrently(connections * threadsPerConnection, thread -> {
            FabricConnection connection = clients.get(thread % connections);
            long delta = (thread % 2 == 0 ? 1 : -1) * (1_000_003L * (thread + 1));
            for (int i = 0; i < addsPerThread; i++) {
                DoorbellBatch batch = new DoorbellBatch();
                int take = batch.fetchAndAdd(ticket, 1);
                batch.fetchAndAdd(sum, delta);
                ticketsSeen.add(connection.execute(batch).oldValue(take));
            }
        });
        int total = connections * threadsPerConnection * addsPerThread;
        long expectedSum = 0;
        for (int thread = 0; thread < connections * threadsPerConnection; thread++) {
            expectedSum += addsPerThread * (thread % 2 == 0 ? 1 : -1) * (1_000_003L * (thread + 1));
        }
        FabricConnection check = clients.getFirst();
        assertEquals(total, readLong(check, ticket));
        assertEquals(expectedSum, readLong(check, sum));
        // Every FAA saw a distinct old value: the tickets are exactly 0 .. total-1.
        long[] tickets = ticketsSeen.stream().mapToLong(Long::longValue).sorted().toArray();
        assertEquals(total, tickets.length);
        for (int i = 0; i < total; i++) {
            assertEquals(i, tickets[i], "ticket handed out twice or skipped");
        }
    }

    @Test
    void concurrentReadsSeeOnlyWordsThatWereWrittenAndNotOverwritten() throws Exception {
        FabricConnection writer = fixture.connect();
        FabricConnection reader = fixture.connect();
        ProbeOutcome outcome = probeConcurrentWritesAndReads(writer, reader, address(data, 4096), 1500, false);
        assertEquals(List.of(), outcome.impossibleWords());
        long last = encodeGeneration(outcome.generationsWritten());
        DoorbellBatch read = new DoorbellBatch();
        read.read(address(data, 4096), PROBE_BYTES);
        BatchResult settled = reader.execute(read);
        for (int word = 0; word < PROBE_WORDS; word++) {
            assertEquals(last, settled.readLong(0, word * 8L), "word " + word + " after the last WRITE completed");
        }
    }

    // ---------------------------------------------------------------------------------------------------------------
    // Bad input: the batch is refused whole, nothing changes, connections stay usable
    // ---------------------------------------------------------------------------------------------------------------

    @Test
    void unknownRegionIsRejected() {
        long bad = GlobalAddress.of(MEMORY_NODE_ID, 9, 0);
        DoorbellBatch batch = batchWithMarkerWriteThen();
        int verb = batch.read(bad, 8);
        assertRejectedWhole(batch, VerbRejectedException.Reason.UNKNOWN_REGION, verb,
                "verb=" + verb, "kind=READ", "address=" + GlobalAddress.toString(bad), "regions=2");
    }

    /** A verb whose range leaves its region. */
    record OutOfBoundsCase(String description, String region, VerbKind kind, long offset, int length) {
        @Override
        public String toString() {
            return description;
        }
    }

    static Stream<OutOfBoundsCase> outOfBoundsCases() {
        return Stream.of(
                new OutOfBoundsCase("READ of one byte at the region's end", "data", VerbKind.READ, DATA_REGION_BYTES, 1),
                new OutOfBoundsCase("WRITE straddling the region's end", "data", VerbKind.WRITE, DATA_REGION_BYTES - 8, 16),
                new OutOfBoundsCase("WRITE longer than the whole region", "spare", VerbKind.WRITE, 0, (int) SPARE_REGION_BYTES + 1),
                new OutOfBoundsCase("CAS on the word just past the end", "spare", VerbKind.CAS, SPARE_REGION_BYTES, 8),
                new OutOfBoundsCase("FAA on the word just past the end", "data", VerbKind.FAA, DATA_REGION_BYTES, 8),
                new OutOfBoundsCase("offset+length overflows a signed 32-bit int", "data", VerbKind.READ, (1L << 31) - 4, 8),
                new OutOfBoundsCase("offset beyond 32 bits, low 32 bits in range", "data", VerbKind.WRITE, (1L << 32) + 16, 16),
                new OutOfBoundsCase("offset near 2^32 wraps a 32-bit end to a small number", "data", VerbKind.READ, (1L << 32) - 4, 16),
                new OutOfBoundsCase("offset+length carries out of the 48-bit offset field", "data", VerbKind.READ, GlobalAddress.MAX_OFFSET, 8),
                new OutOfBoundsCase("aligned FAA at the largest aligned offset", "spare", VerbKind.FAA, GlobalAddress.MAX_OFFSET - 7, 8));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("outOfBoundsCases")
    void outOfBoundsRangeIsRejected(OutOfBoundsCase badCase) {
        RegionInfo region = badCase.region().equals("data") ? data : spare;
        long bad = address(region, badCase.offset());
        DoorbellBatch batch = batchWithMarkerWriteThen();
        int verb = switch (badCase.kind()) {
            case READ -> batch.read(bad, badCase.length());
            case WRITE -> batch.write(bad, new byte[badCase.length()]);
            case CAS -> batch.compareAndSwap(bad, 0, 1);
            case FAA -> batch.fetchAndAdd(bad, 1);
        };
        assertRejectedWhole(batch, VerbRejectedException.Reason.OUT_OF_BOUNDS, verb, "verb=" + verb,
                "kind=" + badCase.kind(), "address=" + GlobalAddress.toString(bad), "region_length=" + region.length());
    }

    @ParameterizedTest(name = "{0} at offset {1}")
    @CsvSource({"CAS, 4", "FAA, 12", "CAS, 1", "FAA, 7", "CAS, 4095"})
    void unalignedAtomicIsRejected(VerbKind kind, long offset) {
        long bad = address(data, 8192 + offset);
        DoorbellBatch batch = batchWithMarkerWriteThen();
        int verb = kind == VerbKind.CAS ? batch.compareAndSwap(bad, 0, 1) : batch.fetchAndAdd(bad, 1);
        assertRejectedWhole(batch, VerbRejectedException.Reason.UNALIGNED_ATOMIC, verb, "verb=" + verb,
                "kind=" + kind, "address=" + GlobalAddress.toString(bad), "alignment=8");
    }

    @Test
    void batchWithMoreVerbsThanTheLimitIsRejected() {
        DoorbellBatch batch = batchWithMarkerWriteThen();
        while (batch.size() <= LIMITS.maxVerbsPerBatch()) {
            batch.read(address(data, batch.size()), 1);
        }
        assertRejectedWhole(batch, VerbRejectedException.Reason.OVERSIZE_BATCH, -1,
                "verbs=" + (LIMITS.maxVerbsPerBatch() + 1), "max_verbs_per_batch=" + LIMITS.maxVerbsPerBatch());
    }

    @Test
    void batchWithMoreBytesThanTheLimitIsRejected() {
        DoorbellBatch batch = batchWithMarkerWriteThen();
        long room = LIMITS.maxBytesPerBatch() - batch.bytesToRead() - batch.bytesToWrite();
        batch.read(address(data, 16384), (int) room + 1);
        assertRejectedWhole(batch, VerbRejectedException.Reason.OVERSIZE_BATCH, -1,
                "bytes=" + (LIMITS.maxBytesPerBatch() + 1), "max_bytes_per_batch=" + LIMITS.maxBytesPerBatch());
    }

    @Test
    void batchesExactlyAtTheLimitsAreAccepted() {
        FabricConnection connection = fixture.connect();
        DoorbellBatch manyVerbs = new DoorbellBatch();
        while (manyVerbs.size() < LIMITS.maxVerbsPerBatch()) {
            manyVerbs.fetchAndAdd(address(data, 8L * manyVerbs.size()), 1);
        }
        assertEquals(LIMITS.maxVerbsPerBatch(), connection.execute(manyVerbs).size());

        DoorbellBatch manyBytes = new DoorbellBatch();
        byte[] payload = randomNonZeroBytes(new Random(23), (int) LIMITS.maxBytesPerBatch() / 2);
        manyBytes.write(address(data, 20000), payload);
        int read = manyBytes.read(address(data, 20000), payload.length);
        assertArrayEquals(payload, connection.execute(manyBytes).readBytes(read));
    }

    @Test
    void wrongMemoryNodeIsRejected() {
        long bad = GlobalAddress.of(MEMORY_NODE_ID + 1, data.id(), 64);
        DoorbellBatch batch = batchWithMarkerWriteThen();
        int verb = batch.write(bad, new byte[16]);
        assertRejectedWhole(batch, VerbRejectedException.Reason.WRONG_MEMORY_NODE, verb, "verb=" + verb,
                "kind=WRITE", "address=" + GlobalAddress.toString(bad), "memory_node=" + MEMORY_NODE_ID);
    }

    /** A batch opening with verbs that would change memory if the batch were not refused whole. */
    private DoorbellBatch batchWithMarkerWriteThen() {
        DoorbellBatch batch = new DoorbellBatch();
        batch.write(address(data, MARKER_OFFSET), marker());
        batch.fetchAndAdd(address(data, 2048), 1);
        batch.write(address(spare, 5), marker());
        return batch;
    }

    private static byte[] marker() {
        byte[] marker = new byte[MARKER_LENGTH];
        Arrays.fill(marker, (byte) 0x5A);
        return marker;
    }

    /**
     * Posts {@code batch} on a connection and checks the whole contract for a refused batch: the future fails with
     * the reason, verb index and a message naming the verb, address and limit; {@code execute} rethrows it as a
     * {@link VerbRejectedException}; no byte of either region changed; the same and another connection work after.
     */
    private void assertRejectedWhole(DoorbellBatch batch, VerbRejectedException.Reason reason, int verbIndex,
                                     String... messageParts) {
        FabricConnection connection = fixture.connect();
        FabricConnection bystander = fixture.connect();
        byte[] dataBefore = regionBytes(data, 0, (int) DATA_REGION_BYTES);
        byte[] spareBefore = regionBytes(spare, 0, (int) SPARE_REGION_BYTES);

        VerbRejectedException rejected = assertInstanceOf(VerbRejectedException.class, failureOf(connection.post(batch)));
        assertEquals(reason, rejected.reason(), rejected.getMessage());
        assertEquals(verbIndex, rejected.verbIndex(), rejected.getMessage());
        for (String part : messageParts) {
            assertTrue(rejected.getMessage().contains(part), "message lacks " + part + ": " + rejected.getMessage());
        }
        VerbRejectedException rethrown = assertThrows(VerbRejectedException.class, () -> connection.execute(batch));
        assertEquals(reason, rethrown.reason());
        VerbRejectedException intoBuffer = assertThrows(VerbRejectedException.class,
                () -> connection.execute(batch, new CompletionBuffer()));
        assertEquals(reason, intoBuffer.reason());
        assertEquals(verbIndex, intoBuffer.verbIndex());

        assertArrayEquals(dataBefore, regionBytes(data, 0, (int) DATA_REGION_BYTES), "data region changed");
        assertArrayEquals(spareBefore, regionBytes(spare, 0, (int) SPARE_REGION_BYTES), "spare region changed");

        assertTrue(connection.isOpen(), "a refused batch must not break the connection");
        DoorbellBatch good = new DoorbellBatch();
        good.write(address(data, MARKER_OFFSET), marker());
        int readBack = good.read(address(data, MARKER_OFFSET), MARKER_LENGTH);
        assertArrayEquals(marker(), connection.execute(good).readBytes(readBack));
        DoorbellBatch other = new DoorbellBatch();
        int otherRead = other.read(address(data, MARKER_OFFSET), MARKER_LENGTH);
        int add = other.fetchAndAdd(address(data, 2048), 1);
        BatchResult otherResult = bystander.execute(other);
        assertArrayEquals(marker(), otherResult.readBytes(otherRead));
        assertEquals(0, otherResult.oldValue(add));
    }

    // ---------------------------------------------------------------------------------------------------------------
    // Connection loss
    // ---------------------------------------------------------------------------------------------------------------

    @Test
    void killingTheServerFailsPendingAndLaterBatchesWithConnectionLost() {
        FabricConnection first = fixture.connect();
        FabricConnection second = fixture.connect();
        readLong(first, address(data, 0));
        readLong(second, address(data, 0));

        List<CompletableFuture<BatchResult>> pending = postMany(first, 32);
        pending.addAll(postMany(second, 32));
        fixture.killServer();
        for (CompletableFuture<BatchResult> completion : pending) {
            assertCompletesOrLost(completion);
        }
        for (FabricConnection connection : List.of(first, second)) {
            for (CompletableFuture<BatchResult> later : postMany(connection, 4)) {
                assertInstanceOf(ConnectionLostException.class, failureOf(later));
            }
            assertThrows(ConnectionLostException.class, () -> connection.execute(smallBatch(0)));
            assertThrows(ConnectionLostException.class, () -> connection.execute(smallBatch(0), new CompletionBuffer()));
            assertFalse(connection.isOpen(), "a connection whose batches fail as lost must not claim to be open");
        }
    }

    @Test
    void connectingAfterTheServerIsKilledFailsWithConnectionLost() {
        fixture.killServer();
        assertThrows(ConnectionLostException.class, () -> fixture.connect());
    }

    @Test
    void closingAConnectionFailsItsPendingAndLaterBatchesOnly() {
        FabricConnection connection = fixture.connect();
        FabricConnection bystander = fixture.connect();
        List<CompletableFuture<BatchResult>> pending = postMany(connection, 32);
        connection.close();
        for (CompletableFuture<BatchResult> completion : pending) {
            assertCompletesOrLost(completion);
        }
        assertFalse(connection.isOpen());
        assertInstanceOf(ConnectionLostException.class, failureOf(connection.post(smallBatch(0))));
        assertThrows(ConnectionLostException.class, () -> connection.execute(smallBatch(0)));
        assertThrows(ConnectionLostException.class, () -> connection.execute(smallBatch(0), new CompletionBuffer()));
        connection.close(); // idempotent

        assertTrue(bystander.isOpen(), "closing one connection must leave the others alone");
        assertArrayEquals(new byte[16], bystander.execute(smallBatch(0)).readBytes(2));
        FabricConnection fresh = fixture.connect();
        assertArrayEquals(new byte[16], fresh.execute(smallBatch(8)).readBytes(2));
    }

    // ---------------------------------------------------------------------------------------------------------------
    // Concurrent WRITE / READ probe (shared with transport-specific tests)
    // ---------------------------------------------------------------------------------------------------------------

    protected static final int PROBE_WORDS = 32;
    protected static final int PROBE_BYTES = PROBE_WORDS * Long.BYTES;

    /**
     * What a reader saw while a writer rewrote one buffer.
     *
     * @param reads              READs completed
     * @param mixedReads         READs whose words did not all carry the same generation
     * @param generationsWritten WRITEs completed, the one before the reader started included
     * @param impossibleWords    words no READ may return (each described, the first ten): words no WRITE wrote, and
     *                           generations older than a WRITE that had completed before the READ was posted
     */
    protected record ProbeOutcome(long reads, long mixedReads, long generationsWritten, List<String> impossibleWords) {
    }

    /**
     * The word a probe WRITE stores for {@code generation}: the generation in the high half, its complement in the
     * low half, so a word stitched from two writes' bytes is caught as well as a value from nowhere.
     */
    protected static long encodeGeneration(long generation) {
        return (generation << 32) | (~generation & 0xFFFF_FFFFL);
    }

    /**
     * A writer WRITEs {@link #PROBE_BYTES} at {@code address} over and over, every word of one WRITE carrying the same
     * generation 1, 2, 3...; this thread READs the same bytes meanwhile. Generation 1 is written before the reader
     * starts, so every word a READ returns must be a generation between the newest whose WRITE had completed when the
     * READ was posted and the newest whose WRITE had begun when it completed. The writer (a virtual thread) runs until
     * it has written {@code generations} times or, with {@code stopAtFirstMixedRead}, until a READ sees words of
     * different generations: a torn read, which the contract allows (READ is atomic only per 8-byte word).
     */
    protected static ProbeOutcome probeConcurrentWritesAndReads(FabricConnection writer, FabricConnection reader,
                                                                long address, int generations,
                                                                boolean stopAtFirstMixedRead) throws Exception {
        AtomicLong begun = new AtomicLong(1);
        AtomicLong written = new AtomicLong(1);
        AtomicBoolean stop = new AtomicBoolean();
        AtomicBoolean readerStarted = new AtomicBoolean();
        List<String> impossible = new ArrayList<>();
        long reads = 0;
        long mixedReads = 0;
        writer.execute(writeBatch(address, probeBuffer(1)));
        try (ExecutorService executor = Executors.newVirtualThreadPerTaskExecutor()) {
            Future<?> writing = executor.submit(() -> {
                while (!readerStarted.get()) {
                    spinWait();
                }
                for (long generation = 2; generation <= generations && !stop.get(); generation++) {
                    byte[] buffer = probeBuffer(generation);
                    begun.set(generation);
                    writer.execute(writeBatch(address, buffer));
                    written.set(generation);
                }
                return null;
            });
            DoorbellBatch read = new DoorbellBatch();
            read.read(address, PROBE_BYTES);
            do {
                long oldestPossible = written.get();
                readerStarted.set(true);
                BatchResult result = reader.execute(read);
                long newestPossible = begun.get();
                reads++;
                boolean mixed = false;
                long first = result.readLong(0, 0);
                for (int word = 0; word < PROBE_WORDS; word++) {
                    long value = result.readLong(0, word * 8L);
                    long generation = value >>> 32;
                    boolean possible = encodeGeneration(generation) == value
                            && generation >= oldestPossible && generation <= newestPossible;
                    if (!possible && impossible.size() < 10) {
                        impossible.add("read=" + reads + " word=" + word + " value=0x" + Long.toHexString(value)
                                + " allowed_generations=[" + oldestPossible + "," + newestPossible + "]");
                    }
                    mixed |= value != first;
                }
                if (mixed) {
                    mixedReads++;
                    if (stopAtFirstMixedRead) {
                        stop.set(true);
                    }
                }
            } while (!writing.isDone() && !stop.get());
            stop.set(true);
            writing.get(COMPLETION_TIMEOUT_SECONDS, TimeUnit.SECONDS);
        }
        return new ProbeOutcome(reads, mixedReads, written.get(), List.copyOf(impossible));
    }

    private static byte[] probeBuffer(long generation) {
        byte[] buffer = new byte[PROBE_BYTES];
        for (int word = 0; word < PROBE_WORDS; word++) {
            WordOrder.putLong(buffer, word * Long.BYTES, encodeGeneration(generation));
        }
        return buffer;
    }

    // ---------------------------------------------------------------------------------------------------------------
    // Helpers
    // ---------------------------------------------------------------------------------------------------------------

    protected long address(RegionInfo region, long offset) {
        return GlobalAddress.of(MEMORY_NODE_ID, region.id(), offset);
    }

    /** The memory node's own view of a region's bytes, bypassing the fabric. */
    protected byte[] regionBytes(RegionInfo region, long offset, int length) {
        return memory.segment(region.id()).asSlice(offset, length).toArray(ValueLayout.JAVA_BYTE);
    }

    protected static DoorbellBatch writeBatch(long address, byte[] bytes) {
        DoorbellBatch batch = new DoorbellBatch();
        batch.write(address, bytes);
        return batch;
    }

    private static DoorbellBatch writeLongBatch(long address, long value) {
        DoorbellBatch batch = new DoorbellBatch();
        batch.writeLong(address, value);
        return batch;
    }

    protected static long readLong(FabricConnection connection, long address) {
        DoorbellBatch batch = new DoorbellBatch();
        batch.read(address, 8);
        return connection.execute(batch).readLong(0, 0);
    }

    /** An FAA of 0 at {@code offset} of the data region, then a 16-byte WRITE and READ: harmless, non-trivial. */
    private DoorbellBatch smallBatch(long offset) {
        DoorbellBatch batch = new DoorbellBatch();
        batch.fetchAndAdd(address(data, offset), 0);
        batch.write(address(data, 30000 + offset), new byte[16]);
        batch.read(address(data, 30000 + offset), 16);
        return batch;
    }

    private List<CompletableFuture<BatchResult>> postMany(FabricConnection connection, int count) {
        List<CompletableFuture<BatchResult>> posted = new ArrayList<>();
        for (int i = 0; i < count; i++) {
            posted.add(connection.post(smallBatch(8L * i)));
        }
        return posted;
    }

    private List<FabricConnection> connectMany(int count) {
        List<FabricConnection> connections = new ArrayList<>();
        for (int i = 0; i < count; i++) {
            connections.add(fixture.connect());
        }
        return connections;
    }

    /** The exception {@code completion} failed with, within the timeout; fails the test if it succeeded or hung. */
    protected static Throwable failureOf(CompletableFuture<BatchResult> completion) {
        try {
            BatchResult result = completion.get(COMPLETION_TIMEOUT_SECONDS, TimeUnit.SECONDS);
            return fail("expected a failed completion, got a result of size=" + result.size());
        } catch (ExecutionException e) {
            return e.getCause();
        } catch (TimeoutException e) {
            return fail("completion still pending after " + COMPLETION_TIMEOUT_SECONDS + " s: a hang", e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return fail("interrupted", e);
        }
    }

    /** A batch pending when its connection broke may have run or not; it must end, and fail only as lost. */
    protected static void assertCompletesOrLost(CompletableFuture<BatchResult> completion) {
        try {
            completion.get(COMPLETION_TIMEOUT_SECONDS, TimeUnit.SECONDS);
        } catch (ExecutionException e) {
            assertInstanceOf(ConnectionLostException.class, e.getCause());
        } catch (TimeoutException e) {
            fail("completion still pending after " + COMPLETION_TIMEOUT_SECONDS + " s: a hang", e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            fail("interrupted", e);
        }
    }

    /** What each concurrent client does; {@code thread} numbers them from 0. */
    @FunctionalInterface
    protected interface ClientBody {
        void run(int thread) throws Exception;
    }

    /** Runs {@code threads} virtual threads and waits for all, rethrowing the first failure. */
    protected static void runConcurrently(int threads, ClientBody body) throws Exception {
        try (ExecutorService executor = Executors.newVirtualThreadPerTaskExecutor()) {
            List<Future<?>> running = new ArrayList<>();
            for (int thread = 0; thread < threads; thread++) {
                int number = thread;
                running.add(executor.submit(() -> {
                    body.run(number);
                    return null;
                }));
            }
            for (Future<?> future : running) {
                future.get(25, TimeUnit.SECONDS);
            }
        }
    }

    private static void spinWait() {
        if (Thread.currentThread().isInterrupted()) {
            throw new IllegalStateException("interrupted while spinning on a lock");
        }
        Thread.yield();
    }

    private static byte[] randomBytes(Random random, int length) {
        byte[] bytes = new byte[length];
        random.nextBytes(bytes);
        return bytes;
    }

    /** Random bytes none of which is zero, so a write that did not land cannot pass for one that did. */
    private static byte[] randomNonZeroBytes(Random random, int length) {
        byte[] bytes = new byte[length];
        for (int i = 0; i < length; i++) {
            bytes[i] = (byte) (1 + random.nextInt(255));
        }
        return bytes;
    }
}
