package io.rolexkv.bench.system;

import io.rolexkv.bench.jmh.BenchmarkKeys;
import io.rolexkv.common.config.ConfigException;
import io.rolexkv.common.config.ConfigNode;
import io.rolexkv.common.fabric.MemoryNodeDataLostException;
import io.rolexkv.common.fabric.MemoryNodeDownException;
import io.rolexkv.memorynode.MemoryNode;
import io.rolexkv.memorynode.MemoryNodeConfig;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class SystemUnderTestFactoryTest {

    private static SystemOptions options(String system, String fabric, List<String> memoryNodes) {
        return new SystemOptions(system, fabric, memoryNodes, 1024, 2, 1_000);
    }

    @Test
    void theInProcessSystemHasNoFabricNoModelNoMemoryNode() {
        try (SystemUnderTest system = SystemUnderTestFactory.open(options("in_process", "loopback", List.of()))) {
            assertEquals("in_process", system.name());
            assertEquals("none", system.fabric());
            assertEquals(1024, system.engine().maxValueBytes());
            assertEquals(OperationCostProbe.NONE, system.costProbe());
            assertTrue(system.fabricCounters().isEmpty());
            assertTrue(system.modelCacheBytes().isEmpty());
            assertTrue(system.retrains().isEmpty());
            assertTrue(system.memoryNodeCpuSeconds().isEmpty());
            assertTrue(system.indexCounters().isEmpty());
            system.engine().put(1, new byte[]{1});
            assertEquals(1, system.engine().get(1).orElseThrow().length);
        }
    }

    @Test
    void btreeOnLoopbackRunsTheSameEngineWithTheTreeAsItsIndex() {
        try (SystemUnderTest system = SystemUnderTestFactory.open(options("btree", "loopback", List.of()))) {
            assertEquals("btree", system.name());
            assertEquals("loopback", system.fabric());
            for (long key = 0; key < 200; key++) {
                system.engine().put(key, new byte[100]);
            }
            assertEquals(100, system.engine().get(42).orElseThrow().length);
            long before = system.costProbe().callingThreadTotals().doorbells();
            system.engine().get(43);
            assertEquals(2, system.costProbe().callingThreadTotals().doorbells() - before, "leaf, then value block");
            assertTrue(system.modelCacheBytes().orElseThrow() > 0, "200 keys split the root leaf: an internal node is cached");
            assertTrue(system.retrains().isEmpty(), "a B+tree does not retrain");
            assertTrue(system.memoryNodeCpuSeconds().isEmpty(), "no separate memory node process");
        }
    }

    @Test
    void btreeOverTcpRunsItsMemoryNodeAsAProcessWithInlineValues() {
        SystemOptions inline = new SystemOptions("btree", "tcp", List.of(), 8, 2, 1_000);
        try (SystemUnderTest system = SystemUnderTestFactory.open(inline)) {
            system.engine().put(7, new byte[] {1, 2, 3, 4, 5, 6, 7, 8});
            long before = system.costProbe().callingThreadTotals().doorbells();
            assertEquals(8, system.engine().get(7).orElseThrow()[7]);
            assertEquals(1, system.costProbe().callingThreadTotals().doorbells() - before, "inline8: the leaf READ only");
            assertTrue(system.memoryNodeCpuSeconds().orElseThrow() > 0, "the memory node process's CPU is measured");
            assertTrue(system.retrains().isEmpty());
        }
    }

    @Test
    void rolexOnLoopbackRunsAnInProcessMemoryNode() {
        try (SystemUnderTest system = SystemUnderTestFactory.open(options("rolex", "loopback", List.of()))) {
            assertEquals("rolex", system.name());
            assertEquals("loopback", system.fabric());
            system.engine().put(42, new byte[] {4, 2});
            assertEquals(2, system.engine().get(42).orElseThrow().length);
            assertTrue(system.modelCacheBytes().orElseThrow() > 0);
            assertEquals(0, system.retrains().orElseThrow());
            assertTrue(system.memoryNodeCpuSeconds().isEmpty(), "no separate memory node process");
            assertTrue(system.fabricCounters().orElseThrow().doorbells() > 0);
            assertTrue(system.indexCounters().isPresent(), "the engine's index counters");
        }
    }

    @Test
    void rolexOverTcpRunsItsMemoryNodeAsAProcessAndStopsIt() {
        SystemUnderTest system = SystemUnderTestFactory.open(options("rolex", "tcp", List.of()));
        try {
            for (long key = 0; key < 200; key++) {
                system.engine().put(key, new byte[100]);
            }
            assertEquals(100, system.engine().get(7).orElseThrow().length);
            assertTrue(system.memoryNodeCpuSeconds().orElseThrow() > 0, "the memory node process's CPU is measured");
            long before = system.costProbe().callingThreadTotals().doorbells();
            system.engine().get(8);
            assertEquals(2, system.costProbe().callingThreadTotals().doorbells() - before, "leaf, then value block");
        } finally {
            system.close();
        }
        assertTrue(ProcessHandle.allProcesses().noneMatch(process -> process.parent().map(parent -> parent.pid()
                == ProcessHandle.current().pid()).orElse(false) && process.isAlive()), "no memory node process left behind");
    }

    /**
     * The retrain count is read through the engine's own connections: against a node restarted on its port without its
     * data it fails as every engine operation does, where a connection of its own would read the fresh node's 0.
     */
    @Test
    void retrainCountsOfANodeRestartedWithoutItsDataAreRefusedNotReadAsZero() {
        MemoryNode node = startMemoryNode(0);
        String endpoint = node.endpoint();
        try (SystemUnderTest system = SystemUnderTestFactory.open(options("rolex", "tcp", List.of(endpoint)))) {
            system.engine().put(1, new byte[]{1});
            assertEquals(0, system.retrains().orElseThrow(), "a node whose retrainer had nothing to do");
            node.close();
            node = startMemoryNode(Integer.parseInt(endpoint.substring(endpoint.lastIndexOf(':') + 1)));
            RuntimeException failure = assertThrows(RuntimeException.class, system::retrains);
            assertInstanceOf(MemoryNodeDataLostException.class,
                    MemoryNodeDownException.in(failure).orElseThrow(() -> failure));
        } finally {
            node.close();
        }
    }

    private static MemoryNode startMemoryNode(int port) {
        return MemoryNode.start(MemoryNodeConfig.from(ConfigNode.parse("{\"memory_node_id\": 4, \"transport\": \"tcp\","
                + " \"port\": " + port + ", \"regions\": [{\"name\": \"meta\", \"bytes\": \"4KiB\"}, {\"name\": \"leaves\","
                + " \"bytes\": \"16MiB\"}, {\"name\": \"tables\", \"bytes\": \"4MiB\"}, {\"name\": \"models\", \"bytes\": \"1MiB\"},"
                + " {\"name\": \"values\", \"bytes\": \"32MiB\"}]}", "test")));
    }

    @Test
    void rpcRunsItsServerAsAProcessAndCountsEachRequestAsARoundTrip() {
        try (SystemUnderTest system = SystemUnderTestFactory.open(options("rpc", "tcp", List.of()))) {
            system.engine().put(5, new byte[] {5});
            long before = system.costProbe().callingThreadTotals().doorbells();
            assertEquals(1, system.engine().get(5).orElseThrow().length);
            assertEquals(1, system.costProbe().callingThreadTotals().doorbells() - before, "one request, one answer");
            assertTrue(system.costProbe().callingThreadTotals().bytesRead() > 0);
            assertTrue(system.memoryNodeCpuSeconds().orElseThrow() > 0, "the server process's CPU is measured");
            assertTrue(system.modelCacheBytes().isEmpty());
        }
    }

    @Test
    void unknownNamesAndContradictionsAreRefusedByName() {
        assertTrue(assertThrows(IllegalArgumentException.class,
                () -> SystemUnderTestFactory.open(options("redis", "tcp", List.of()))).getMessage()
                .contains("system=redis allowed=[rolex, btree, rpc, in_process]"));
        assertTrue(assertThrows(IllegalArgumentException.class,
                () -> SystemUnderTestFactory.open(options("in_process", "rdma", List.of()))).getMessage()
                .contains("fabric=rdma"));
        assertTrue(assertThrows(IllegalArgumentException.class,
                () -> SystemUnderTestFactory.open(options("in_process", "tcp", List.of("host:1")))).getMessage()
                .contains("memory_nodes"));
    }

    private static long modelCacheBytesAfterBulkLoad(Map<String, String> engineSettings, long[] keys) {
        SystemOptions options = new SystemOptions("rolex", "loopback", List.of(), 8, 1, keys.length, Optional.empty(),
                engineSettings);
        try (SystemUnderTest system = SystemUnderTestFactory.open(options)) {
            List<byte[]> values = new ArrayList<>(keys.length);
            for (int i = 0; i < keys.length; i++) {
                values.add(new byte[8]);
            }
            system.engine().bulkLoad(keys, values);
            assertEquals(8, system.engine().get(keys[keys.length / 2]).orElseThrow().length);
            return system.modelCacheBytes().orElseThrow();
        }
    }

    @Test
    void engineSettingsReachTheIndexTheEngineBuilds() {
        long[] keys = BenchmarkKeys.uniform(20_000, 11);
        long tight = modelCacheBytesAfterBulkLoad(Map.of("epsilon", "2", "leaf_capacity", "16"), keys);
        long loose = modelCacheBytesAfterBulkLoad(Map.of("epsilon", "64", "leaf_capacity", "16"), keys);
        // Uniform keys at epsilon 2 need hundreds of models, at epsilon 64 a handful: the cache shows which was built.
        assertTrue(tight > 4 * loose, "tight=" + tight + " loose=" + loose);
    }

    @Test
    void engineSettingsAreCheckedAsTheEngineConfigIsAndNeverReplaceTheHarnessFields() {
        ConfigException unknown = assertThrows(ConfigException.class, () -> SystemUnderTestFactory.open(
                new SystemOptions("rolex", "loopback", List.of(), 8, 1, 1_000, Optional.empty(), Map.of("epsilom", "8"))));
        assertTrue(unknown.getMessage().contains("epsilom"), unknown.getMessage());
        ConfigException outOfRange = assertThrows(ConfigException.class, () -> SystemUnderTestFactory.open(
                new SystemOptions("rolex", "loopback", List.of(), 8, 1, 1_000, Optional.empty(), Map.of("leaf_capacity", "1"))));
        assertTrue(outOfRange.getMessage().contains("leaf_capacity"), outOfRange.getMessage());
        IllegalArgumentException harness = assertThrows(IllegalArgumentException.class, () -> SystemUnderTestFactory.open(
                new SystemOptions("rolex", "loopback", List.of(), 8, 1, 1_000, Optional.empty(), Map.of("transport", "tcp"))));
        assertTrue(harness.getMessage().contains("transport=tcp"), harness.getMessage());
        IllegalArgumentException rpc = assertThrows(IllegalArgumentException.class, () -> SystemUnderTestFactory.open(
                new SystemOptions("rpc", "tcp", List.of(), 8, 1, 1_000, Optional.empty(), Map.of("epsilon", "8"))));
        assertTrue(rpc.getMessage().contains("system=rpc"), rpc.getMessage());
    }
}
