package io.rolexkv.common.fabric.rdma;

import io.rolexkv.common.fabric.BatchResult;
import io.rolexkv.common.fabric.DoorbellBatch;
import io.rolexkv.common.fabric.FabricConnection;
import io.rolexkv.common.fabric.ForwardingFabricConnection;
import io.rolexkv.common.fabric.RegisteredMemory;
import io.rolexkv.common.fabric.loopback.LoopbackTransport;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.lang.foreign.MemorySegment;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.concurrent.CompletableFuture;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeFalse;

/**
 * The smoke check's verb checks must pass on a correct transport and catch the corruption released DiSNI would
 * cause; its modes must diagnose a host without RDMA instead of crashing.
 */
@Timeout(60)
class RdmaSmokeCheckTest {

    private record Outcome(boolean passed, String output) {
    }

    private static Outcome runChecksOver(java.util.function.UnaryOperator<FabricConnection> decorate) {
        try (LoopbackTransport transport = new LoopbackTransport(); RegisteredMemory memory = new RegisteredMemory(4)) {
            memory.allocate("other", 4096);
            memory.allocate(RdmaSmokeCheck.REGION_NAME, RdmaSmokeCheck.REGION_BYTES);
            transport.serve(memory, "smoke");
            ByteArrayOutputStream bytes = new ByteArrayOutputStream();
            PrintStream out = new PrintStream(bytes, true, StandardCharsets.UTF_8);
            boolean passed = RdmaSmokeCheck.runChecks(decorate.apply(transport.connect("smoke", null)), 3, 500, out);
            return new Outcome(passed, bytes.toString(StandardCharsets.UTF_8));
        }
    }

    @Test
    void everyCheckPassesOnACorrectTransport() {
        Outcome outcome = runChecksOver(connection -> connection);

        assertTrue(outcome.passed(), outcome.output());
        assertTrue(outcome.output().contains("PASS rdma smoke: 8/8 checks passed"), outcome.output());
    }

    @Test
    void droppedAtomicOperandsAreCaught() {
        Outcome outcome = runChecksOver(OperandDroppingConnection::new);

        assertFalse(outcome.passed(), outcome.output());
        for (String check : List.of("compare-and-swap", "fetch-and-add", "batch runs in order", "concurrent fetch-and-add sum")) {
            assertTrue(outcome.output().contains("FAIL  " + check), "not caught: " + check + "\n" + outcome.output());
        }
        assertTrue(outcome.output().contains("  ok    write then read"), outcome.output());
        assertTrue(outcome.output().contains("FAIL rdma smoke: 4/8 checks passed"), outcome.output());
    }

    @Test
    void modesDiagnoseAHostWithoutRdma() {
        assumeFalse(RdmaAvailability.check().available(), "this host can do RDMA");
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        PrintStream out = new PrintStream(bytes, true, StandardCharsets.UTF_8);

        assertEquals(RdmaSmokeCheck.EXIT_UNAVAILABLE, RdmaSmokeCheck.run(new String[]{"check"}, out));
        assertEquals(RdmaSmokeCheck.EXIT_UNAVAILABLE, RdmaSmokeCheck.run(new String[]{"client", "127.0.0.1:1"}, out));
        assertEquals(RdmaSmokeCheck.EXIT_UNAVAILABLE, RdmaSmokeCheck.run(new String[]{"server", "127.0.0.1:0"}, out));
        assertEquals(RdmaSmokeCheck.EXIT_USAGE, RdmaSmokeCheck.run(new String[]{"dance"}, out));

        String output = bytes.toString(StandardCharsets.UTF_8);
        assertTrue(output.contains(RdmaAvailability.check().describe()), output);
        assertFalse(output.contains(RdmaSmokeCheck.READY_PREFIX), output);
    }

    /**
     * What a DiSNI without atomics support amounts to: the NIC sees zero where compare_add and swap should be.
     * (The real failure could be worse: the rkey is dropped too.)
     */
    private static final class OperandDroppingConnection extends ForwardingFabricConnection {

        OperandDroppingConnection(FabricConnection delegate) {
            super(delegate);
        }

        @Override
        public CompletableFuture<BatchResult> post(DoorbellBatch batch) {
            DoorbellBatch dropped = new DoorbellBatch();
            for (int i = 0; i < batch.size(); i++) {
                switch (batch.kind(i)) {
                    case READ -> dropped.read(batch.address(i), batch.length(i));
                    case WRITE -> dropped.write(batch.address(i), batch.payload(i));
                    case CAS -> dropped.compareAndSwap(batch.address(i), 0, 0);
                    case FAA -> dropped.fetchAndAdd(batch.address(i), 0);
                }
            }
            return delegate.post(dropped).thenApply(result -> {
                MemorySegment[] readData = new MemorySegment[batch.size()];
                long[] oldValues = new long[batch.size()];
                for (int i = 0; i < batch.size(); i++) {
                    switch (batch.kind(i)) {
                        case READ -> readData[i] = result.read(i);
                        case CAS, FAA -> oldValues[i] = result.oldValue(i);
                        case WRITE -> {
                        }
                    }
                }
                return new BatchResult(batch, readData, oldValues);
            });
        }
    }
}
