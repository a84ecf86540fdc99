package io.rolexkv.computenode.engine;

import com.fasterxml.jackson.databind.node.ObjectNode;
import io.rolexkv.common.config.ConfigException;
import io.rolexkv.common.config.ConfigNode;
import io.rolexkv.common.fabric.FabricServer;
import io.rolexkv.common.fabric.RegisteredMemory;
import io.rolexkv.common.fabric.loopback.LoopbackTransport;
import io.rolexkv.common.kv.BaseKV;
import io.rolexkv.common.kv.KeyValueBytes;
import io.rolexkv.computenode.EmbeddedCluster;
import io.rolexkv.computenode.TestClusters;
import io.rolexkv.rolex.index.IndexLayout;
import io.rolexkv.rolex.index.KeyValue;
import io.rolexkv.rolex.index.LeanIndex;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Optional;
import java.util.Random;
import java.util.TreeMap;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The BaseKV contract points one by one on the rolex engine, and what is particular to it. */
@Timeout(60)
class RolexKVBehaviourTest {
    static final int[] LENGTHS = {0, 1, 7, 8, 9, 15, 16, 512, 64 << 10, EngineSetups.MAX_VALUE_BYTES};

    private static TestClusters.Cluster cluster(int nodes) {
        return TestClusters.start("loopback", nodes, config -> config.put("max_value_bytes", EngineSetups.MAX_VALUE_BYTES));
    }

    private static byte[] value(int length, long seed) {
        byte[] value = new byte[length];
        new Random(seed).nextBytes(value);
        return value;
    }

    @Test
    void valuesOfEveryLengthUpToTheMaximumRoundTripThroughEveryCall() {
        try (TestClusters.Cluster cluster = cluster(3)) {
            RolexKV engine = cluster.openEngine();
            assertEquals(EngineSetups.MAX_VALUE_BYTES, engine.maxValueBytes());
            long[] keys = new long[LENGTHS.length];
            List<byte[]> values = new ArrayList<>();
            for (int i = 0; i < LENGTHS.length; i++) {
                keys[i] = 0x1999_9999_9999_9999L * i + i; // one or more per memory node
                values.add(value(LENGTHS[i], i));
                engine.put(keys[i], values.get(i));
                assertArrayEquals(values.get(i), engine.get(keys[i]).orElseThrow(), "put/get " + LENGTHS[i]);
                assertArrayEquals(values.get(i), engine.getView(keys[i]).orElseThrow().toArray(ValueLayout.JAVA_BYTE));
            }
            List<Optional<byte[]>> batch = engine.batchGet(keys);
            List<KeyValueBytes> scanned = engine.scan(0, Integer.MAX_VALUE);
            assertEquals(keys.length, scanned.size());
            for (int i = 0; i < keys.length; i++) {
                assertArrayEquals(values.get(i), batch.get(i).orElseThrow(), "batchGet " + LENGTHS[i]);
                assertEquals(new KeyValueBytes(keys[i], values.get(i)), scanned.get(i), "scan " + LENGTHS[i]);
            }
            engine.clear();
            engine.batchPut(keys, values);
            for (int i = 0; i < keys.length; i++) {
                byte[] expected = values.get(i);
                assertArrayEquals(expected, engine.update(keys[i], current -> current).orElseThrow(), "update " + LENGTHS[i]);
            }
            engine.bulkLoad(keys, values);
            assertEquals(scanned, engine.scan(0, Integer.MAX_VALUE), "bulk loaded");
        }
    }

    @Test
    void anEmbeddingReadsAsFloatsStraightFromTheView() {
        try (TestClusters.Cluster cluster = cluster(1)) {
            RolexKV engine = cluster.openEngine();
            MemorySegment floats = MemorySegment.ofArray(new float[128]);
            for (int i = 0; i < 128; i++) {
                floats.setAtIndex(ValueLayout.JAVA_FLOAT_UNALIGNED, i, i * 0.5f);
            }
            engine.put(42, floats.toArray(ValueLayout.JAVA_BYTE));
            MemorySegment view = engine.getView(42).orElseThrow();
            assertEquals(512, view.byteSize());
            assertTrue(view.isReadOnly());
            for (int i = 0; i < 128; i++) {
                assertEquals(i * 0.5f, view.getAtIndex(ValueLayout.JAVA_FLOAT_UNALIGNED, i));
            }
        }
    }

