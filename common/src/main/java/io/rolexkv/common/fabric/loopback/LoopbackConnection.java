package io.rolexkv.common.fabric.loopback;

import io.rolexkv.common.fabric.BatchResult;
import io.rolexkv.common.fabric.CompletionBuffer;
import io.rolexkv.common.fabric.ConnectionLostException;
import io.rolexkv.common.fabric.DoorbellBatch;
import io.rolexkv.common.fabric.FabricConnection;
import io.rolexkv.common.fabric.FabricCounters;
import io.rolexkv.common.fabric.FabricException;
import io.rolexkv.common.fabric.FabricLimits;
import io.rolexkv.common.fabric.RegionInfo;
import io.rolexkv.common.fabric.RegisteredMemory;
import io.rolexkv.common.fabric.VerbExecutor;

import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.function.Consumer;

/** A loopback queue pair: each batch runs in the posting thread, so its future is complete on return. */
final class LoopbackConnection implements FabricConnection {
    private final String endpoint;
    private final RegisteredMemory memory;
    private final FabricLimits limits;
    private final FabricCounters counters;
    private final List<RegionInfo> regions;
    private final Consumer<LoopbackConnection> onClose;
    private volatile boolean open = true;

    LoopbackConnection(String endpoint, RegisteredMemory memory, FabricLimits limits, FabricCounters counters,
                       Consumer<LoopbackConnection> onClose) {
        this.endpoint = endpoint;
        this.memory = memory;
        this.limits = limits;
        this.counters = counters;
        this.regions = memory.regions();
        this.onClose = onClose;
    }

    RegisteredMemory memory() {
        return memory;
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
        return regions;
    }

    @Override
    public CompletableFuture<BatchResult> post(DoorbellBatch batch) {
        if (!open) {
            return CompletableFuture.failedFuture(closed());
        }
        if (batch.isEmpty()) {
            return CompletableFuture.completedFuture(new BatchResult(batch, new java.lang.foreign.MemorySegment[0], new long[0]));
        }
        counters.recordPosted(batch);
        try {
            return CompletableFuture.completedFuture(VerbExecutor.execute(memory, limits, batch));
        } catch (FabricException e) {
            return CompletableFuture.failedFuture(e);
        } catch (IllegalStateException e) {
            return CompletableFuture.failedFuture(shutDown(e));
        }
    }

    /** The batch runs in the caller's thread straight into its buffer: no future, no result object, no copy. */
    @Override
    public void execute(DoorbellBatch batch, CompletionBuffer into) {
        if (!open) {
            throw closed();
        }
        if (batch.isEmpty()) {
            into.reset(batch);
            return;
        }
        counters.recordPosted(batch);
        try {
            VerbExecutor.execute(memory, limits, batch, into);
        } catch (IllegalStateException e) {
            throw shutDown(e);
        }
    }

    private ConnectionLostException closed() {
        return new ConnectionLostException(
                "loopback connection to memory node " + memory.memoryNodeId() + " at endpoint=" + endpoint + " is closed");
    }

    /** The memory was freed under us: the node shut down. */
    private ConnectionLostException shutDown(IllegalStateException cause) {
        return new ConnectionLostException(
                "loopback memory node " + memory.memoryNodeId() + " at endpoint=" + endpoint + " shut down", cause);
    }

    @Override
    public FabricCounters counters() {
        return counters;
    }

    @Override
    public boolean isOpen() {
        return open;
    }

    @Override
    public void close() {
        open = false;
        onClose.accept(this);
    }

    @Override
    public String toString() {
        return "LoopbackConnection[endpoint=" + endpoint + " memoryNode=" + memory.memoryNodeId() + "]";
    }
}
