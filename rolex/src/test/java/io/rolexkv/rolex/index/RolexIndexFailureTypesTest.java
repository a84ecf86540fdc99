package io.rolexkv.rolex.index;

import io.rolexkv.common.fabric.BatchResult;
import io.rolexkv.common.fabric.CorruptDataException;
import io.rolexkv.common.fabric.DoorbellBatch;
import io.rolexkv.common.fabric.FabricConnection;
import io.rolexkv.common.fabric.ForwardingFabricConnection;
import io.rolexkv.common.fabric.GlobalAddress;
import io.rolexkv.common.fabric.VerbKind;
import io.rolexkv.common.fabric.WordOrder;
import io.rolexkv.rolex.layout.LeafTableEntry;
import io.rolexkv.rolex.leaf.Leaf;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.lang.foreign.MemorySegment;
import java.time.Duration;
import java.util.OptionalLong;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Each way a write can fail has its own type, and the type says what the caller may assume: a lock the index cannot
 * take in time is an {@link IndexGaveUpException} with nothing changed (not a transport failure), a structure that
 * passes its checksum but breaks its layout is a {@link CorruptDataException}. And the verbs a caller adds to a write's
 * doorbells hear those doorbells' results through the index's own API.
 */
@Timeout(60)
class RolexIndexFailureTypesTest {

    @Test
    void aLockNotWonInTimeIsAGiveUpThatChangedNothing() throws Exception {
        try (IndexFixture fixture = new IndexFixture("loopback", 8L << 20)) {
            FabricConnection holderConnection = fixture.connect();
            RolexIndex holder = RolexIndex.bulkLoad(holderConnection, IndexGeometry.DEFAULT, new long[] {1, 2, 3},
                    new long[] {11, 12, 13});
            FabricConnection connection = fixture.connect();
            RolexIndex writer = RolexIndex.open(connection).lockTimeout(Duration.ofMillis(200));
            long scratch = GlobalAddress.of(0, connection.region(IndexLayout.META_REGION).id(), 2048);

            // Another compute node holds key 2's lock: its update waits inside the lock until told to go on.
            CountDownLatch locked = new CountDownLatch(1);
            CountDownLatch goOn = new CountDownLatch(1);
            CompletableFuture<WriteResult> holding = CompletableFuture.supplyAsync(() -> holder.update(2, (current, last) -> {
                locked.countDown();
                await(goOn);
                return OptionalLong.of(current.getAsLong() + 1);
            }));
            assertTrue(locked.await(10, TimeUnit.SECONDS));

            AtomicLong heard = new AtomicLong(-1);
            DoorbellExtras extras = new DoorbellExtras() {
                int verb;

                @Override
                public void appendTo(DoorbellBatch firstDoorbell) {
                    verb = firstDoorbell.fetchAndAdd(scratch, 5);
                }

                @Override
                public void completed(BatchResult result) {
                    heard.set(result.oldValue(verb));
                }
            };
            IndexGaveUpException gaveUp = assertThrows(IndexGaveUpException.class, () -> writer.put(2, 99, extras));
            assertTrue(gaveUp.getMessage().contains("within 200 ms"), gaveUp.getMessage());
            assertTrue(gaveUp.getMessage().contains("nothing was changed"), gaveUp.getMessage());
            assertEquals(0, heard.get(), "the extras ran once, in the first doorbell, and heard its result");
            assertEquals(5, WordOrder.getLong(fixture.memory.segment(IndexLayout.META_REGION), 2048));

            goOn.countDown();
            assertEquals(OptionalLong.of(13), holding.get(10, TimeUnit.SECONDS).written());
            assertEquals(OptionalLong.of(13), writer.get(2), "the writer that gave up left no trace in the key");
            assertEquals(PutOutcome.UPDATED, writer.put(2, 99));
            assertEquals(OptionalLong.of(99), writer.get(2));
        }
    }

