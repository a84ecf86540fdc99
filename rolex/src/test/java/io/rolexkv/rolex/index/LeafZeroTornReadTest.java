package io.rolexkv.rolex.index;

import io.rolexkv.common.fabric.BatchResult;
import io.rolexkv.common.fabric.DoorbellBatch;
import io.rolexkv.common.fabric.FabricConnection;
import io.rolexkv.common.fabric.ForwardingFabricConnection;
import io.rolexkv.common.fabric.VerbKind;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.lang.foreign.MemorySegment;
import java.util.OptionalLong;
import java.util.concurrent.CompletableFuture;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * A torn READ of leaf 0 must be read again. A reader of an earlier layout once took the reference of leaf 0 of region 0
 * (the number 0) for its "chain complete" answer, and returned an empty group: keys in the first leaf of an index went
 * missing whenever a concurrent write tore a read of it. The first delta leaf an empty index makes is leaf 0.
 */
@Timeout(30)
class LeafZeroTornReadTest {

    /** Passes batches through, but corrupts the bytes the first READ of {@code tornAddress} returns. */
    private static final class TearingConnection extends ForwardingFabricConnection {
        private final long tornAddress;
        private int tears = 1;

        TearingConnection(FabricConnection delegate, long tornAddress) {
            super(delegate);
            this.tornAddress = tornAddress;
        }

        @Override
        public synchronized CompletableFuture<BatchResult> post(DoorbellBatch batch) {
            return delegate.post(batch).thenApply(result -> {
                MemorySegment[] reads = new MemorySegment[batch.size()];
                long[] oldValues = new long[batch.size()];
                for (int i = 0; i < batch.size(); i++) {
                    if (batch.kind(i) == VerbKind.READ) {
                        byte[] bytes = result.readBytes(i);
                        if (batch.address(i) == tornAddress && tears > 0) {
                            tears--;
                            bytes[bytes.length - 1] ^= 0x5A; // a word the concurrent WRITE had not reached yet
                        }
                        reads[i] = MemorySegment.ofArray(bytes);
                    } else if (batch.kind(i).isAtomic()) {
                        oldValues[i] = result.oldValue(i);
                    }
                }
                return new BatchResult(batch, reads, oldValues);
            });
        }
    }

    @Test
    void aKeyInLeafZeroIsFoundWhenTheFirstReadOfLeafZeroIsTorn() {
        try (IndexFixture fixture = new IndexFixture("loopback", 16L << 20)) {
            LeanIndex writer = LeanIndex.createEmpty(fixture.connect(), IndexGeometry.DEFAULT);
            writer.put(7, 77, null);
            FabricConnection plain = fixture.connect();
            long leafZero = new IndexLayout(plain, IndexGeometry.DEFAULT.leafCapacity()).leafAddress(0);
            TearingConnection tearing = new TearingConnection(plain, leafZero);
            LeanIndex reader = LeanIndex.open(tearing);
            assertEquals(OptionalLong.of(77), reader.get(7));
            assertEquals(0, tearing.tears, "the first read of leaf 0 was torn");
            assertTrue(reader.counters().tornReads() >= 1);
        }
    }
}
