package io.rolexkv.common.fabric.fault;

import io.rolexkv.common.fabric.BatchResult;
import io.rolexkv.common.fabric.ConnectionLostException;
import io.rolexkv.common.fabric.DoorbellBatch;
import io.rolexkv.common.fabric.FabricConnection;
import io.rolexkv.common.fabric.FabricContractTest;
import io.rolexkv.common.fabric.FabricCounters;
import io.rolexkv.common.fabric.FabricLimits;
import io.rolexkv.common.fabric.GlobalAddress;
import io.rolexkv.common.fabric.RegionInfo;
import io.rolexkv.common.fabric.RegisteredMemory;
import io.rolexkv.common.fabric.VerbKind;
import io.rolexkv.common.fabric.VerbRejectedException;
import io.rolexkv.common.fabric.loopback.LoopbackTransport;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import java.util.TreeSet;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The fault-injecting decorator over loopback, with latency and tearing on, against the whole fabric contract (the
 * faults must never break a promise the contract makes), plus the faults' own behaviour: torn WRITEs visible to
 * concurrent readers, how a WRITE is cut and ordered, honest counters, post order, and dropped connections.
 */
class FaultInjectingFabricTest extends FabricContractTest {
    private static final FaultPlan CONTRACT_PLAN = FaultPlan.builder()
            .seed(7)
            .randomLatencyMicros(100)
            .tearWrites(0.75, 4, 30)
            .build();

    private final List<AutoCloseable> opened = new ArrayList<>();
    private ScheduledExecutorService scheduler;

    @Override
    protected Fixture start(RegisteredMemory memory, FabricLimits limits) {
        return Fixture.serving(new FaultInjectingTransport(new LoopbackTransport(limits), CONTRACT_PLAN, limits),
                memory, "fault-injected-memory-node");
    }

    @AfterEach
    void closeExtras() throws Exception {
        for (AutoCloseable closeable : opened.reversed()) {
            closeable.close();
        }
        if (scheduler != null) {
            scheduler.shutdownNow();
        }
    }

    /** A second transport over the same memory node with its own plan. */
    private FaultInjectingTransport transportWith(FaultPlan plan, String endpoint) {
        FaultInjectingTransport transport = new FaultInjectingTransport(new LoopbackTransport(LIMITS), plan, LIMITS);
        opened.add(transport);
        transport.serve(memory, endpoint);
        return transport;
    }

    /** A decorated connection whose delegate records every batch it is handed. */
    private FaultInjectingConnection recordedConnection(FaultPlan plan, RecordingConnection[] recorder) {
        LoopbackTransport loopback = new LoopbackTransport(LIMITS);
        opened.add(loopback);
        String endpoint = "recorded-memory-node";
        loopback.serve(memory, endpoint);
        recorder[0] = new RecordingConnection(loopback.connect(endpoint, null));
        if (scheduler == null) {
            scheduler = Executors.newSingleThreadScheduledExecutor();
        }
        return new FaultInjectingConnection(recorder[0], plan, LIMITS, null, scheduler);
    }

    // ---------------------------------------------------------------------------------------------------------------
    // Torn WRITEs
    // ---------------------------------------------------------------------------------------------------------------

    @Test
    void tornWritesAreSeenMixedByConcurrentReadersButNeverInventOrRevertWords() throws Exception {
        FaultInjectingTransport transport = transportWith(FaultPlan.builder().seed(3).tearWrites(1.0, 4, 50).build(),
                "torn");
        FabricConnection writer = transport.connect("torn", null);
        FabricConnection reader = transport.connect("torn", null);
        ProbeOutcome outcome = probeConcurrentWritesAndReads(writer, reader, address(data, 8192), 20_000, true);
        assertEquals(List.of(), outcome.impossibleWords());
        assertTrue(outcome.mixedReads() >= 1, "no torn read seen in reads=" + outcome.reads()
                + " generations=" + outcome.generationsWritten());
    }

    @Test
    void withoutTearingLoopbackReadsStillNeverInventWords() throws Exception {
        try (LoopbackTransport loopback = new LoopbackTransport(LIMITS)) {
            loopback.serve(memory, "untorn");
            FabricConnection writer = loopback.connect("untorn", null);
            FabricConnection reader = loopback.connect("untorn", null);
            ProbeOutcome outcome = probeConcurrentWritesAndReads(writer, reader, address(data, 8192), 3000, false);
            assertEquals(List.of(), outcome.impossibleWords());
            assertEquals(3000, outcome.generationsWritten());
        }
    }