    @Test
    void anUpdateHearsTheResultOfTheDoorbellThatLinkedItsWord() {
        try (IndexFixture fixture = new IndexFixture("loopback", 8L << 20)) {
            FabricConnection connection = fixture.connect();
            RolexIndex index = RolexIndex.bulkLoad(connection, IndexGeometry.DEFAULT, new long[] {1, 2, 3}, new long[] {11, 12, 13});
            long scratch = GlobalAddress.of(0, connection.region(IndexLayout.META_REGION).id(), 2048);
            AtomicLong heard = new AtomicLong(-1);
            index.update(3, new WordUpdate() {
                int verb;

                @Override
                public OptionalLong apply(OptionalLong current, DoorbellBatch finalDoorbell) {
                    verb = finalDoorbell.fetchAndAdd(scratch, 7);
                    return OptionalLong.of(33);
                }

                @Override
                public void finalDoorbellCompleted(BatchResult result) {
                    heard.set(result.oldValue(verb));
                }
            });
            assertEquals(0, heard.get());
            assertEquals(7, WordOrder.getLong(fixture.memory.segment(IndexLayout.META_REGION), 2048));
            assertEquals(OptionalLong.of(33), index.get(3));
        }
    }

    /** Every READ of {@code leafAddress} returns {@code replacement} instead of the leaf's bytes. */
    private static final class TamperingConnection extends ForwardingFabricConnection {
        private final long leafAddress;
        private final byte[] replacement;

        TamperingConnection(FabricConnection delegate, long leafAddress, byte[] replacement) {
            super(delegate);
            this.leafAddress = leafAddress;
            this.replacement = replacement;
        }

        @Override
        public CompletableFuture<BatchResult> post(DoorbellBatch batch) {
            return delegate.post(batch).thenApply(result -> {
                MemorySegment[] reads = new MemorySegment[batch.size()];
                long[] oldValues = new long[batch.size()];
                for (int i = 0; i < batch.size(); i++) {
                    if (batch.kind(i) == VerbKind.READ) {
                        reads[i] = MemorySegment.ofArray(batch.address(i) == leafAddress ? replacement.clone() : result.readBytes(i));
                    } else if (batch.kind(i).isAtomic()) {
                        oldValues[i] = result.oldValue(i);
                    }
                }
                return new BatchResult(batch, reads, oldValues);
            });
        }
    }

    @Test
    void aLeafThatPassesItsChecksumButLinksToItselfIsCorruptionForReadsAndWrites() {
        try (IndexFixture fixture = new IndexFixture("loopback", 8L << 20)) {
            FabricConnection plain = fixture.connect();
            RolexIndex.bulkLoad(plain, IndexGeometry.DEFAULT, new long[] {1, 2, 3}, new long[] {11, 12, 13});
            int capacity = IndexGeometry.DEFAULT.leafCapacity();
            long leafZero = new IndexLayout(plain, capacity).leafAddress(0);
            // A well-formed leaf (its checksum holds) whose synonym link leads back to itself: a chain without end.
            Leaf looping = Leaf.empty(capacity, 0, -1L);
            looping.setNextLeaf(LeafTableEntry.of(IndexLayout.LOCAL_LEAF_REGION, 1, 0));
            looping.bumpVersion();
            RolexIndex reader = RolexIndex.open(new TamperingConnection(fixture.connect(), leafZero, looping.encode()));

            CorruptDataException read = assertThrows(CorruptDataException.class, () -> reader.get(2));
            assertTrue(read.getMessage().contains("corrupt links"), read.getMessage());
            CorruptDataException write = assertThrows(CorruptDataException.class, () -> reader.put(2, 99));
            assertInstanceOf(CorruptDataException.class, write);
            // The writer released its locks before throwing: a healthy compute node writes the key at once.
            RolexIndex healthy = RolexIndex.open(fixture.connect()).lockTimeout(Duration.ofMillis(500));
            assertEquals(PutOutcome.UPDATED, healthy.put(2, 99));
            assertEquals(OptionalLong.of(99), healthy.get(2));
        }
    }

    private static void await(CountDownLatch latch) {
        try {
            assertTrue(latch.await(30, TimeUnit.SECONDS));
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(e);
        }
    }
}
