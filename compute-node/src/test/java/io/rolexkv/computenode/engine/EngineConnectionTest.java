package io.rolexkv.computenode.engine;

import io.rolexkv.common.fabric.BatchResult;
import io.rolexkv.common.fabric.CompletionBuffer;
import io.rolexkv.common.fabric.DoorbellBatch;
import io.rolexkv.common.fabric.FabricConnection;
import io.rolexkv.common.fabric.ForwardingFabricConnection;
import io.rolexkv.common.fabric.GlobalAddress;
import io.rolexkv.common.fabric.RegisteredMemory;
import io.rolexkv.common.fabric.loopback.LoopbackTransport;
import org.junit.jupiter.api.Test;

import java.lang.foreign.ValueLayout;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.atomic.AtomicInteger;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;

/** The engine's connection records every doorbell on the calling thread's costs, and hands execute, and the caller's buffer, down. */
class EngineConnectionTest {

    /** Counts how the connection underneath was called. */
    private static final class Spy extends ForwardingFabricConnection {
        final AtomicInteger posts = new AtomicInteger();
        final AtomicInteger executes = new AtomicInteger();
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
            lastBuffer = into;
            delegate.execute(batch, into);
        }
    }

    @Test
    void aDoorbellIntoABufferIsRecordedOnTheCallersCostsAndHandedDown() {
        try (RegisteredMemory memory = new RegisteredMemory(1); LoopbackTransport transport = new LoopbackTransport()) {
            int region = memory.allocate("data", 4096).id();
            memory.segment(region).set(ValueLayout.JAVA_LONG_UNALIGNED, 8, 42);
            transport.serve(memory, "node");
            Spy spy = new Spy(transport.connect("node", null));
            ThreadCosts costs = new ThreadCosts();
            try (EngineConnection connection = new EngineConnection(spy, costs)) {
                DoorbellBatch batch = new DoorbellBatch();
                int read = batch.read(GlobalAddress.of(1, region, 8), 8);
                batch.fetchAndAdd(GlobalAddress.of(1, region, 16), 1);
                CompletionBuffer buffer = new CompletionBuffer();
                connection.execute(batch, buffer);
                assertEquals(42, buffer.readLong(read, 0));
                assertSame(buffer, spy.lastBuffer);
                assertEquals(0, spy.posts.get(), "no detour through post");
                var recorded = costs.current().snapshot();
                assertEquals(1, recorded.doorbells());
                assertEquals(2, recorded.verbs());
                assertEquals(8, recorded.bytesRead());

                connection.execute(new DoorbellBatch(), buffer);
                assertEquals(1, costs.current().snapshot().doorbells(), "an empty batch is no doorbell");

                assertEquals(42, connection.execute(batch).readLong(read, 0));
                assertEquals(1, spy.executes.get(), "the result-object form goes down as itself");
                assertEquals(0, spy.posts.get());
                assertEquals(2, costs.current().snapshot().doorbells());
            }
        }
    }
}
