package io.rolexkv.common.fabric.fault;

import io.rolexkv.common.fabric.FabricConnection;
import io.rolexkv.common.fabric.FabricCounters;
import io.rolexkv.common.fabric.FabricLimits;
import io.rolexkv.common.fabric.FabricServer;
import io.rolexkv.common.fabric.FabricTransport;
import io.rolexkv.common.fabric.RegisteredMemory;

import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.atomic.AtomicLong;

/**
 * A {@link FabricTransport} that wraps another and hands out {@link FaultInjectingConnection}s, so a whole cluster
 * test (or the fabric contract suite) runs over delayed batches, torn WRITEs and dropped connections. The faults and
 * what each one emulates on RDMA hardware are described on {@link FaultInjectingConnection}. Tests only.
 *
 * <p>Serving is the delegate's, untouched: every fault is injected on the client side, where a compute node would
 * see it. Connection {@code n} (counting from 0 in the order opened) draws its random choices from
 * {@code plan.seed() + n * 0x9E3779B97F4A7C15}, so a test that opens its connections in a fixed order replays the same
 * faults per connection.
 *
 * <p>Counters: each connection's {@link FabricConnection#counters()} (and the {@code totals} given to
 * {@link #connect}) record what the caller posted, one doorbell per caller batch. What actually went to the
 * delegate, torn pieces included, is recorded in {@link #wireCounters()}.
 */
public final class FaultInjectingTransport implements FabricTransport {
    private static final long SEED_STRIDE = 0x9E3779B97F4A7C15L;

    private final FabricTransport delegate;
    private final FaultPlan plan;
    private final FabricLimits memoryNodeLimits;
    private final FabricCounters wireCounters = new FabricCounters();
    private final AtomicLong connectionsOpened = new AtomicLong();
    private final Set<FaultInjectingConnection> open = ConcurrentHashMap.newKeySet();
    private final ScheduledExecutorService scheduler = Executors.newSingleThreadScheduledExecutor(runnable -> {
        Thread thread = new Thread(runnable, "fault-injection-timer");
        thread.setDaemon(true);
        return thread;
    });

    /** Wraps {@code delegate}, assuming memory nodes run with {@link FabricLimits#DEFAULT}. */
    public FaultInjectingTransport(FabricTransport delegate, FaultPlan plan) {
        this(delegate, plan, FabricLimits.DEFAULT);
    }

    /**
     * Wraps {@code delegate}. {@code memoryNodeLimits} must be the limits the memory nodes run with: a batch is torn
     * only if it is within them (see {@link FaultInjectingConnection}).
     */
    public FaultInjectingTransport(FabricTransport delegate, FaultPlan plan, FabricLimits memoryNodeLimits) {
        this.delegate = delegate;
        this.plan = plan;
        this.memoryNodeLimits = memoryNodeLimits;
    }

    /** The delegate's name: this transport stands in for it. */
    @Override
    public String name() {
        return delegate.name();
    }

    public FaultPlan plan() {
        return plan;
    }

    /** Every doorbell that reached the delegate, torn pieces counted one each, across all connections. */
    public FabricCounters wireCounters() {
        return wireCounters;
    }

    @Override
    public FaultInjectingConnection connect(String endpoint, FabricCounters totals) {
        FabricConnection wire = delegate.connect(endpoint, wireCounters);
        long ordinal = connectionsOpened.getAndIncrement();
        FaultInjectingConnection connection = new FaultInjectingConnection(wire,
                plan.withSeed(plan.seed() + ordinal * SEED_STRIDE), memoryNodeLimits, new FabricCounters(totals),
                scheduler, open::remove);
        open.add(connection);
        return connection;
    }

    @Override
    public FabricServer serve(RegisteredMemory memory, String bindEndpoint) {
        return delegate.serve(memory, bindEndpoint);
    }

    /** Drops every open connection now (see {@link FaultInjectingConnection#drop()}). */
    public void dropAll() {
        for (FaultInjectingConnection connection : open) {
            connection.drop();
        }
    }

    @Override
    public void close() {
        for (FaultInjectingConnection connection : open) {
            connection.close();
        }
        delegate.close();
        scheduler.shutdownNow();
    }

    @Override
    public String toString() {
        return "FaultInjectingTransport[" + delegate.name() + " plan=" + plan + "]";
    }
}
