package io.rolexkv.bench.system;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.fasterxml.jackson.databind.node.TextNode;
import io.rolexkv.common.config.ConfigNode;
import io.rolexkv.computenode.engine.RolexKVConfig;
import io.rolexkv.computenode.value.ValueFormat;

import java.util.List;
import java.util.Map;

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
    /**
     * The fields {@link #forValues} sets from the benchmark's own options: an engine setting may not replace them, or
     * the run would measure another fabric, other memory nodes or another value layout than its report says.
     */
    public static final List<String> HARNESS_FIELDS = List.of("engine_type", RolexKVConfig.TRANSPORT_PROP_NAME,
            RolexKVConfig.MEMORY_NODES_PROP_NAME, ValueFormat.PROP_NAME, RolexKVConfig.MAX_VALUE_BYTES_PROP_NAME);

    private static final ObjectMapper JSON = new ObjectMapper();

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

    /**
     * {@code config} with {@code settings} laid over it: each value is read as a JSON scalar ({@code 16}, {@code 0.75},
     * {@code true}) or else taken as text, and the engine's config reader then checks names and ranges as it checks a
     * config file's. For measuring other settings than the defaults, such as the index geometry
     * ({@code epsilon}, {@code group_size}, {@code leaf_capacity}).
     *
     * @throws IllegalArgumentException for a field in {@link #HARNESS_FIELDS}, or a value that is a JSON object or array
     */
    public static ObjectNode withSettings(ObjectNode config, Map<String, String> settings) {
        settings.forEach((name, text) -> {
            if (HARNESS_FIELDS.contains(name)) {
                throw new IllegalArgumentException("engine setting " + name + "=" + text + " is set by the benchmark's"
                        + " own options; harness_fields=" + HARNESS_FIELDS);
            }
            JsonNode value;
            try {
                value = JSON.readTree(text);
            } catch (JsonProcessingException e) {
                value = null;
            }
            if (value == null || value.isMissingNode()) {
                value = TextNode.valueOf(text);
            } else if (value.isContainerNode()) {
                throw new IllegalArgumentException("engine setting " + name + "=" + text
                        + " must be a number, true, false or text");
            }
            config.set(name, value);
        });
        return config;
    }
}
