package io.rolexkv.bench.system;

import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.rolexkv.common.config.ConfigNode;
import io.rolexkv.computenode.engine.RolexKVConfig;
import io.rolexkv.computenode.value.ValueFormat;

import java.util.List;

/**
 * The {@code rolex} engine config the benchmarks run with, built in one place so every way of driving the engine (the
 * harness's system under test, the YCSB binding run from YCSB's own client) measures the same engine: values of
 * exactly 8 bytes inline in the leaves ({@code value_layout: inline8}), anything else in value blocks sized for the
 * longest value; writes into a model whose synonym table is full wait for the memory node's retrainer (memory nodes
 * retrain in the background by default) rather than fail.
 */
public final class RolexEngineConfigs {
    /** How long a write into a model whose synonym table is full waits for the memory node's retrainer. */
    public static final long ROOM_WAIT_MILLIS_DEFAULT = 120_000;
    /** The one value size stored inline in the leaf word. */
    public static final int INLINE_VALUE_BYTES = Long.BYTES;

    private RolexEngineConfigs() {
    }

    /**
     * The engine object for memory nodes at {@code endpoints} (in key order, an even key split) over {@code fabric},
     * for values of at most {@code maxValueBytes} bytes.
     */
    public static ObjectNode forValues(String fabric, List<String> endpoints, int maxValueBytes, long roomWaitMillis) {
        if (endpoints.isEmpty()) {
            throw new IllegalArgumentException(RolexKVConfig.MEMORY_NODES_PROP_NAME + " must name at least one memory node");
        }
        if (maxValueBytes < 0) {
            throw new IllegalArgumentException("max_value_bytes=" + maxValueBytes + " must be >= 0");
        }
        ObjectNode config = ConfigNode.newObject();
        config.put("engine_type", RolexKVConfig.ENGINE_TYPE);
        config.put(RolexKVConfig.TRANSPORT_PROP_NAME, fabric);
        ArrayNode nodes = config.putArray(RolexKVConfig.MEMORY_NODES_PROP_NAME);
        endpoints.forEach(endpoint -> nodes.addObject().put(RolexKVConfig.ENDPOINT_PROP_NAME, endpoint));
        boolean inline = maxValueBytes == INLINE_VALUE_BYTES;
        config.put(ValueFormat.PROP_NAME, inline ? ValueFormat.INLINE8.configName() : ValueFormat.BLOCKS.configName());
        if (!inline) {
            config.put(RolexKVConfig.MAX_VALUE_BYTES_PROP_NAME, Math.max(maxValueBytes, 1));
        }
        config.put(RolexKVConfig.ROOM_WAIT_MS_PROP_NAME, roomWaitMillis);
        return config;
    }
}
