package io.rolexkv.computenode;

import io.rolexkv.common.config.ConfigException;
import io.rolexkv.common.config.ConfigNode;
import io.rolexkv.common.fabric.ConnectionLostException;
import io.rolexkv.common.kv.BaseKV;
import io.rolexkv.common.kv.SortedMapKV;
import io.rolexkv.computenode.engine.RolexKV;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** engine_type picks the engine; each engine checks its own fields. */
@Timeout(30)
class KVEnginesTest {
    private static String failure(String json) {
        return assertThrows(ConfigException.class, () -> KVEngines.open(ConfigNode.parse(json, "t"))).getMessage();
    }

    @Test
    void inProcessIsSortedMapKVWithItsOwnField() {
        try (BaseKV engine = KVEngines.open(ConfigNode.parse("{\"engine_type\": \"in_process\", \"max_value_bytes\": \"1KiB\"}", "t"))) {
            assertInstanceOf(SortedMapKV.class, engine);
            assertEquals(1024, engine.maxValueBytes());
        }
        assertEquals("unknown field field=memory_nodes allowed=[engine_type, max_value_bytes]",
                failure("{\"engine_type\": \"in_process\", \"memory_nodes\": []}"));
    }

    @Test
    void engineTypeIsRequiredAndMustBeKnown() {
        assertEquals("missing field=engine_type expected=string allowed=[rolex, in_process]", failure("{}"));
        assertEquals("unknown value field=engine_type found=\"KVEngineComposite\" allowed=[rolex, in_process]",
                failure("{\"engine_type\": \"KVEngineComposite\"}"));
    }

    @Test
    void rolexOpensOnTheTransportThatServesInProcessNodes() {
        try (EmbeddedCluster cluster = EmbeddedCluster.start("loopback", 2, EmbeddedCluster.Regions.SMALL)) {
            try (BaseKV engine = KVEngines.open(ConfigNode.of(cluster.engineConfig()), cluster.transport())) {
                assertInstanceOf(RolexKV.class, engine);
                engine.put(1, new byte[] {1, 2, 3});
                assertArrayEquals(new byte[] {1, 2, 3}, engine.get(1).orElseThrow());
            }
            // Without the serving transport, in-process nodes cannot be reached: the error names the endpoint.
            ConnectionLostException unreachable = assertThrows(ConnectionLostException.class,
                    () -> KVEngines.open(ConfigNode.of(cluster.engineConfig())));
            assertTrue(unreachable.getMessage().contains("endpoint=embedded-node-0"), unreachable.getMessage());
            var tcpConfig = cluster.engineConfig().put("transport", "tcp");
            ConfigException mismatch = assertThrows(ConfigException.class,
                    () -> KVEngines.open(ConfigNode.of(tcpConfig), cluster.transport()));
            assertEquals("does not match the transport given field=transport found=\"tcp\" given=\"loopback\"", mismatch.getMessage());
        }
    }
}