    @Test
    void tornWriteIsCutAtAlignedAddressesAndRunsOutOfOrderBetweenItsNeighbours() {
        long writeOffset = 4099;
        int writeLength = 203;
        byte[] payload = new byte[writeLength];
        new Random(5).nextBytes(payload);
        TreeSet<Integer> pieceCounts = new TreeSet<>();
        for (long seed = 1; seed <= 40; seed++) {
            RecordingConnection[] recorder = new RecordingConnection[1];
            FaultInjectingConnection connection = recordedConnection(
                    FaultPlan.builder().seed(seed).tearWrites(1.0, 4, 0).build(), recorder);
            DoorbellBatch batch = new DoorbellBatch();
            int before = batch.fetchAndAdd(address(spare, 0), 1);
            batch.write(address(data, writeOffset), payload);
            int read = batch.read(address(data, writeOffset), writeLength);
            int after = batch.fetchAndAdd(address(spare, 0), 1);
            BatchResult result = connection.execute(batch);

            assertEquals(2 * (seed - 1), result.oldValue(before), "seed=" + seed);
            assertEquals(2 * (seed - 1) + 1, result.oldValue(after), "seed=" + seed);
            assertArrayEquals(payload, result.readBytes(read), "seed=" + seed);

            List<List<RecordingConnection.Verb>> wire = recorder[0].posted();
            int pieces = wire.size() - 2;
            pieceCounts.add(pieces);
            assertTrue(pieces >= 2 && pieces <= 4, "seed=" + seed + " pieces=" + pieces);
            assertEquals(List.of(new RecordingConnection.Verb(VerbKind.FAA, address(spare, 0), 8)), wire.getFirst(),
                    "the verbs before the torn WRITE go first, alone");
            assertEquals(List.of(new RecordingConnection.Verb(VerbKind.READ, address(data, writeOffset), writeLength),
                            new RecordingConnection.Verb(VerbKind.FAA, address(spare, 0), 8)), wire.getLast(),
                    "the verbs after the torn WRITE go last, together");
            List<long[]> ranges = new ArrayList<>();
            for (List<RecordingConnection.Verb> piece : wire.subList(1, wire.size() - 1)) {
                assertEquals(1, piece.size(), "each piece is its own doorbell");
                RecordingConnection.Verb verb = piece.getFirst();
                assertEquals(VerbKind.WRITE, verb.kind());
                long start = GlobalAddress.offset(verb.address());
                ranges.add(new long[] {start, start + verb.length()});
            }
            assertFalse(isAscending(ranges), "seed=" + seed + " pieces applied in address order");
            ranges.sort((left, right) -> Long.compare(left[0], right[0]));
            assertEquals(writeOffset, ranges.getFirst()[0]);
            assertEquals(writeOffset + writeLength, ranges.getLast()[1]);
            for (int i = 1; i < ranges.size(); i++) {
                assertEquals(ranges.get(i - 1)[1], ranges.get(i)[0], "pieces tile the WRITE without gap or overlap");
                assertEquals(0, ranges.get(i)[0] % 8, "cut at an unaligned address, seed=" + seed);
            }
        }
        assertEquals(new TreeSet<>(List.of(2, 3, 4)), pieceCounts, "every piece count up to the maximum occurs");
    }

    private static boolean isAscending(List<long[]> ranges) {
        for (int i = 1; i < ranges.size(); i++) {
            if (ranges.get(i)[0] < ranges.get(i - 1)[0]) {
                return false;
            }
        }
        return true;
    }

    @Test
    void batchTheMemoryNodeWouldRefuseIsPassedWholeSoNothingLands() {
        RecordingConnection[] recorder = new RecordingConnection[1];
        FaultInjectingConnection connection = recordedConnection(
                FaultPlan.builder().tearWrites(1.0, 4, 0).build(), recorder);
        byte[] before = regionBytes(data, 0, 4096);
        DoorbellBatch unknownRegion = new DoorbellBatch();
        unknownRegion.write(address(data, 64), new byte[64]);
        unknownRegion.write(address(data, 200), filled(96, (byte) 1));
        unknownRegion.read(GlobalAddress.of(MEMORY_NODE_ID, 7, 0), 8);
        DoorbellBatch oversize = new DoorbellBatch();
        oversize.write(address(data, 64), filled(64, (byte) 2));
        oversize.read(address(data, 8192), (int) LIMITS.maxBytesPerBatch() - 63);

        for (DoorbellBatch bad : List.of(unknownRegion, oversize)) {
            recorder[0].forget();
            assertThrows(VerbRejectedException.class, () -> connection.execute(bad));
            assertEquals(1, recorder[0].posted().size(), "a refused batch must reach the node whole");
            assertEquals(bad.size(), recorder[0].posted().getFirst().size());
        }
        assertArrayEquals(before, regionBytes(data, 0, 4096));
    }

