package io.rolexkv.common.fabric;

import io.rolexkv.common.fabric.fault.FaultInjectingConnection;
import io.rolexkv.common.fabric.fault.FaultInjectingTransport;
import io.rolexkv.common.fabric.fault.FaultPlan;
import io.rolexkv.common.fabric.loopback.LoopbackTransport;
import io.rolexkv.common.fabric.tcp.TcpTransport;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.lang.foreign.ValueLayout;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Every decorator between a caller and a transport hands {@link FabricConnection#execute(DoorbellBatch, CompletionBuffer)}
 * down with the caller's own buffer, so a transport that fills it in place allocates nothing per call, and keeps what
 * it is for: the reconnecting connection its counters and its retry of READs, the fault-injecting one its counters,
 * tears and drops. And the tcp transport puts a DONE frame's data straight into the caller's buffer, growing it as
 * it must, and a refusal fails that batch alone.
 */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class CompletionBufferPassThroughTest {
    private static final int NODE = 2;

    private final RegisteredMemory memory = new RegisteredMemory(NODE);
    private final int region = memory.allocate("data", 1 << 20).id();
    private final ScheduledExecutorService scheduler = Executors.newSingleThreadScheduledExecutor();

    @AfterEach
    void close() {
        scheduler.shutdownNow();
        memory.close();
    }

    private long address(long offset) {
        return GlobalAddress.of(NODE, region, offset);
    }

    /** What a connection below a decorator was asked to do, and with which buffer. */
    private static final class Spy extends ForwardingFabricConnection {
        final AtomicInteger posts = new AtomicInteger();
        final AtomicInteger executes = new AtomicInteger();
        final AtomicInteger executesIntoBuffer = new AtomicInteger();
        volatile CompletionBuffer lastBuffer;

        Spy(FabricConnection delegate) {
            super(delegate);
        }

        @Override
        public BatchResult execute(DoorbellBatch batch) {
            executes.incrementAndGet();
            return delegate.execute(batch);
        }

        @Override
        public CompletableFuture<BatchResult> post(DoorbellBatch batch) {
            posts.incrementAndGet();
            return delegate.post(batch);
        }

        @Override
        public void execute(DoorbellBatch batch, CompletionBuffer into) {
            executesIntoBuffer.incrementAndGet();
            lastBuffer = into;
            delegate.execute(batch, into);
        }
    }

    /** A transport whose connections are {@link Spy spies} over {@code delegate}'s. */
    private static final class SpyTransport implements FabricTransport {
        final FabricTransport delegate;
        volatile Spy last;

        SpyTransport(FabricTransport delegate) {
            this.delegate = delegate;
        }

        @Override
        public String name() {
            return delegate.name();
        }

        @Override
        public FabricConnection connect(String endpoint, FabricCounters totals) {
            last = new Spy(delegate.connect(endpoint, totals));
            return last;
        }

        @Override
        public FabricServer serve(RegisteredMemory memory, String bindEndpoint) {
            return delegate.serve(memory, bindEndpoint);
        }

        @Override
        public void close() {
            delegate.close();
        }
    }

    /** A READ of word 0 (three bytes of it from offset 1), a CAS on word 8 and an FAA on word 16. */
    private DoorbellBatch readCasFaa(long casExpected) {
        DoorbellBatch batch = new DoorbellBatch();
        batch.read(address(0), 8);
        batch.read(address(1), 3);
        batch.compareAndSwap(address(8), casExpected, 99);
        batch.fetchAndAdd(address(16), 5);
        return batch;
    }

    private void seed() {
        var segment = memory.segment(region);
        segment.set(ValueLayout.JAVA_LONG_UNALIGNED, 0, 0x0807_0605_0403_0201L);
        segment.set(ValueLayout.JAVA_LONG_UNALIGNED, 8, 7);
        segment.set(ValueLayout.JAVA_LONG_UNALIGNED, 16, 40);
    }

    private static void assertReadCasFaa(CompletionBuffer buffer) {
        assertEquals(0x0807_0605_0403_0201L, buffer.readLong(0, 0));
        assertEquals(3, buffer.readLength(1));
        assertEquals(0x02, buffer.read(1).get(ValueLayout.JAVA_BYTE, 0));
        assertEquals(0x04, buffer.read(1).get(ValueLayout.JAVA_BYTE, 2));
        assertTrue(buffer.casSucceeded(2));
        assertEquals(7, buffer.oldValue(2));
        assertEquals(40, buffer.oldValue(3));
    }

    private static DoorbellBatch readWord(long address) {
        DoorbellBatch batch = new DoorbellBatch();
        batch.read(address, 8);
        return batch;
    }

    private DoorbellBatch writeWord(long offset, long value) {
        DoorbellBatch batch = new DoorbellBatch();
        batch.writeLong(address(offset), value);
        return batch;
    }

    // ------------------------------------------------------------------ reconnecting

    @Test
    void theReconnectingConnectionHandsTheBufferDownAndCountsTheDoorbell() {
        seed();
        FabricCounters totals = new FabricCounters();
        try (SpyTransport transport = new SpyTransport(new LoopbackTransport())) {
            transport.serve(memory, "node");
            try (ReconnectingConnection connection = new ReconnectingConnection(transport, "node", totals,
                    ReconnectingConnection.Policy.DEFAULT)) {
                CompletionBuffer buffer = new CompletionBuffer();
                connection.execute(readCasFaa(7), buffer);
                assertReadCasFaa(buffer);
                assertSame(buffer, transport.last.lastBuffer, "the caller's buffer reached the transport's connection");
                assertEquals(1, transport.last.executesIntoBuffer.get());
                assertEquals(0, transport.last.posts.get(), "no detour through post and a result object");
                assertEquals(1, connection.counters().snapshot().doorbells());
                assertEquals(4, totals.snapshot().verbs());

                // The result-object form goes down as itself too: the caller waits on the transport's own completion.
                assertEquals(0x0807_0605_0403_0201L, connection.execute(readWord(address(0))).readLong(0, 0));
                assertEquals(1, transport.last.executes.get());
                assertEquals(0, transport.last.posts.get());
                assertEquals(2, connection.counters().snapshot().doorbells());
            }
        }
    }

    @Test
    void aReadWhoseConnectionDropsIsExecutedAgainIntoTheBufferAndAWriteHasAnUnknownOutcome() {
        // Every connection this transport opens drops when its third batch is posted, with that batch in flight.
        try (TcpTransport tcp = new TcpTransport();
             FaultInjectingTransport dropping = new FaultInjectingTransport(tcp, FaultPlan.builder().dropAfterBatches(2).build())) {
            FabricServer server = tcp.serve(memory, "127.0.0.1:0");
            try (ReconnectingConnection connection = new ReconnectingConnection(dropping, server.endpoint(), null,
                    ReconnectingConnection.Policy.withDeadline(20_000))) {
                CompletionBuffer buffer = new CompletionBuffer();
                connection.execute(writeWord(0, 7), buffer);
                connection.execute(readWord(address(0)), buffer);
                connection.execute(readWord(address(0)), buffer);
                assertEquals(7, buffer.readLong(0, 0), "a READ whose connection dropped is answered on the next one");
                assertEquals(1, connection.reconnects());

                connection.execute(writeWord(0, 8), buffer);
                ConnectionLostException lost = assertThrows(ConnectionLostException.class,
                        () -> connection.execute(writeWord(0, 9), buffer));
                assertTrue(lost.getMessage().contains("outcome unknown") && lost.getMessage().contains("memory node " + NODE),
                        lost.getMessage());
                connection.execute(readWord(address(0)), buffer);
                long after = buffer.readLong(0, 0);
                assertTrue(after == 8 || after == 9, "later batches go through on the next connection; found " + after);
                assertEquals(2, connection.reconnects());
            }
        }
    }

    // ------------------------------------------------------------------ fault injection

    private FaultInjectingConnection faulty(Spy spy, FaultPlan plan, FabricCounters totals) {
        return new FaultInjectingConnection(spy, plan, FabricLimits.DEFAULT, totals, scheduler);
    }

    @Test
    void theFaultInjectingConnectionHandsAnUntouchedBatchDownAndCountsIt() {
        seed();
        FabricCounters totals = new FabricCounters();
        try (LoopbackTransport loopback = new LoopbackTransport()) {
            loopback.serve(memory, "node");
            Spy spy = new Spy(loopback.connect("node", null));
            try (FaultInjectingConnection connection = faulty(spy, FaultPlan.NONE, totals)) {
                CompletionBuffer buffer = new CompletionBuffer();
                connection.execute(readCasFaa(7), buffer);
                assertReadCasFaa(buffer);
                assertSame(buffer, spy.lastBuffer);
                assertEquals(0, spy.posts.get());
                assertEquals(1, totals.snapshot().doorbells());
            }
        }
    }

    @Test
    void aBatchWithLatencyOrATornWriteIsInjectedAsEverPostedBatchIs() {
        seed();
        FabricCounters totals = new FabricCounters();
        try (LoopbackTransport loopback = new LoopbackTransport()) {
            loopback.serve(memory, "node");
            Spy spy = new Spy(loopback.connect("node", null));
            FaultPlan plan = FaultPlan.builder().seed(3).fixedLatencyMicros(200).tearWrites(1.0, 4, 20).build();
            try (FaultInjectingConnection connection = faulty(spy, plan, totals)) {
                CompletionBuffer buffer = new CompletionBuffer();
                connection.execute(readCasFaa(7), buffer);
                assertReadCasFaa(buffer);
                assertEquals(1, spy.posts.get(), "delayed on the scheduler, through the delegate's post");
                assertEquals(0, spy.executesIntoBuffer.get());

                DoorbellBatch write = new DoorbellBatch();
                byte[] payload = new byte[64];
                java.util.Arrays.fill(payload, (byte) 0x5A);
                write.write(address(4096), payload);
                int read = write.read(address(4096), 64);
                connection.execute(write, buffer);
                assertTrue(spy.posts.get() >= 1 + 3, "the WRITE went down in pieces, then the READ: posts=" + spy.posts.get());
                assertEquals(-1, buffer.read(read).mismatch(java.lang.foreign.MemorySegment.ofArray(payload)),
                        "the READ after the torn WRITE saw all of it");
                assertEquals(2, totals.snapshot().doorbells(), "the caller's doorbells, not the pieces");
            }
        }
    }

    @Test
    void theFaultInjectingConnectionDropsAtItsBatchWhicheverWayItIsPosted() {
        try (LoopbackTransport loopback = new LoopbackTransport()) {
            loopback.serve(memory, "node");
            Spy spy = new Spy(loopback.connect("node", null));
            try (FaultInjectingConnection connection = faulty(spy, FaultPlan.builder().dropAfterBatches(1).build(), null)) {
                CompletionBuffer buffer = new CompletionBuffer();
                connection.execute(readWord(address(0)), buffer);
                assertThrows(ConnectionLostException.class, () -> connection.execute(readWord(address(0)), buffer));
                assertFalse(connection.isOpen());
                assertFalse(spy.isOpen(), "the connection underneath is closed with it");
                assertThrows(ConnectionLostException.class, () -> connection.execute(readWord(address(0)), buffer));
            }
        }
    }

    // ------------------------------------------------------------------ tcp

    @Test
    void aTcpCompletionLandsInTheCallersBufferWhichGrowsAndARefusalFailsThatBatchAlone() {
        seed();
        try (TcpTransport tcp = new TcpTransport()) {
            FabricServer server = tcp.serve(memory, "127.0.0.1:0");
            try (FabricConnection connection = tcp.connect(server.endpoint(), null)) {
                CompletionBuffer buffer = new CompletionBuffer();
                connection.execute(readCasFaa(7), buffer);
                assertReadCasFaa(buffer);

                // Far more than the buffer's first size: it grows, and holds the READ whole.
                int bytes = 48 * 1024;
                memory.segment(region).asSlice(65536, bytes).fill((byte) 0x33);
                DoorbellBatch large = new DoorbellBatch();
                int small = large.read(address(0), 8);
                int big = large.read(address(65536), bytes);
                connection.execute(large, buffer);
                assertEquals(bytes, buffer.readLength(big));
                assertEquals(-1, buffer.read(big).mismatch(memory.segment(region).asSlice(65536, bytes)));
                assertEquals(0x0807_0605_0403_0201L, buffer.readLong(small, 0));
                assertEquals(buffer.read(big).toArray(ValueLayout.JAVA_BYTE).length, connection.execute(large).readBytes(big).length);

                DoorbellBatch outOfBounds = readWord(address((1 << 20) - 4));
                VerbRejectedException refused = assertThrows(VerbRejectedException.class,
                        () -> connection.execute(outOfBounds, buffer));
                assertEquals(0, refused.verbIndex());
                assertTrue(connection.isOpen(), "a refused batch leaves the connection usable");
                connection.execute(readCasFaa(99), buffer);
                assertEquals(99, buffer.oldValue(2), "the first CAS swapped 7 for 99");
                assertEquals(45, buffer.oldValue(3));

                connection.execute(new DoorbellBatch(), buffer);
                assertEquals(0, buffer.size(), "an empty batch completes at once, into the buffer too");
            }
        }
    }
}
