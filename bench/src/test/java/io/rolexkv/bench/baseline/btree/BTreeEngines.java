package io.rolexkv.bench.baseline.btree;

import com.fasterxml.jackson.databind.node.ObjectNode;
import io.rolexkv.common.config.ConfigNode;
import io.rolexkv.computenode.EmbeddedCluster;
import io.rolexkv.computenode.engine.RolexKV;
import io.rolexkv.computenode.engine.RolexKVConfig;
import io.rolexkv.computenode.value.ValueRegionDescriptor;

import java.util.LinkedHashMap;
import java.util.Map;
import java.util.function.Consumer;

/** Embedded memory nodes with a {@code btree} and a values region, and the engine over them with the B+tree index. */
final class BTreeEngines {
    private BTreeEngines() {
    }

    static EmbeddedCluster cluster(String transport, int memoryNodes) {
        Map<String, Long> regions = new LinkedHashMap<>();
        regions.put(BTreeRegionDescriptor.REGION_NAME, 16L << 20);
        regions.put(ValueRegionDescriptor.REGION_NAME, 32L << 20);
        return EmbeddedCluster.start(transport, memoryNodes, regions, false);
    }

    /** The engine with {@code kind} as the index on every node of {@code cluster}; {@code settings} edits the config. */
    static RolexKV open(EmbeddedCluster cluster, BTreeIndexKind kind, Consumer<ObjectNode> settings) {
        ObjectNode config = cluster.engineConfig();
        settings.accept(config);
        return RolexKV.open(RolexKVConfig.from(ConfigNode.of(config)), cluster.transport(), kind);
    }
}