    @Test
    void badArgumentsAreRefusedAndStoreNothing() {
        try (TestClusters.Cluster cluster = cluster(3)) {
            RolexKV engine = cluster.openEngine();
            engine.put(1, value(512, 1));
            long claimedBefore = engine.valueSpace().allocatedBytes();
            byte[] oversize = new byte[EngineSetups.MAX_VALUE_BYTES + 1];
            IllegalArgumentException tooLong = assertThrows(IllegalArgumentException.class, () -> engine.put(1, oversize));
            assertEquals("value bytes=100001 exceeds max_value_bytes=100000", tooLong.getMessage());
            assertThrows(IllegalArgumentException.class, () -> engine.put(2, null));
            assertThrows(IllegalArgumentException.class,
                    () -> engine.batchPut(new long[] {3, 4, 1}, Arrays.asList(value(9, 3), value(9, 4), oversize)));
            assertThrows(IllegalArgumentException.class, () -> engine.batchPut(new long[] {3, 4}, List.of(value(9, 3))));
            assertThrows(IllegalArgumentException.class, () -> engine.batchPut(new long[] {3}, Arrays.asList((byte[]) null)));
            assertThrows(IllegalArgumentException.class, () -> engine.update(1, current -> Optional.of(oversize)));
            assertThrows(IllegalArgumentException.class, () -> engine.update(1, current -> null));
            assertThrows(IllegalArgumentException.class, () -> engine.scan(0, 10, -1));
            IllegalArgumentException unsorted = assertThrows(IllegalArgumentException.class,
                    () -> engine.bulkLoad(new long[] {5, 4}, List.of(value(9, 5), value(9, 4))));
            assertTrue(unsorted.getMessage().contains("unsorted at index=1"), unsorted.getMessage());
            assertThrows(IllegalArgumentException.class, () -> engine.bulkLoad(new long[] {5, 6}, List.of(value(9, 5), oversize)));
            assertThrows(IllegalArgumentException.class, () -> engine.batchGet(null));

            assertArrayEquals(value(512, 1), engine.get(1).orElseThrow(), "the value before the refusals is intact");
            assertEquals(List.of(1L), engine.scan(0, Integer.MAX_VALUE).stream().map(KeyValueBytes::key).toList());
            assertEquals(claimedBefore, engine.valueSpace().allocatedBytes(), "no block was handed out for a refused value");
            // A function that throws leaves the key unlocked and unchanged.
            assertThrows(ArithmeticException.class, () -> engine.update(1, current -> {
                throw new ArithmeticException("optimizer diverged");
            }));
            engine.put(1, value(8, 2));
            assertArrayEquals(value(8, 2), engine.get(1).orElseThrow());
        }
    }

    @Test
    void everyCallAfterCloseIsAnIllegalStateAndCloseIsIdempotent() {
        try (TestClusters.Cluster cluster = cluster(1)) {
            RolexKV engine = cluster.openEngine();
            engine.put(1, new byte[9]);
            engine.close();
            engine.close();
            List<Runnable> calls = List.of(
                    () -> engine.get(1), () -> engine.getView(1), () -> engine.put(1, new byte[1]),
                    () -> engine.batchGet(new long[] {1}), () -> engine.batchPut(new long[] {1}, List.of(new byte[1])),
                    () -> engine.delete(1), () -> engine.scan(0, 10), () -> engine.update(1, current -> current),
                    () -> engine.bulkLoad(new long[] {1}, List.of(new byte[1])), engine::clear);
            for (Runnable call : calls) {
                IllegalStateException closed = assertThrows(IllegalStateException.class, call::run);
                assertEquals("engine rolex is closed", closed.getMessage());
            }
        }
    }