    // ---------------------------------------------------------------------------------------------------------------
    // Counters and order
    // ---------------------------------------------------------------------------------------------------------------

    @Test
    void countersReportWhatTheCallerPostedWhileWireCountersSeeThePieces() {
        FaultInjectingTransport transport = transportWith(FaultPlan.builder().tearWrites(1.0, 4, 0).build(), "count");
        FabricCounters totals = new FabricCounters();
        FabricConnection connection = transport.connect("count", totals);
        for (int i = 0; i < 3; i++) {
            DoorbellBatch batch = new DoorbellBatch();
            batch.write(address(data, 64L * i), new byte[64]);
            batch.read(address(data, 1000), 8);
            connection.execute(batch);
        }
        FabricCounters.Snapshot callerView = new FabricCounters.Snapshot(3, 3, 3, 0, 0, 24, 192);
        assertEquals(callerView, connection.counters().snapshot());
        assertEquals(callerView, totals.snapshot());
        FabricCounters.Snapshot wire = transport.wireCounters().snapshot();
        assertTrue(wire.doorbells() >= 3 * 3, "two or more pieces plus the READ per batch: " + wire);
        assertEquals(wire.doorbells() - 3, wire.writes(), "one WRITE per piece: " + wire);
        assertEquals(192, wire.bytesWritten(), "pieces carry exactly the WRITE's bytes: " + wire);
        assertEquals(24, wire.bytesRead());
    }

    @Test
    void latencyDelaysTheCompletionWithoutHoldingThePoster() throws Exception {
        // The timer's only thread is held until the test lets go, so the delayed batch cannot run before that, however
        // slowly this thread is scheduled: post must return with the batch pending, and complete once time may pass.
        scheduler = Executors.newSingleThreadScheduledExecutor();
        CountDownLatch timerHeld = new CountDownLatch(1);
        CountDownLatch letGo = new CountDownLatch(1);
        scheduler.execute(() -> {
            timerHeld.countDown();
            awaitQuietly(letGo);
        });
        timerHeld.await();
        RecordingConnection[] recorder = new RecordingConnection[1];
        FaultInjectingConnection connection = recordedConnection(FaultPlan.builder().fixedLatencyMicros(1000).build(),
                recorder);
        DoorbellBatch batch = new DoorbellBatch();
        int add = batch.fetchAndAdd(address(data, 0), 9);
        CompletableFuture<BatchResult> completion = connection.post(batch);
        assertFalse(completion.isDone(), "the batch ran in the posting thread, ignoring its latency");
        assertEquals(List.of(), recorder[0].posted(), "the batch reached the delegate before its latency");
        letGo.countDown();
        assertEquals(0, FabricConnection.await(completion).oldValue(add));
        assertEquals(9, readLong(connection, address(data, 0)));
    }

