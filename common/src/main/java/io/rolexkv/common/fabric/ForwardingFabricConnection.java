package io.rolexkv.common.fabric;

import java.util.List;
import java.util.Objects;
import java.util.concurrent.CompletableFuture;

/**
 * A connection that hands every call to another one: the base for decorators that watch or change what is posted
 * (per-thread cost accounting, recording, fault injection in tests) and override {@link #post} and little else.
 * Closing it closes the delegate.
 */
public abstract class ForwardingFabricConnection implements FabricConnection {
    protected final FabricConnection delegate;

    protected ForwardingFabricConnection(FabricConnection delegate) {
        this.delegate = Objects.requireNonNull(delegate, "delegate");
    }

    @Override
    public int memoryNodeId() {
        return delegate.memoryNodeId();
    }

    @Override
    public long incarnation() {
        return delegate.incarnation();
    }

    @Override
    public List<RegionInfo> regions() {
        return delegate.regions();
    }

    @Override
    public CompletableFuture<BatchResult> post(DoorbellBatch batch) {
        return delegate.post(batch);
    }

    @Override
    public FabricCounters counters() {
        return delegate.counters();
    }

    @Override
    public boolean isOpen() {
        return delegate.isOpen();
    }

    @Override
    public void close() {
        delegate.close();
    }

    @Override
    public String toString() {
        return getClass().getSimpleName() + "[" + delegate + "]";
    }
}
