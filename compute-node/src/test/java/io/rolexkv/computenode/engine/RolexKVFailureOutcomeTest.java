package io.rolexkv.computenode.engine;

import com.fasterxml.jackson.databind.node.ObjectNode;
import io.rolexkv.common.config.ConfigNode;
import io.rolexkv.common.fabric.FabricConnection;
import io.rolexkv.common.fabric.FabricException;
import io.rolexkv.common.fabric.WordOrder;
import io.rolexkv.common.fabric.fault.FaultInjectingTransport;
import io.rolexkv.common.fabric.fault.FaultPlan;
import io.rolexkv.computenode.EmbeddedCluster;
import io.rolexkv.computenode.value.SizeClasses;
import io.rolexkv.computenode.value.ValueAllocator;
import io.rolexkv.computenode.value.ValueRegionDescriptor;
import io.rolexkv.rolex.index.IndexCounters;
import io.rolexkv.rolex.index.IndexGaveUpException;
import io.rolexkv.rolex.index.LeanIndex;
import io.rolexkv.rolex.index.WordIndex;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.lang.foreign.MemorySegment;
import java.time.Duration;
import java.util.List;
import java.util.Optional;
import java.util.Random;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.LockSupport;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * What becomes of a put's value block when the put fails depends on what the failure says: an index that gave up on a
 * lock linked nothing, so the block is free again at once; a transport failure leaves the outcome unknown, so the block
 * is kept (leaked rather than risked). And the chunk claims that ride the index's doorbells get their answers through
 * the index's API, so no claim is lost and no operation pays a doorbell of its own for one.
 */
@Timeout(60)
class RolexKVFailureOutcomeTest {
    static final int VALUE_BYTES = 512;
    static final int CLASS_BYTES = SizeClasses.classOfValue(VALUE_BYTES);

    /** ROLEX, with a lock timeout short enough for a test to wait out. */
    private static final class ShortLockTimeout implements IndexKind {
        private final IndexKind rolex = RolexIndexKind.INSTANCE;

        private static WordIndex shortened(WordIndex index) {
            return ((LeanIndex) index).lockTimeout(Duration.ofMillis(200));
        }

        @Override
        public String name() {
            return rolex.name();
        }

        @Override
        public List<String> regionNames() {
            return rolex.regionNames();
        }

        @Override
        public long readyProbeAddress(FabricConnection connection) {
            return rolex.readyProbeAddress(connection);
        }

        @Override
        public boolean isReady(MemorySegment probe) {
            return rolex.isReady(probe);
        }

        @Override
        public WordIndex open(FabricConnection connection, RolexKVConfig config, RolexKVConfig.MemoryNodeRange range) {
            return shortened(rolex.open(connection, config, range));
        }

        @Override
        public WordIndex createEmpty(FabricConnection connection, RolexKVConfig config, RolexKVConfig.MemoryNodeRange range) {
            return shortened(rolex.createEmpty(connection, config, range));
        }

        @Override
        public WordIndex bulkLoad(FabricConnection connection, RolexKVConfig config, RolexKVConfig.MemoryNodeRange range, long[] sortedKeys,
                                  long[] words) {
            return shortened(rolex.bulkLoad(connection, config, range, sortedKeys, words));
        }

        @Override
        public IndexCounters.Snapshot counters(WordIndex index) {
            return rolex.counters(index);
        }
    }

    private static RolexKVConfig config(EmbeddedCluster cluster) {
        ObjectNode config = cluster.engineConfig().put("max_value_bytes", 1000).put("value_chunk_bytes", 8192);
        return RolexKVConfig.from(ConfigNode.of(config));
    }

    private static byte[] value(long seed) {
        byte[] value = new byte[VALUE_BYTES];
        new Random(seed).nextBytes(value);
        return value;
    }

    @Test
    void aPutWhoseIndexGivesUpOnTheLockReturnsItsBlockAtOnce() throws Exception {
        try (EmbeddedCluster cluster = EmbeddedCluster.start("loopback", 1, EmbeddedCluster.Regions.SMALL);
             RolexKV engine = RolexKV.open(config(cluster), cluster.transport(), new ShortLockTimeout())) {
            engine.put(7, value(1));
            // Another caller holds key 7's lock: its update waits inside the lock until told to go on.
            CountDownLatch locked = new CountDownLatch(1);
            CountDownLatch goOn = new CountDownLatch(1);
            CompletableFuture<Optional<byte[]>> holding = CompletableFuture.supplyAsync(() -> engine.update(7, current -> {
                locked.countDown();
                awaitQuietly(goOn);
                return Optional.of(value(3));
            }));
            assertTrue(locked.await(10, TimeUnit.SECONDS));

            ValueAllocator.ValueSpace before = engine.valueSpace();
            IndexGaveUpException gaveUp = assertThrows(IndexGaveUpException.class, () -> engine.put(7, value(2)));
            ValueAllocator.ValueSpace after = engine.valueSpace();
            assertEquals(before.releasedBytes() + CLASS_BYTES, after.releasedBytes(), "the block went straight back");
            assertEquals(before.allocatedBytes(), after.allocatedBytes(), "no block is held for the failed put");

            long elsewhere = 0x7000_0000_0000_0000L; // far from key 7, so under another lock
            engine.put(elsewhere, value(4));
            assertEquals(after.reusedBytes() + CLASS_BYTES, engine.valueSpace().reusedBytes(),
                    "the next value of the same class takes the returned block");
            assertArrayEquals(value(4), engine.get(elsewhere).orElseThrow());

            goOn.countDown();
            holding.get(10, TimeUnit.SECONDS);
            assertArrayEquals(value(3), engine.get(7).orElseThrow(), "the put that gave up changed nothing");
        }
    }