    @Test
    void keysGoToTheMemoryNodeThatOwnsTheirRangeAndScansCrossNodesInKeyOrder() {
        try (TestClusters.Cluster cluster = TestClusters.start("loopback", 3, config -> {
            var nodes = config.withArray("memory_nodes");
            ((ObjectNode) nodes.get(0)).put("first_key", "0");
            ((ObjectNode) nodes.get(1)).put("first_key", "100");
            ((ObjectNode) nodes.get(2)).put("first_key", "0x8000000000000000");
        })) {
            RolexKV engine = cluster.openEngine();
            long[] keys = {0, 99, 100, 101, Long.MAX_VALUE, Long.MIN_VALUE, -1L};
            int[] owners = {0, 0, 1, 1, 1, 2, 2};
            TreeMap<Long, byte[]> expected = new TreeMap<>(Long::compareUnsigned);
            for (int i = 0; i < keys.length; i++) {
                assertEquals(owners[i], engine.memoryNodeOf(keys[i]), "owner of " + Long.toUnsignedString(keys[i]));
                expected.put(keys[i], value(100, i));
            }
            for (int i = 0; i < keys.length; i++) {
                engine.put(keys[i], expected.get(keys[i]));
            }
            for (int node = 0; node < 3; node++) {
                // Each node's own index holds exactly the keys of its range.
                LeanIndex index = LeanIndex.open(cluster.nodes.transport().connect(cluster.nodes.endpoints().get(node), null));
                List<Long> held = index.scan(0, -1L, 100).stream().map(KeyValue::key).toList();
                List<Long> owned = new ArrayList<>();
                for (int i = 0; i < keys.length; i++) {
                    if (owners[i] == node) {
                        owned.add(keys[i]);
                    }
                }
                assertEquals(owned, held, "keys in the index of memory node " + node);
            }
            List<KeyValueBytes> all = engine.scan(0, Integer.MAX_VALUE);
            assertEquals(new ArrayList<>(expected.keySet()), all.stream().map(KeyValueBytes::key).toList());
            assertEquals(List.of(99L, 100L, 101L), engine.scan(50, 101, 10).stream().map(KeyValueBytes::key).toList());
            assertEquals(List.of(101L, Long.MAX_VALUE, Long.MIN_VALUE), engine.scan(101, Long.MIN_VALUE, 10).stream()
                    .map(KeyValueBytes::key).toList());
            assertEquals(List.of(Long.MAX_VALUE, Long.MIN_VALUE), engine.scan(102, 2).stream().map(KeyValueBytes::key).toList());
            // Each node's index holds only its own keys: a second engine finds them all through its own routing.
            RolexKV other = cluster.openEngine();
            for (long key : keys) {
                assertArrayEquals(expected.get(key), other.get(key).orElseThrow());
            }
        }
    }

    @Test
    void bulkLoadLaysOutBlocksInLargeWritesAndReplacesTheStore() {
        try (TestClusters.Cluster cluster = cluster(3)) {
            RolexKV engine = cluster.openEngine();
            engine.put(12345, value(512, 0));
            Random random = new Random(8);
            TreeMap<Long, byte[]> expected = new TreeMap<>(Long::compareUnsigned);
            while (expected.size() < 20_000) {
                long key = random.nextLong();
                int length = switch (random.nextInt(4)) {
                    case 0 -> random.nextInt(8);
                    case 1 -> 8;
                    case 2 -> 512;
                    default -> random.nextInt(2000);
                };
                expected.put(key, value(length, key));
            }
            long[] keys = expected.keySet().stream().mapToLong(Long::longValue).toArray();
            List<byte[]> values = new ArrayList<>(expected.values());
            var before = engine.counters().snapshot();
            engine.bulkLoad(keys, values);
            var cost = engine.counters().snapshot().minus(before);
            assertTrue(cost.doorbells() < 100, "bulk load of 20,000 values took doorbells=" + cost.doorbells());
            assertFalse(engine.get(12345).isPresent(), "what was there before is gone");
            assertEquals(576, engine.valueSpace().retiredBytes(), "and its block was freed");
            for (int probe = 0; probe < 2_000; probe++) {
                long key = keys[random.nextInt(keys.length)];
                assertArrayEquals(expected.get(key), engine.get(key).orElseThrow());
            }
            List<KeyValueBytes> all = engine.scan(0, Integer.MAX_VALUE);
            assertEquals(keys.length, all.size());
            for (KeyValueBytes pair : all) {
                assertArrayEquals(expected.get(pair.key()), pair.value());
            }
            // The loaded store takes writes, and another compute node opens it as it is.
            engine.put(keys[0], value(700, 1));
            RolexKV other = cluster.openEngine();
            assertArrayEquals(value(700, 1), other.get(keys[0]).orElseThrow());
            assertArrayEquals(expected.get(keys[1]), other.get(keys[1]).orElseThrow());
        }
    }

