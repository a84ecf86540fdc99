package io.rolexkv.computenode.engine;

import io.rolexkv.common.config.ConfigNode;
import io.rolexkv.common.fabric.BatchResult;
import io.rolexkv.common.fabric.DoorbellBatch;
import io.rolexkv.common.fabric.FabricConnection;
import io.rolexkv.common.fabric.FabricCounters;
import io.rolexkv.common.fabric.ForwardingFabricConnection;
import io.rolexkv.common.fabric.FabricServer;
import io.rolexkv.common.fabric.FabricTransport;
import io.rolexkv.common.fabric.RegisteredMemory;
import io.rolexkv.common.fabric.VerbKind;
import io.rolexkv.common.fabric.WordOrder;
import io.rolexkv.computenode.TestClusters;
import io.rolexkv.computenode.value.SizeClasses;
import io.rolexkv.computenode.value.ValueAllocator;
import io.rolexkv.computenode.value.ValueRegionDescriptor;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.util.List;
import java.util.Random;
import java.util.concurrent.CompletableFuture;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Replaced and deleted value blocks come back as free space, measured; a reader that meets a reused block re-reads. */
@Timeout(60)
class RolexKVReclamationTest {
    static final int KEYS = 200;
    static final int ROUNDS = 10;
    static final int CLASS_BYTES = SizeClasses.classOfValue(512);

    private static long regionUsedBytes(TestClusters.Cluster cluster) {
        return WordOrder.getLong(cluster.nodes.memory(0).segment(ValueRegionDescriptor.REGION_NAME),
                ValueRegionDescriptor.USED_BYTES_OFFSET);
    }

    private static byte[] value(long seed) {
        byte[] value = new byte[512];
        new Random(seed).nextBytes(value);
        return value;
    }

    /** Puts every key ROUNDS + 1 times; returns the region's claimed bytes at the end. */
    private static long overwriteRounds(TestClusters.Cluster cluster, RolexKV engine) {
        long[] keys = new long[KEYS];
        Random random = new Random(9);
        for (int i = 0; i < KEYS; i++) {
            keys[i] = random.nextLong();
        }
        for (int round = 0; round <= ROUNDS; round++) {
            for (int i = 0; i < KEYS; i++) {
                engine.put(keys[i], value(round * 1000L + i));
            }
        }
        for (int i = 0; i < KEYS; i++) {
            assertArrayEquals(value(ROUNDS * 1000L + i), engine.get(keys[i]).orElseThrow());
        }
        return regionUsedBytes(cluster);
    }

    @Test
    void overwrittenBlocksAreReusedSoTheRegionStopsGrowing() {
        long live = (long) KEYS * CLASS_BYTES;
        long replaced = (long) KEYS * ROUNDS * CLASS_BYTES;
        long chunk = RolexKVConfig.VALUE_CHUNK_BYTES_MIN_DEFAULT;

        long withReuse;
        ValueAllocator.ValueSpace space;
        try (TestClusters.Cluster cluster = TestClusters.start("loopback", 1, config -> config.put("value_reuse_grace_ms", 0))) {
            RolexKV engine = cluster.openEngine();
            withReuse = overwriteRounds(cluster, engine);
            space = engine.valueSpace();
        }
        assertEquals(replaced, space.retiredBytes(), "every replaced block was freed");
        // A put allocates before it retires what it replaced, so the block the last put freed is still free.
        assertEquals(replaced - CLASS_BYTES, space.reusedBytes(), "and every one but the last was reused by a later put");
        assertEquals(CLASS_BYTES, space.pendingBytes() + space.freeBytes(), "the last freed block waits for the next put");
        assertTrue(withReuse <= live + 3 * chunk, "region claimed=" + withReuse + " for live=" + live);

        long withoutReuse;
        try (TestClusters.Cluster cluster = TestClusters.start("loopback", 1, config -> config.put("value_reuse_grace_ms", 3_600_000))) {
            RolexKV engine = cluster.openEngine();
            withoutReuse = overwriteRounds(cluster, engine);
            assertEquals(0, engine.valueSpace().reusedBytes(), "nothing is reused inside the grace period");
            assertEquals(replaced, engine.valueSpace().pendingBytes());
        }
        assertTrue(withoutReuse >= live + replaced, "region claimed=" + withoutReuse + " holds every version");
    }

