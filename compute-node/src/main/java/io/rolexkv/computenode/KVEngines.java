package io.rolexkv.computenode;

import io.rolexkv.common.config.ConfigNode;
import io.rolexkv.common.fabric.FabricTransport;
import io.rolexkv.common.kv.BaseKV;
import io.rolexkv.common.kv.SortedMapKV;
import io.rolexkv.computenode.engine.RolexKV;
import io.rolexkv.computenode.engine.RolexKVConfig;

import java.nio.file.Path;
import java.util.List;

/**
 * The one place that turns an engine config into a {@link BaseKV}, as RecStore resolves {@code engine_type}: the
 * config is a JSON object whose {@value #ENGINE_TYPE_PROP_NAME} picks the engine, and whose other fields belong to
 * that engine, which validates them when it is built (an unknown field is an error, named with its path).
 *
 * <ul>
 *   <li>{@code "rolex"}: {@link RolexKV} on memory nodes; fields in {@link RolexKVConfig}.</li>
 *   <li>{@code "in_process"}: {@link SortedMapKV}, everything in this JVM; one optional field,
 *       {@value #MAX_VALUE_BYTES_PROP_NAME}.</li>
 * </ul>
 */
public final class KVEngines {
    public static final String ENGINE_TYPE_PROP_NAME = "engine_type";
    public static final List<String> ENGINE_TYPES = List.of(RolexKVConfig.ENGINE_TYPE, SortedMapKV.ENGINE_TYPE);
    public static final String MAX_VALUE_BYTES_PROP_NAME = "max_value_bytes";
    public static final int IN_PROCESS_MAX_VALUE_BYTES_DEFAULT = RolexKVConfig.MAX_VALUE_BYTES_DEFAULT;
    public static final int IN_PROCESS_MAX_VALUE_BYTES_LIMIT = 1 << 30;

    private KVEngines() {
    }

    /** Opens the engine the file's top-level object describes. */
    public static BaseKV open(Path file) {
        return open(ConfigNode.load(file));
    }

    /**
     * Opens the engine {@code config} describes; a {@code rolex} engine makes its own transport from its
     * {@code transport} field.
     *
     * @throws io.rolexkv.common.config.ConfigException for a config error, naming the field
     */
    public static BaseKV open(ConfigNode config) {
        return open(config, null);
    }

    /**
     * Opens the engine {@code config} describes; a {@code rolex} engine uses {@code transport} (kept by the caller),
     * which must be of the config's transport kind, or makes its own if it is {@code null}. In-process memory nodes
     * ({@code loopback}) are reachable only through the transport that serves them.
     */
    public static BaseKV open(ConfigNode config, FabricTransport transport) {
        String engineType = config.requireOneOf(ENGINE_TYPE_PROP_NAME, ENGINE_TYPES);
        return switch (engineType) {
            case RolexKVConfig.ENGINE_TYPE -> {
                RolexKVConfig rolexConfig = RolexKVConfig.from(config);
                yield transport == null ? RolexKV.open(rolexConfig) : RolexKV.open(rolexConfig, transport);
            }
            case SortedMapKV.ENGINE_TYPE -> openInProcess(config);
            default -> throw new IllegalStateException("engine_type=" + engineType + " has no factory entry");
        };
    }

    private static SortedMapKV openInProcess(ConfigNode config) {
        int maxValueBytes = (int) config.optionalSize(MAX_VALUE_BYTES_PROP_NAME, IN_PROCESS_MAX_VALUE_BYTES_DEFAULT, 0,
                IN_PROCESS_MAX_VALUE_BYTES_LIMIT);
        config.rejectUnknownFields();
        return new SortedMapKV(maxValueBytes);
    }
}