    @Test
    void inline8StoresExactlyEightBytesInTheWordItself() {
        try (TestClusters.Cluster cluster = TestClusters.start("loopback", 1, config -> config.put("value_layout", "inline8"))) {
            RolexKV engine = cluster.openEngine();
            assertEquals(8, engine.maxValueBytes());
            byte[] eight = {1, 2, 3, 4, 5, 6, 7, 8};
            var before = engine.counters().snapshot();
            engine.put(5, eight);
            assertTrue(engine.counters().snapshot().minus(before).doorbells() <= 2);
            before = engine.counters().snapshot();
            assertArrayEquals(eight, engine.get(5).orElseThrow());
            // A value block could only be read in a second doorbell, once the word naming it is known.
            assertEquals(1, engine.counters().snapshot().minus(before).doorbells(), "a get is the index's one doorbell");
            for (int length : new int[] {0, 7, 9}) {
                IllegalArgumentException wrong = assertThrows(IllegalArgumentException.class, () -> engine.put(6, new byte[length]));
                assertEquals("value bytes=" + length + " but value_layout=inline8 stores exactly 8", wrong.getMessage());
            }
            assertArrayEquals(new byte[] {2, 2, 3, 4, 5, 6, 7, 8}, engine.update(5, current -> current.map(bytes -> {
                byte[] next = bytes.clone();
                next[0]++;
                return next;
            })).orElseThrow());
            engine.bulkLoad(new long[] {1, 2}, List.of(eight, eight));
            assertEquals(2, engine.scan(0, 10).size());
            assertEquals(0, engine.valueSpace().claimedBytes(), "no values region space is used");

            // A compute node configured for blocks refuses this store rather than misread its words.
            ObjectNode blocks = cluster.config().put("value_layout", "blocks");
            ConfigException conflict = assertThrows(ConfigException.class,
                    () -> RolexKV.open(RolexKVConfig.from(ConfigNode.of(blocks)), cluster.nodes.transport()));
            assertTrue(conflict.getMessage().startsWith("conflicts with the store field=value_layout found=\"blocks\""
                    + " store=\"inline8\" memory_node=0"), conflict.getMessage());
        }
    }

    @Test
    void aMemoryNodeWithoutTheEngineRegionsOrReachedTwiceIsRefusedByName() {
        try (LoopbackTransport transport = new LoopbackTransport(); RegisteredMemory bare = new RegisteredMemory(4);
             EmbeddedCluster nodes = EmbeddedCluster.start("loopback", 1, EmbeddedCluster.Regions.SMALL)) {
            bare.allocate(IndexLayout.META_REGION, 4096);
            FabricServer server = transport.serve(bare, "bare");
            ObjectNode config = ConfigNode.newObject().put("engine_type", "rolex").put("transport", "loopback");
            config.putArray("memory_nodes").addObject().put("endpoint", server.endpoint());
            IllegalStateException missing = assertThrows(IllegalStateException.class,
                    () -> RolexKV.open(RolexKVConfig.from(ConfigNode.of(config)), transport));
            assertEquals("memory node 4 at endpoint=bare has no region named leaves; the engine with index=rolex needs [meta, leaves,"
                    + " tables, models, values] and it has [meta]", missing.getMessage());

            nodes.transport().serve(nodes.memory(0), "alias");
            ObjectNode twice = nodes.engineConfig();
            twice.withArray("memory_nodes").addObject().put("endpoint", "alias");
            ConfigException duplicate = assertThrows(ConfigException.class,
                    () -> RolexKV.open(RolexKVConfig.from(ConfigNode.of(twice)), nodes.transport()));
            assertEquals("two endpoints reach the same memory node field=memory_nodes[1].endpoint found=\"alias\""
                    + " memory_node_id=0 same as memory_nodes[0] endpoint=\"embedded-node-0\"" + RolexKV.DISTINCT_NODES_HINT,
                    duplicate.getMessage());
        }
    }

    @Test
    void computeNodesShareOneStoreEachWithItsOwnCaches() {
        try (TestClusters.Cluster cluster = cluster(3)) {
            List<BaseKV> engines = List.of(cluster.openEngine(), cluster.openEngine(), cluster.openEngine());
            for (int i = 0; i < 300; i++) {
                long key = i * 0x00D0_0000_0000_0001L;
                engines.get(i % 3).put(key, value(100 + i, i));
            }
            for (int i = 0; i < 300; i++) {
                long key = i * 0x00D0_0000_0000_0001L;
                assertArrayEquals(value(100 + i, i), engines.get((i + 1) % 3).get(key).orElseThrow());
                assertTrue(engines.get((i + 2) % 3).delete(key));
                assertFalse(engines.get(i % 3).get(key).isPresent());
            }
        }
    }
}
