package io.rolexkv.rolex.index;

import io.rolexkv.common.fabric.BatchResult;
import io.rolexkv.common.fabric.DoorbellBatch;
import io.rolexkv.common.fabric.FabricConnection;
import io.rolexkv.common.fabric.ForwardingFabricConnection;
import io.rolexkv.common.fabric.GlobalAddress;
import io.rolexkv.common.fabric.VerbKind;

import java.lang.foreign.MemorySegment;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.LockSupport;

/**
 * ROLEX's write protocol broken on purpose, for the history check to catch: a doorbell of WRITEs that unlocks leaf
 * groups (8-byte WRITEs into the tables region) has its unlocks applied first, and the leaf writes they guard a moment
 * later, so another writer can lock the group and read it before this writer's changes land.
 */
final class UnlockFirstConnection extends ForwardingFabricConnection {
    private static final long LAG_NANOS = TimeUnit.MICROSECONDS.toNanos(300);
    private final int tablesRegion;

    UnlockFirstConnection(FabricConnection delegate) {
        super(delegate);
        this.tablesRegion = delegate.region(IndexLayout.TABLES_REGION).id();
    }

    @Override
    public CompletableFuture<BatchResult> post(DoorbellBatch batch) {
        DoorbellBatch unlocks = new DoorbellBatch();
        DoorbellBatch rest = new DoorbellBatch();
        for (int i = 0; i < batch.size(); i++) {
            if (batch.kind(i) != VerbKind.WRITE) {
                return delegate.post(batch); // a doorbell with results: not a write-and-unlock doorbell
            }
            boolean unlock = GlobalAddress.region(batch.address(i)) == tablesRegion && batch.length(i) == Long.BYTES;
            (unlock ? unlocks : rest).write(batch.address(i), batch.payload(i));
        }
        if (unlocks.isEmpty() || rest.isEmpty()) {
            return delegate.post(batch);
        }
        delegate.post(unlocks).join();
        LockSupport.parkNanos(LAG_NANOS);
        return delegate.post(rest).thenApply(done -> new BatchResult(batch, new MemorySegment[batch.size()], new long[batch.size()]));
    }
}