    @Test
    void deletesUpdatesAndClearRetireTheirBlocks() {
        try (TestClusters.Cluster cluster = TestClusters.start("loopback", 3, config -> config.put("value_reuse_grace_ms", 0))) {
            RolexKV engine = cluster.openEngine();
            for (long key = 0; key < 30; key++) {
                engine.put(key * 0x0800_0000_0000_0001L, value(key));
            }
            engine.delete(0);
            assertEquals(CLASS_BYTES, engine.valueSpace().retiredBytes(), "a delete frees its block");
            engine.update(0x0800_0000_0000_0001L, current -> java.util.Optional.of(new byte[3])); // now inline
            assertEquals(2L * CLASS_BYTES, engine.valueSpace().retiredBytes(), "an update away from a block frees it");
            engine.clear();
            assertEquals(30L * CLASS_BYTES, engine.valueSpace().retiredBytes(), "clear frees every block");
            assertEquals(List.of(), engine.scan(0, Integer.MAX_VALUE));
            engine.put(1, value(1));
            assertEquals(CLASS_BYTES, engine.valueSpace().reusedBytes(), "and the space serves new values");
        }
    }

    /**
     * Between the reader's leaf READ and its block READ, another compute node replaces the value and reuses the old
     * block for another key. The reader must notice (the block names another key) and go back to the leaf.
     */
    @Test
    void aReaderThatMeetsAReusedBlockGoesBackToTheLeaf() {
        try (TestClusters.Cluster cluster = TestClusters.start("loopback", 1, config -> config.put("value_reuse_grace_ms", 0))) {
            RolexKV writer = cluster.openEngine();
            writer.put(10, value(1));
            Runnable interference = () -> {
                writer.put(10, value(2)); // retires the block the reader is about to read...
                writer.put(20, value(3)); // ...which this put reuses at once (same class, no grace)
            };
            PausingTransport pausing = new PausingTransport(cluster.nodes.transport(), interference);
            RolexKV reader = RolexKV.open(RolexKVConfig.from(ConfigNode.of(cluster.config())), pausing);
            try {
                pausing.armOnNextBlockRead();
                assertArrayEquals(value(2), reader.get(10).orElseThrow());
                assertEquals(1, reader.staleBlockReads(), "the reused block was seen and refused");
                assertEquals(1, writer.valueSpace().reusedBytes() / CLASS_BYTES, "the block really was reused");
                assertArrayEquals(value(3), reader.get(20).orElseThrow());
            } finally {
                reader.close();
            }
        }
    }

    /** Runs {@code interference} once, just before the first READ that is not of a leaf after being armed. */
    private static final class PausingTransport implements FabricTransport {
        private final FabricTransport delegate;
        private final Runnable interference;
        private volatile boolean armed;

        PausingTransport(FabricTransport delegate, Runnable interference) {
            this.delegate = delegate;
            this.interference = interference;
        }

        void armOnNextBlockRead() {
            armed = true;
        }

        @Override
        public String name() {
            return delegate.name();
        }

        @Override
        public FabricConnection connect(String endpoint, FabricCounters totals) {
            FabricConnection connection = delegate.connect(endpoint, totals);
            int valuesRegion = connection.region(ValueRegionDescriptor.REGION_NAME).id();
            return new ForwardingFabricConnection(connection) {
                @Override
                public CompletableFuture<BatchResult> post(DoorbellBatch batch) {
                    if (armed && batch.size() == 1 && batch.kind(0) == VerbKind.READ
                            && io.rolexkv.common.fabric.GlobalAddress.region(batch.address(0)) == valuesRegion) {
                        armed = false;
                        interference.run();
                    }
                    return delegate.post(batch);
                }
            };
        }

        @Override
        public FabricServer serve(RegisteredMemory memory, String bindEndpoint) {
            return delegate.serve(memory, bindEndpoint);
        }

        @Override
        public void close() {
            // the cluster owns the delegate
        }
    }
}
