package io.rolexkv.rolex.index;

import io.rolexkv.common.fabric.BatchResult;
import io.rolexkv.common.fabric.DoorbellBatch;
import io.rolexkv.common.fabric.FabricConnection;
import io.rolexkv.common.fabric.ForwardingFabricConnection;
import io.rolexkv.common.fabric.VerbKind;

import java.lang.foreign.MemorySegment;
import java.util.HashMap;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.CompletableFuture;

/**
 * A transport that breaks the fabric's promise on purpose, for the history check to catch: in doorbells that only
 * read (lookups), a quarter of the READs of an address this connection read before return what that earlier READ
 * returned, as a stale cache would. Each such answer was once real and intact, so no checksum can object; only the
 * order of events shows it.
 */
final class StaleReadConnection extends ForwardingFabricConnection {
    private final Map<Long, byte[]> lastRead = new HashMap<>();
    private final Random random = new Random(17);

    StaleReadConnection(FabricConnection delegate) {
        super(delegate);
    }

    @Override
    public CompletableFuture<BatchResult> post(DoorbellBatch batch) {
        for (int i = 0; i < batch.size(); i++) {
            if (batch.kind(i) != VerbKind.READ) {
                return delegate.post(batch);
            }
        }
        return delegate.post(batch).thenApply(fresh -> {
            MemorySegment[] reads = new MemorySegment[batch.size()];
            synchronized (this) {
                for (int i = 0; i < batch.size(); i++) {
                    long id = batch.address(i) * 31 + batch.length(i);
                    byte[] earlier = lastRead.get(id);
                    byte[] now = fresh.readBytes(i);
                    if (earlier != null && random.nextInt(4) == 0) {
                        reads[i] = MemorySegment.ofArray(earlier.clone());
                    } else {
                        reads[i] = MemorySegment.ofArray(now);
                        lastRead.put(id, now.clone());
                    }
                }
            }
            return new BatchResult(batch, reads, new long[batch.size()]);
        });
    }
}