    @Test
    void aPutWhoseTransportFailsKeepsItsBlockSinceTheOutcomeIsUnknown() {
        try (EmbeddedCluster cluster = EmbeddedCluster.start("loopback", 1, EmbeddedCluster.Regions.SMALL);
             FaultInjectingTransport faulty = new FaultInjectingTransport(cluster.transport(),
                     FaultPlan.builder().fixedLatencyMicros(40_000).build());
             RolexKV engine = RolexKV.open(config(cluster), faulty)) {
            engine.put(7, value(1));
            ValueAllocator.ValueSpace before = engine.valueSpace();
            // Dropped with the put's first doorbell in flight (a connection already known to be closed is replaced
            // before anything is posted on it, so the put would just go through).
            long doorbells = engine.counters().snapshot().doorbells();
            CompletableFuture<Void> put = CompletableFuture.runAsync(() -> engine.put(9, value(2)));
            while (engine.counters().snapshot().doorbells() == doorbells) {
                LockSupport.parkNanos(TimeUnit.MICROSECONDS.toNanos(100));
            }
            LockSupport.parkNanos(TimeUnit.MILLISECONDS.toNanos(10)); // well inside the doorbell's 40 ms
            faulty.dropAll();
            Exception failure = assertThrows(Exception.class, () -> put.get(10, TimeUnit.SECONDS));
            assertInstanceOf(FabricException.class, failure.getCause(), failure.toString());
            ValueAllocator.ValueSpace after = engine.valueSpace();
            assertEquals(before.releasedBytes(), after.releasedBytes(), "a block whose link may have landed is not reused");
            assertEquals(before.allocatedBytes() + CLASS_BYTES, after.allocatedBytes(), "it stays allocated (leaked)");
        }
    }

    @Test
    void chunkClaimsRidingPutsAndUpdatesAreAnsweredSoNoneIsLostAndNoneCostsADoorbell() {
        try (EmbeddedCluster cluster = EmbeddedCluster.start("loopback", 1, EmbeddedCluster.Regions.SMALL);
             RolexKV engine = RolexKV.open(config(cluster), cluster.transport())) {
            long claimedAtOpen = engine.valueSpace().claimedBytes();
            Random random = new Random(11);
            long[] keys = new long[150];
            for (int i = 0; i < keys.length; i++) {
                keys[i] = random.nextLong();
                long doorbells = doorbells(engine, key -> engine.put(key, value(key)), keys[i]);
                assertTrue(doorbells <= 2, "put " + i + " took doorbells=" + doorbells);
            }
            for (int i = 0; i < keys.length; i++) {
                long key = keys[i];
                long doorbells = doorbells(engine, k -> engine.update(k, current -> Optional.of(value(~k))), key);
                assertTrue(doorbells <= 3, "update " + i + " took doorbells=" + doorbells);
            }
            ValueAllocator.ValueSpace space = engine.valueSpace();
            assertTrue(space.claimedBytes() - claimedAtOpen >= 20 * 8192L, "claims rode along: " + space);
            long regionCounter = WordOrder.getLong(cluster.memory(0).segment(ValueRegionDescriptor.REGION_NAME),
                    ValueRegionDescriptor.USED_BYTES_OFFSET);
            assertEquals(regionCounter, space.claimedBytes(), "every claim the memory node ran was taken in");
            for (long key : keys) {
                assertArrayEquals(value(~key), engine.get(key).orElseThrow());
            }
        }
    }

    private static long doorbells(RolexKV engine, java.util.function.LongConsumer operation, long key) {
        long before = engine.threadCounters().snapshot().doorbells();
        operation.accept(key);
        return engine.threadCounters().snapshot().doorbells() - before;
    }

    private static void awaitQuietly(CountDownLatch latch) {
        try {
            assertTrue(latch.await(30, TimeUnit.SECONDS));
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(e);
        }
    }
}
