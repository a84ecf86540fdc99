package io.rolexkv.common.fabric.loopback;

import io.rolexkv.common.fabric.CompletionBuffer;
import io.rolexkv.common.fabric.DoorbellBatch;
import io.rolexkv.common.fabric.FabricConnection;
import io.rolexkv.common.fabric.FabricContractTest;
import io.rolexkv.common.fabric.FabricLimits;
import io.rolexkv.common.fabric.GlobalAddress;
import io.rolexkv.common.fabric.RegisteredMemory;
import org.junit.jupiter.api.Test;

import java.lang.management.ManagementFactory;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The loopback transport against the fabric contract: the reference every other transport is held to. */
class LoopbackFabricTest extends FabricContractTest {

    @Override
    protected Fixture start(RegisteredMemory memory, FabricLimits limits) {
        return Fixture.serving(new LoopbackTransport(limits), memory, "contract-memory-node");
    }

    /**
     * What a lookup's hot path relies on: a batch reused and completed into a reused buffer costs no allocation per
     * call on loopback, so a compute node's lookup on it (and its benchmark) can be allocation-free end to end.
     */
    @Test
    void executeIntoAReusedBufferAllocatesNothingPerCall() {
        com.sun.management.ThreadMXBean threads = (com.sun.management.ThreadMXBean) ManagementFactory.getThreadMXBean();
        FabricConnection connection = fixture.connect();
        DoorbellBatch batch = new DoorbellBatch();
        CompletionBuffer buffer = new CompletionBuffer();
        int calls = 50_000;
        long checksum = 0;
        for (int round = 0; round < 2; round++) { // the first round warms up and grows the buffer
            long before = threads.getCurrentThreadAllocatedBytes();
            for (int call = 0; call < calls; call++) {
                batch.clear();
                int read = batch.read(GlobalAddress.of(MEMORY_NODE_ID, data.id(), 8 * (call & 511)), 416);
                int add = batch.fetchAndAdd(GlobalAddress.of(MEMORY_NODE_ID, data.id(), 8192), 1);
                int word = batch.read(GlobalAddress.of(MEMORY_NODE_ID, data.id(), 8192), Long.BYTES);
                connection.execute(batch, buffer);
                checksum += buffer.readLong(read, 0) + buffer.oldValue(add) - buffer.readLong(word, 0);
            }
            long allocated = threads.getCurrentThreadAllocatedBytes() - before;
            if (round == 1) {
                assertTrue(allocated < calls / 10, "allocated=" + allocated + " bytes over calls=" + calls);
            }
        }
        assertEquals(-2L * calls, checksum, "each FAA's old value is one below the word read after it");
    }
}
