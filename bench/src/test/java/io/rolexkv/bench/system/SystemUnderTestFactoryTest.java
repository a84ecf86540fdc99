package io.rolexkv.bench.system;

import org.junit.jupiter.api.Test;

import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class SystemUnderTestFactoryTest {

    private static SystemOptions options(String system, String fabric, List<String> memoryNodes) {
        return new SystemOptions(system, fabric, memoryNodes, 1024, 2);
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
            system.engine().put(1, new byte[]{1});
            assertEquals(1, system.engine().get(1).orElseThrow().length);
        }
    }

    @Test
    void systemsNotInThisBuildSaySo() {
        for (String name : List.of("rolex", "btree", "rpc")) {
            UnsupportedOperationException refused = assertThrows(UnsupportedOperationException.class,
                    () -> SystemUnderTestFactory.open(options(name, "tcp", List.of())));
            assertTrue(refused.getMessage().contains("system=" + name + " is not available yet"), refused.getMessage());
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
}
