package io.rolexkv.bench.system;

import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.rolexkv.common.config.ConfigNode;
import io.rolexkv.common.fabric.FabricConnection;
import io.rolexkv.common.fabric.FabricCounters;
import io.rolexkv.common.fabric.FabricLimits;
import io.rolexkv.common.fabric.FabricTransport;
import io.rolexkv.common.fabric.FabricTransports;
import io.rolexkv.common.kv.BaseKV;
import io.rolexkv.computenode.EmbeddedCluster;
import io.rolexkv.computenode.engine.RolexKV;
import io.rolexkv.computenode.engine.RolexKVConfig;
import io.rolexkv.rolex.index.IndexLayout;
import io.rolexkv.rolex.index.RolexIndex;

import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.OptionalDouble;
import java.util.OptionalLong;

/**
 * The {@code rolex} engine as a system under test, with its memory nodes: an in-process node for {@code --fabric
 * loopback}; by default a memory node of its own (a separate JVM, as on a real cluster, so its CPU time is measured
 * apart) served over tcp on 127.0.0.1; or memory nodes already running ({@code --memory-nodes}), which it leaves
 * running. Embedded nodes retrain in the background, and writes wait for that retraining rather than fail.
 * Values of exactly 8 bytes are stored inline in the leaves ({@code value_layout: inline8}), anything else in value
 * blocks.
 */
final class RolexSystem implements SystemUnderTest {
    /** How long a write into a model whose synonym table is full waits for the memory node's retrainer. */
    private static final long ROOM_WAIT_MILLIS = 120_000;

    private final String fabric;
    private final RolexKV engine;
    private final FabricTransport transport;
    private final EmbeddedCluster cluster;
    private final List<ChildProcess> processes;
    private final List<String> endpoints;

    private RolexSystem(String fabric, RolexKV engine, FabricTransport transport, EmbeddedCluster cluster,
                        List<ChildProcess> processes, List<String> endpoints) {
        this.fabric = fabric;
        this.engine = engine;
        this.transport = transport;
        this.cluster = cluster;
        this.processes = processes;
        this.endpoints = endpoints;
    }

    static RolexSystem open(SystemOptions options) {
        long records = Math.max(options.expectedRecords(), 1_000);
        long valueBlockBytes = options.maxValueBytes() <= 8 ? 0 : options.maxValueBytes() + 64L;
        EmbeddedCluster.Regions regions = new EmbeddedCluster.Regions(
                1L << 20,
                Math.max(64L << 20, records * 64),               // ~24 keys per 576-byte leaf, room to grow
                Math.max(16L << 20, records * 4),
                Math.max(16L << 20, records / 4),
                Math.max(32L << 20, records * valueBlockBytes * 3 / 2));
        List<ChildProcess> processes = new ArrayList<>();
        EmbeddedCluster cluster = null;
        FabricTransport transport = null;
        List<String> endpoints;
        try {
            if (!options.memoryNodes().isEmpty()) {
                endpoints = options.memoryNodes();
                transport = FabricTransports.create(options.fabric(), FabricLimits.DEFAULT);
            } else if ("loopback".equals(options.fabric())) {
                cluster = EmbeddedCluster.start("loopback", 1, regions, true);
                endpoints = cluster.endpoints();
                transport = cluster.transport();
            } else {
                processes.add(startMemoryNode(0, regions));
                endpoints = List.of(processes.getFirst().readyLine());
                transport = FabricTransports.create(options.fabric(), FabricLimits.DEFAULT);
            }
            ObjectNode config = ConfigNode.newObject();
            config.put("engine_type", RolexKVConfig.ENGINE_TYPE);
            config.put(RolexKVConfig.TRANSPORT_PROP_NAME, options.fabric());
            ArrayNode nodes = config.putArray(RolexKVConfig.MEMORY_NODES_PROP_NAME);
            endpoints.forEach(endpoint -> nodes.addObject().put(RolexKVConfig.ENDPOINT_PROP_NAME, endpoint));
            config.put("value_layout", options.maxValueBytes() == 8 ? "inline8" : "blocks");
            if (options.maxValueBytes() != 8) {
                config.put(RolexKVConfig.MAX_VALUE_BYTES_PROP_NAME, Math.max(options.maxValueBytes(), 1));
            }
            config.put(RolexKVConfig.ROOM_WAIT_MS_PROP_NAME, ROOM_WAIT_MILLIS);
            RolexKV engine = RolexKV.open(RolexKVConfig.from(ConfigNode.of(config)), transport);
            return new RolexSystem(options.fabric(), engine, cluster == null ? transport : null, cluster, processes, endpoints);
        } catch (RuntimeException e) {
            processes.forEach(ChildProcess::close);
            if (cluster != null) {
                cluster.close();
            } else if (transport != null) {
                transport.close();
            }
            throw e;
        }
    }

    /** A memory node process serving these regions over tcp on a free port of 127.0.0.1, retraining in the background. */
    private static ChildProcess startMemoryNode(int nodeId, EmbeddedCluster.Regions regions) {
        List<String> arguments = List.of("memory-node", "--host", "127.0.0.1", "--port", "0", "--node-id", String.valueOf(nodeId),
                "--region", IndexLayout.META_REGION + "=" + regions.metaBytes(),
                "--region", IndexLayout.LEAVES_REGION + "=" + regions.leavesBytes(),
                "--region", IndexLayout.TABLES_REGION + "=" + regions.tablesBytes(),
                "--region", IndexLayout.MODELS_REGION + "=" + regions.modelsBytes(),
                "--region", "values=" + regions.valuesBytes());
        return ChildProcess.start("memory-node-" + nodeId, "io.rolexkv.bench.cli.RolexKvCli", arguments,
                ChildProcess.valueOn("memory node ready", "endpoint"));
    }

    @Override
    public String name() {
        return SystemUnderTestFactory.ROLEX;
    }

    @Override
    public String fabric() {
        return fabric;
    }

    @Override
    public BaseKV engine() {
        return engine;
    }

    @Override
    public OperationCostProbe costProbe() {
        return () -> engine.threadCounters().snapshot();
    }

    @Override
    public Optional<FabricCounters.Snapshot> fabricCounters() {
        return Optional.of(engine.counters().snapshot());
    }

    @Override
    public OptionalLong modelCacheBytes() {
        return OptionalLong.of(engine.modelCacheBytes());
    }

    /** The memory nodes' own count of completed retrains, read from each node's index meta region. */
    @Override
    public OptionalLong retrains() {
        long total = 0;
        for (String endpoint : endpoints) {
            try (FabricConnection connection = transport().connect(endpoint, null)) {
                total += RolexIndex.retrainsPublished(connection);
            }
        }
        return OptionalLong.of(total);
    }

    private FabricTransport transport() {
        return cluster != null ? cluster.transport() : transport;
    }

    @Override
    public OptionalDouble memoryNodeCpuSeconds() {
        if (processes.isEmpty()) {
            return OptionalDouble.empty();
        }
        return OptionalDouble.of(processes.stream().mapToDouble(ChildProcess::cpuSeconds).sum());
    }

    @Override
    public void close() {
        try {
            engine.close();
        } finally {
            processes.forEach(ChildProcess::close);
            if (cluster != null) {
                cluster.close();
            } else if (transport != null) {
                transport.close();
            }
        }
    }
}
