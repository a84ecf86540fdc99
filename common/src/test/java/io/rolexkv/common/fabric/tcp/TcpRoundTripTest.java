package io.rolexkv.common.fabric.tcp;

import io.rolexkv.common.net.TcpEndpoint;
import io.rolexkv.common.fabric.BatchResult;
import io.rolexkv.common.fabric.DoorbellBatch;
import io.rolexkv.common.fabric.FabricConnection;
import io.rolexkv.common.fabric.FabricCounters;
import io.rolexkv.common.fabric.FabricLimits;
import io.rolexkv.common.fabric.FabricServer;
import io.rolexkv.common.fabric.FabricTransport;
import io.rolexkv.common.fabric.FabricTransports;
import io.rolexkv.common.fabric.GlobalAddress;
import io.rolexkv.common.fabric.RegisteredMemory;
import io.rolexkv.common.fabric.VerbExecutor;
import io.rolexkv.common.fabric.VerbRejectedException;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

/**
 * Verbs over tcp do exactly what the memory node's executor does locally: a seeded random sequence of batches (some
 * with bad verbs) runs over tcp and, in the same order, through {@link VerbExecutor} on a twin memory; every READ,
 * old value, refusal and finally every byte of memory must agree.
 */
@Timeout(60)
class TcpRoundTripTest {
    private RegisteredMemory memory;
    private RegisteredMemory twin;
    private FabricTransport transport;
    private FabricServer server;

    @BeforeEach
    void start() {
        memory = TcpTestSupport.newMemory();
        twin = TcpTestSupport.newMemory();
        TcpTestSupport.fillAlike(11, memory, twin);
        transport = FabricTransports.create(TcpTransport.NAME, FabricLimits.DEFAULT);
        server = transport.serve(memory, TcpTestSupport.LOCALHOST_ANY_PORT);
    }

    @AfterEach
    void stop() {
        transport.close();
        memory.close();
        twin.close();
    }

    @Test
    void serverReportsTheBoundPortAndClientLearnsTheRegions() {
        assertTrue(server.endpoint().startsWith("127.0.0.1:"), server.endpoint());
        assertTrue(TcpEndpoint.parse(server.endpoint()).port() > 0, server.endpoint());
        try (FabricConnection connection = transport.connect(server.endpoint(), null)) {
            assertEquals(TcpTestSupport.MEMORY_NODE, connection.memoryNodeId());
            assertEquals(memory.regions(), connection.regions());
            assertEquals(1004, connection.region("beta").length());
        }
    }

    @Test
    void seededRandomBatchesMatchTheExecutorOnATwinMemory() throws InterruptedException {
        Random random = new Random(0x7C9_0001L);
        FabricCounters totals = new FabricCounters();
        long expectedVerbs = 0;
        long expectedBytesRead = 0;
        long expectedBytesWritten = 0;
        int batches = 0;
        try (FabricConnection connection = transport.connect(server.endpoint(), totals)) {
            for (int window = 0; window < 150; window++) {
                // Several batches in flight at once on one connection: the node must still run them in post order.
                int inFlight = 1 + random.nextInt(8);
                List<DoorbellBatch> posted = new ArrayList<>();
                List<CompletableFuture<BatchResult>> completions = new ArrayList<>();
                List<Object> expectedOutcomes = new ArrayList<>();
                for (int i = 0; i < inFlight; i++) {
                    DoorbellBatch batch = TcpTestSupport.randomBatch(random, twin, 16, true);
                    posted.add(batch);
                    completions.add(connection.post(batch));
                    expectedOutcomes.add(executeOnTwin(batch));
                    batches++;
                    expectedVerbs += batch.size();
                    expectedBytesRead += batch.bytesToRead();
                    expectedBytesWritten += batch.bytesToWrite();
                }
                for (int i = 0; i < inFlight; i++) {
                    assertSameOutcome(posted.get(i), expectedOutcomes.get(i), completions.get(i), "window=" + window + " batch=" + i);
                }
            }
            TcpTestSupport.assertSameMemory(twin, memory, "after " + batches + " batches");
            assertTrue(connection.isOpen(), "refused batches must not close the connection");
            FabricCounters.Snapshot counted = totals.snapshot();
            assertEquals(batches, counted.doorbells());
            assertEquals(expectedVerbs, counted.verbs());
            assertEquals(expectedBytesRead, counted.bytesRead());
            assertEquals(expectedBytesWritten, counted.bytesWritten());
            assertEquals(counted, connection.counters().snapshot());
        }
    }

