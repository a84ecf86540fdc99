package io.rolexkv.bench.ycsb;

import io.rolexkv.bench.system.OperationCostProbe;
import io.rolexkv.bench.system.RolexEngineConfigs;
import io.rolexkv.common.config.ConfigNode;
import io.rolexkv.common.fabric.FabricTransports;
import io.rolexkv.common.fabric.loopback.LoopbackTransport;
import io.rolexkv.common.kv.BaseKV;
import io.rolexkv.computenode.KVEngines;
import io.rolexkv.computenode.engine.RolexKV;

import java.nio.file.InvalidPathException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Properties;

/**
 * The engine the binding opens for itself when YCSB's own {@code site.ycsb.Client} runs it ({@code ycsb load rolexkv
 * -P workloada -p rolexkv.memory_nodes=...}): nobody installed one in {@link YcsbEngineRegistry}, and the client gives
 * a binding nothing but its properties. One engine per JVM, as a compute node has: the first binding to start opens it
 * from the properties ({@link RolexKvYcsbProperties} lists them), every later one shares it, and the last to clean up
 * closes it. YCSB makes all its bindings from one set of properties, so the first binding's are everyone's.
 */
final class StandaloneEngine {
    private static final Object LOCK = new Object();
    private static YcsbBindingContext context;
    private static int users;

    private StandaloneEngine() {
    }

    /**
     * The shared engine's context, opened from {@code properties} if no binding holds it; every call must be matched
     * by one {@link #release()}.
     *
     * @throws IllegalArgumentException for a missing or bad property, naming it
     */
    static YcsbBindingContext acquire(Properties properties) {
        synchronized (LOCK) {
            if (context == null) {
                BaseKV engine = open(properties);
                OperationCostProbe costProbe = engine instanceof RolexKV rolex
                        ? () -> rolex.threadCounters().snapshot()
                        : OperationCostProbe.NONE;
                context = YcsbBindingContext.of(engine, costProbe);
            }
            users++;
            return context;
        }
    }

    /** One binding is done with the engine; the last one closes it. */
    static void release() {
        BaseKV closing = null;
        synchronized (LOCK) {
            if (users == 0) {
                throw new IllegalStateException("released the standalone YCSB engine more often than acquired");
            }
            if (--users == 0) {
                closing = context.engine();
                context = null;
            }
        }
        if (closing != null) {
            closing.close();
        }
    }

    /** How many bindings hold the engine now (for tests). */
    static int users() {
        synchronized (LOCK) {
            return users;
        }
    }

    private static BaseKV open(Properties properties) {
        String configFile = trimmed(properties, RolexKvYcsbProperties.CONFIG_PROP_NAME);
        if (configFile != null) {
            for (String other : List.of(RolexKvYcsbProperties.MEMORY_NODES_PROP_NAME,
                    RolexKvYcsbProperties.FABRIC_PROP_NAME, RolexKvYcsbProperties.ROOM_WAIT_MS_PROP_NAME)) {
                if (properties.getProperty(other) != null) {
                    throw new IllegalArgumentException(RolexKvYcsbProperties.CONFIG_PROP_NAME + "=" + configFile
                            + " and " + other + "=" + properties.getProperty(other) + " were both given; the config"
                            + " file describes the whole engine, so give one or the other");
                }
            }
            Path path;
            try {
                path = Path.of(configFile);
            } catch (InvalidPathException e) {
                throw new IllegalArgumentException(RolexKvYcsbProperties.CONFIG_PROP_NAME + "=" + configFile
                        + " is not a path: " + e.getMessage(), e);
            }
            return KVEngines.open(path);
        }
        String memoryNodes = trimmed(properties, RolexKvYcsbProperties.MEMORY_NODES_PROP_NAME);
        if (memoryNodes == null) {
            throw new IllegalArgumentException(RolexKvYcsbProperties.MEMORY_NODES_PROP_NAME + " is required: no engine"
                    + " is installed in this JVM, so the binding connects to running memory nodes; give "
                    + RolexKvYcsbProperties.MEMORY_NODES_PROP_NAME + "=host:port,... (or "
                    + RolexKvYcsbProperties.CONFIG_PROP_NAME + "=FILE), or, running YCSB in-process, call"
                    + " YcsbEngineRegistry.install(engine) before YCSB creates its clients (YcsbRunner does)");
        }
        List<String> endpoints = new ArrayList<>();
        for (String endpoint : memoryNodes.split(",")) {
            if (endpoint.isBlank()) {
                throw new IllegalArgumentException(RolexKvYcsbProperties.MEMORY_NODES_PROP_NAME + "=" + memoryNodes
                        + " has an empty entry; expected=host:port,...");
            }
            endpoints.add(endpoint.trim());
        }
        String fabric = properties.getProperty(RolexKvYcsbProperties.FABRIC_PROP_NAME,
                RolexKvYcsbProperties.FABRIC_DEFAULT).trim();
        List<String> reachable = FabricTransports.NAMES.stream()
                .filter(name -> !name.equals(LoopbackTransport.NAME)).toList();
        if (!reachable.contains(fabric)) {
            throw new IllegalArgumentException(RolexKvYcsbProperties.FABRIC_PROP_NAME + "=" + fabric + " allowed="
                    + reachable + " (loopback memory nodes live inside the process that serves them)");
        }
        String roomWait = trimmed(properties, RolexKvYcsbProperties.ROOM_WAIT_MS_PROP_NAME);
        long roomWaitMillis = roomWait == null ? RolexEngineConfigs.ROOM_WAIT_MILLIS_DEFAULT
                : RolexKvYcsbProperties.intAtLeast(RolexKvYcsbProperties.ROOM_WAIT_MS_PROP_NAME, roomWait, 0);
        int maxValueBytes = YcsbRecordCodec.fromProperties(properties)
                .maxValueBytes(RolexKvYcsbProperties.maxFieldBytes(properties));
        return KVEngines.open(ConfigNode.of(
                RolexEngineConfigs.forValues(fabric, endpoints, maxValueBytes, roomWaitMillis)));
    }

    private static String trimmed(Properties properties, String name) {
        String value = properties.getProperty(name);
        return value == null || value.isBlank() ? null : value.trim();
    }
}
