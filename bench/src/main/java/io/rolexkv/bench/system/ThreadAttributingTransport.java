package io.rolexkv.bench.system;

import io.rolexkv.common.fabric.BatchResult;
import io.rolexkv.common.fabric.DoorbellBatch;
import io.rolexkv.common.fabric.FabricConnection;
import io.rolexkv.common.fabric.FabricCounters;
import io.rolexkv.common.fabric.FabricServer;
import io.rolexkv.common.fabric.FabricTransport;
import io.rolexkv.common.fabric.RegionInfo;
import io.rolexkv.common.fabric.RegisteredMemory;

import java.util.List;
import java.util.concurrent.CompletableFuture;

/**
 * A {@link FabricTransport} that wraps another and also counts every batch its connections post on counters of the
 * thread that posted it: the {@link OperationCostProbe} for any engine built on a transport. A system under test
 * creates its transport, wraps it in one of these, hands the wrapper to the engine, and reports the wrapper as its
 * probe.
 *
 * <p>The delegate's counters are untouched: a connection's {@link FabricConnection#counters()} and the
 * {@code totals} passed to {@link #connect} see exactly what they would without the wrapper. The per-thread counters
 * form a separate tree (they have no parent), so nothing is counted twice anywhere. An empty batch costs no round trip
 * on any transport and is not counted here either.
 *
 * <p>Per-thread counters live as long as their thread: meant for the benchmark's platform client threads, not for a
 * virtual thread per operation.
 */
public final class ThreadAttributingTransport implements FabricTransport, OperationCostProbe {
    private final FabricTransport delegate;
    private final ThreadLocal<FabricCounters> perThread = ThreadLocal.withInitial(FabricCounters::new);

    public ThreadAttributingTransport(FabricTransport delegate) {
        this.delegate = delegate;
    }

    /** The delegate's name: this transport stands in for it. */
    @Override
    public String name() {
        return delegate.name();
    }

    @Override
    public FabricConnection connect(String endpoint, FabricCounters totals) {
        return new AttributingConnection(delegate.connect(endpoint, totals));
    }

    @Override
    public FabricServer serve(RegisteredMemory memory, String bindEndpoint) {
        return delegate.serve(memory, bindEndpoint);
    }

    @Override
    public FabricCounters.Snapshot callingThreadTotals() {
        return perThread.get().snapshot();
    }

    @Override
    public void close() {
        delegate.close();
    }

    private final class AttributingConnection implements FabricConnection {
        private final FabricConnection connection;

        AttributingConnection(FabricConnection connection) {
            this.connection = connection;
        }

        @Override
        public int memoryNodeId() {
            return connection.memoryNodeId();
        }

        @Override
        public List<RegionInfo> regions() {
            return connection.regions();
        }

        @Override
        public CompletableFuture<BatchResult> post(DoorbellBatch batch) {
            if (!batch.isEmpty()) {
                perThread.get().recordPosted(batch);
            }
            return connection.post(batch);
        }

        @Override
        public FabricCounters counters() {
            return connection.counters();
        }

        @Override
        public boolean isOpen() {
            return connection.isOpen();
        }

        @Override
        public void close() {
            connection.close();
        }

        @Override
        public String toString() {
            return connection.toString();
        }
    }
}