    private Object executeOnTwin(DoorbellBatch batch) {
        try {
            return VerbExecutor.execute(twin, FabricLimits.DEFAULT, batch);
        } catch (VerbRejectedException rejected) {
            return rejected;
        }
    }

    private static void assertSameOutcome(DoorbellBatch batch, Object expected, CompletableFuture<BatchResult> completion,
                                          String context) throws InterruptedException {
        if (expected instanceof BatchResult expectedResult) {
            BatchResult actual = FabricConnection.await(completion);
            TcpTestSupport.assertSameResult(batch, expectedResult, actual, context);
            return;
        }
        VerbRejectedException want = (VerbRejectedException) expected;
        try {
            completion.get();
            fail(context + " expected a refusal: " + want.getMessage());
        } catch (ExecutionException e) {
            VerbRejectedException got = assertInstanceOf(VerbRejectedException.class, e.getCause(), context);
            assertEquals(want.verbIndex(), got.verbIndex(), context);
            assertEquals(want.reason(), got.reason(), context);
            assertEquals(want.detail(), got.detail(), context);
        }
    }

    @Test
    void manyLargeCompletionsInFlightAllArrive() {
        // 64 batches of 8 x 4 KiB READs in flight: 2 MiB of completions, far past the server's write high-water mark.
        try (FabricConnection connection = transport.connect(server.endpoint(), null)) {
            for (int round = 0; round < 5; round++) {
                List<DoorbellBatch> batches = new ArrayList<>();
                List<CompletableFuture<BatchResult>> completions = new ArrayList<>();
                for (int i = 0; i < 64; i++) {
                    DoorbellBatch batch = new DoorbellBatch();
                    for (int verb = 0; verb < 8; verb++) {
                        batch.read(GlobalAddress.of(TcpTestSupport.MEMORY_NODE, 0, 0), 4096);
                    }
                    batches.add(batch);
                    completions.add(connection.post(batch));
                }
                byte[] region = TcpTestSupport.bytes(memory, 0);
                for (int i = 0; i < completions.size(); i++) {
                    BatchResult result = FabricConnection.await(completions.get(i));
                    for (int verb = 0; verb < 8; verb++) {
                        assertArrayEquals(region, result.readBytes(verb), "round=" + round + " batch=" + i);
                    }
                }
            }
        }
    }

    @Test
    void emptyBatchCompletesAtOnceWithoutARoundTrip() {
        try (FabricConnection connection = transport.connect(server.endpoint(), null)) {
            CompletableFuture<BatchResult> completion = connection.post(new DoorbellBatch());
            assertTrue(completion.isDone());
            assertEquals(0, FabricConnection.await(completion).size());
            assertEquals(0, connection.counters().snapshot().doorbells());
        }
    }

    @Test
    void batchTooLargeForAFrameIsRefusedLocallyAsOversize() {
        FabricLimits small = new FabricLimits(8, 1024);
        try (FabricTransport smallTransport = new TcpTransport(small)) {
            FabricServer smallServer = smallTransport.serve(memory, TcpTestSupport.LOCALHOST_ANY_PORT);
            try (FabricConnection connection = smallTransport.connect(smallServer.endpoint(), null)) {
                DoorbellBatch tooMuchWrite = new DoorbellBatch();
                tooMuchWrite.write(GlobalAddress.of(TcpTestSupport.MEMORY_NODE, 0, 0), new byte[4096]);
                VerbRejectedException e = assertThrows(VerbRejectedException.class, () -> connection.execute(tooMuchWrite));
                assertEquals(VerbRejectedException.Reason.OVERSIZE_BATCH, e.reason());
                assertTrue(e.getMessage().contains("bytes=4096 max_bytes_per_batch=1024"), e.getMessage());
                assertTrue(connection.isOpen());
                assertEquals(1, connection.counters().snapshot().doorbells(), "a refused batch still counts as posted");
            }
        }
    }
}
