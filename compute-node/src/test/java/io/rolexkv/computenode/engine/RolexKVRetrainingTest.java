package io.rolexkv.computenode.engine;

import io.rolexkv.common.config.ConfigNode;
import io.rolexkv.common.kv.KeyValueBytes;
import io.rolexkv.computenode.EmbeddedCluster;
import io.rolexkv.computenode.KVEngines;
import io.rolexkv.rolex.index.IndexFullException;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.util.List;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Keys crowded into a corner of the key space fill a model's synonym table. Without a retrainer the engine refuses the
 * key that finds no room, storing nothing; with memory nodes that retrain, the same writes wait for room and all land,
 * while other compute nodes keep reading through the model changes.
 */
@Timeout(120)
class RolexKVRetrainingTest {
    static final int KEYS = 3_000;

    private static RolexKV open(EmbeddedCluster cluster, long roomWaitMillis) {
        var config = cluster.engineConfig().put("leaf_capacity", 8).put("empty_index_groups", 16)
                .put("index_room_wait_ms", roomWaitMillis);
        return (RolexKV) KVEngines.open(ConfigNode.of(config), cluster.transport());
    }

    private static byte[] value(long key) {
        byte[] value = new byte[24];
        value[0] = (byte) key;
        value[23] = (byte) (key >>> 8);
        return value;
    }

    @Test
    void withoutARetrainerAFullModelRefusesTheKeyAndStoresNothing() {
        try (EmbeddedCluster cluster = EmbeddedCluster.start("loopback", 1, EmbeddedCluster.Regions.SMALL)) {
            RolexKV engine = open(cluster, 0);
            IndexFullException full = assertThrows(IndexFullException.class, () -> {
                for (long key = 0; key < KEYS; key++) {
                    engine.put(key, value(key));
                }
            });
            assertTrue(full.getMessage().contains("nothing was stored"), full.getMessage());
            long stored = engine.scan(0, Integer.MAX_VALUE).size();
            assertTrue(stored > 0 && stored < KEYS);
            assertEquals(0, engine.valueSpace().allocatedBytes() - stored * 48, "the refused key's block went back");
        }
    }

    @Test
    void withRetrainingMemoryNodesEveryWriteLandsAndReadersFollowTheNewModels() {
        try (EmbeddedCluster cluster = EmbeddedCluster.start("loopback", 1, EmbeddedCluster.Regions.SMALL, true)) {
            RolexKV writer = open(cluster, 60_000);
            RolexKV reader = open(cluster, 60_000);
            for (long key = 0; key < KEYS; key++) {
                writer.put(key, value(key));
                if (key % 500 == 0) {
                    assertArrayEquals(value(key / 2), reader.get(key / 2).orElseThrow(), "key " + key / 2);
                }
            }
            List<KeyValueBytes> all = reader.scan(0, Integer.MAX_VALUE);
            assertEquals(KEYS, all.size());
            for (KeyValueBytes pair : all) {
                assertArrayEquals(value(pair.key()), pair.value());
            }
            assertTrue(writer.indexCounters().refreshes() + reader.indexCounters().refreshes() > 0,
                    "the models were retrained under the compute nodes");
        }
    }
}
