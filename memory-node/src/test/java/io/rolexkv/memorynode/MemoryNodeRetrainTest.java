package io.rolexkv.memorynode;

import io.rolexkv.common.config.ConfigException;
import io.rolexkv.common.config.ConfigNode;
import io.rolexkv.common.fabric.FabricConnection;
import io.rolexkv.common.fabric.FabricLimits;
import io.rolexkv.common.fabric.FabricTransport;
import io.rolexkv.common.fabric.FabricTransports;
import io.rolexkv.rolex.index.IndexGeometry;
import io.rolexkv.rolex.index.LeanIndex;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.time.Duration;
import java.util.OptionalLong;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The daemon's background retrainer keeps an index growing over tcp from ever running out of synonym slots. */
@Timeout(120)
class MemoryNodeRetrainTest {

    @Test
    void anIndexGrowsOverTcpWhileTheNodeRetrainsInTheBackground() {
        MemoryNodeConfig config = MemoryNodeConfig.from(ConfigNode.parse(
                "{\"transport\": \"tcp\", \"port\": 0, \"regions\": [{\"name\": \"meta\", \"bytes\": \"4KiB\"},"
                        + " {\"name\": \"leaves\", \"bytes\": \"64MiB\"}, {\"name\": \"tables\", \"bytes\": \"16MiB\"},"
                        + " {\"name\": \"models\", \"bytes\": \"4MiB\"}]}", "test"));
        try (MemoryNode node = MemoryNode.start(config);
             FabricTransport tcp = FabricTransports.create("tcp", FabricLimits.DEFAULT);
             FabricConnection connection = tcp.connect(node.endpoint(), null)) {
            // 16 groups, delta leaves of 8, 255 synonym slots per model: 20K inserts need many compactions.
            LeanIndex index = LeanIndex.createEmpty(connection, new IndexGeometry(8, 8, 8, 16))
                    .waitForRoom(Duration.ofSeconds(60));
            Random random = new Random(1);
            long[] keys = random.longs(20_000).distinct().toArray();
            for (long key : keys) {
                index.put(key, ~key, null);
            }
            assertTrue(node.retrainStats().retrains() > 0, "stats=" + node.retrainStats());
            assertTrue(node.retrainCpuSeconds() > 0);
            OptionalLong[] values = index.getAll(keys);
            for (int i = 0; i < keys.length; i++) {
                assertEquals(OptionalLong.of(~keys[i]), values[i]);
            }
            assertEquals(0, index.counters().insertsRejected());
        }
    }

    @Test
    void retrainSettingsAreValidatedWithTheirPath() {
        ConfigException threads = assertThrows(ConfigException.class, () -> MemoryNodeConfig.from(
                ConfigNode.parse("{\"retrain\": {\"threads\": 3}}", "test")));
        assertTrue(threads.getMessage().contains("memory_node.retrain.threads") || threads.getMessage().contains("retrain.threads"),
                threads.getMessage());
        ConfigException unknown = assertThrows(ConfigException.class, () -> MemoryNodeConfig.from(
                ConfigNode.parse("{\"retrain\": {\"thread\": 1}}", "test")));
        assertTrue(unknown.getMessage().contains("thread"), unknown.getMessage());
        assertEquals(0, MemoryNodeConfig.from(ConfigNode.parse("{\"retrain\": {\"threads\": 0}}", "test")).retrain().threads());
    }
}