    private static void awaitQuietly(CountDownLatch latch) {
        try {
            latch.await();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    @Test
    void batchesOfOneConnectionReachTheMemoryNodeInPostOrder() {
        FaultInjectingTransport transport = transportWith(FaultPlan.builder().seed(11).randomLatencyMicros(500)
                .build(), "ordered");
        FabricConnection connection = transport.connect("ordered", null);
        long word = address(data, 0);
        List<CompletableFuture<BatchResult>> posted = new ArrayList<>();
        for (int value = 1; value <= 200; value++) {
            // The latencies are drawn independently, so a later WRITE often draws less than an earlier one.
            DoorbellBatch batch = new DoorbellBatch();
            batch.writeLong(word, value);
            batch.read(word, 8);
            posted.add(connection.post(batch));
        }
        for (int value = 1; value <= 200; value++) {
            assertEquals(value, FabricConnection.await(posted.get(value - 1)).readLong(1, 0), "batch " + value);
        }
        assertEquals(200, readLong(connection, word));
    }

    // ---------------------------------------------------------------------------------------------------------------
    // Dropped connections
    // ---------------------------------------------------------------------------------------------------------------

    @Test
    void droppingAfterBatchesFailsTheNextAndEveryLaterBatch() {
        FaultInjectingTransport transport = transportWith(FaultPlan.builder().dropAfterBatches(3).build(), "flaky");
        FabricConnection connection = transport.connect("flaky", null);
        DoorbellBatch add = new DoorbellBatch();
        add.fetchAndAdd(address(data, 0), 1);
        for (int i = 0; i < 3; i++) {
            assertEquals(i, connection.execute(add).oldValue(0));
        }
        ConnectionLostException lost = assertThrows(ConnectionLostException.class, () -> connection.execute(add));
        assertTrue(lost.getMessage().contains("drop"), lost.getMessage());
        assertFalse(connection.isOpen());
        assertInstanceOf(ConnectionLostException.class, failureOf(connection.post(add)));
        assertInstanceOf(ConnectionLostException.class, failureOf(connection.post(new DoorbellBatch())));
        assertEquals(3, connection.counters().snapshot().doorbells(), "batches that never went out are not costs");

        // The memory node and other connections are untouched: only the dropped connection's batches failed.
        FabricConnection other = transport.connect("flaky", null);
        assertEquals(3, readLong(other, address(data, 0)));
    }

    @Test
    void droppingNowFailsPendingBatchesAtOnceAndNoneOfThemLands() {
        FaultInjectingTransport transport = transportWith(FaultPlan.builder().fixedLatencyMicros(1_000_000).build(),
                "doomed");
        FabricConnection first = transport.connect("doomed", null);
        FabricConnection second = transport.connect("doomed", null);
        List<CompletableFuture<BatchResult>> pending = new ArrayList<>();
        for (FabricConnection connection : List.of(first, second)) {
            for (int i = 0; i < 5; i++) {
                DoorbellBatch batch = new DoorbellBatch();
                batch.fetchAndAdd(address(data, 8L * i), 1);
                pending.add(connection.post(batch));
            }
        }
        ((FaultInjectingConnection) first).drop();
        for (CompletableFuture<BatchResult> completion : pending.subList(0, 5)) {
            assertTrue(completion.isCompletedExceptionally(), "drop() must fail pending batches itself, not later");
            assertInstanceOf(ConnectionLostException.class, failureOf(completion));
        }
        assertTrue(second.isOpen(), "dropping one connection leaves the others");
        transport.dropAll();
        for (CompletableFuture<BatchResult> completion : pending.subList(5, 10)) {
            assertTrue(completion.isCompletedExceptionally());
            assertInstanceOf(ConnectionLostException.class, failureOf(completion));
        }
        assertFalse(first.isOpen());
        assertFalse(second.isOpen());
        assertThrows(ConnectionLostException.class, () -> second.execute(new DoorbellBatch()));
        assertArrayEquals(new byte[40], regionBytes(data, 0, 40), "a batch failed as lost before it left must not land");
    }

    @Test
    void lossReportedByTheDelegateFailsEveryPendingBatchAtOnce() {
        HeldConnection held = new HeldConnection(memory);
        if (scheduler == null) {
            scheduler = Executors.newSingleThreadScheduledExecutor();
        }
        FaultInjectingConnection connection = new FaultInjectingConnection(held, FaultPlan.NONE, LIMITS, null,
                scheduler);
        List<CompletableFuture<BatchResult>> pending = new ArrayList<>();
        for (int i = 0; i < 3; i++) {
            DoorbellBatch batch = new DoorbellBatch();
            batch.read(address(data, 8L * i), 8);
            pending.add(connection.post(batch));
        }
        assertEquals(3, held.held.size(), "each batch reached the delegate and waits there");
        held.held.getFirst().completeExceptionally(new ConnectionLostException("link down"));
        for (CompletableFuture<BatchResult> completion : pending) {
            assertTrue(completion.isCompletedExceptionally(), "the first loss must fail the other pending batches");
            assertInstanceOf(ConnectionLostException.class, failureOf(completion));
        }
        assertFalse(connection.isOpen());
        assertTrue(held.closed, "the delegate is closed once lost");
        assertInstanceOf(ConnectionLostException.class, failureOf(connection.post(new DoorbellBatch())));
    }

    /** A delegate that accepts batches and leaves their completions to the test. */
    private static final class HeldConnection implements FabricConnection {
        private final RegisteredMemory memory;
        private final FabricCounters counters = new FabricCounters();
        final List<CompletableFuture<BatchResult>> held = new ArrayList<>();
        volatile boolean closed;

        HeldConnection(RegisteredMemory memory) {
            this.memory = memory;
        }

        @Override
        public int memoryNodeId() {
            return memory.memoryNodeId();
        }

        @Override
        public long incarnation() {
            return memory.incarnation();
        }

        @Override
        public List<RegionInfo> regions() {
            return memory.regions();
        }

        @Override
        public synchronized CompletableFuture<BatchResult> post(DoorbellBatch batch) {
            counters.recordPosted(batch);
            CompletableFuture<BatchResult> completion = new CompletableFuture<>();
            held.add(completion);
            return completion;
        }

        @Override
        public FabricCounters counters() {
            return counters;
        }

        @Override
        public boolean isOpen() {
            return !closed;
        }

        @Override
        public void close() {
            closed = true;
        }
    }

    private static byte[] filled(int length, byte value) {
        byte[] bytes = new byte[length];
        Arrays.fill(bytes, value);
        return bytes;
    }
}
