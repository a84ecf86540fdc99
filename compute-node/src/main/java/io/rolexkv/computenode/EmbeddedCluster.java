package io.rolexkv.computenode;

import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.rolexkv.common.background.BackgroundLoop;
import io.rolexkv.common.config.ConfigNode;
import io.rolexkv.common.fabric.FabricLimits;
import io.rolexkv.common.fabric.FabricServer;
import io.rolexkv.common.fabric.FabricTransport;
import io.rolexkv.common.fabric.FabricTransports;
import io.rolexkv.common.fabric.RegisteredMemory;
import io.rolexkv.computenode.engine.RolexKVConfig;
import io.rolexkv.computenode.value.ValueRegionDescriptor;
import io.rolexkv.common.fabric.loopback.LoopbackTransport;
import io.rolexkv.rolex.index.IndexLayout;
import io.rolexkv.rolex.index.LeanRetrainer;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Memory nodes inside this JVM: each registers the regions the engine needs (or, for another index kind, the regions
 * the caller names) ({@value IndexLayout#META_REGION},
 * {@value IndexLayout#LEAVES_REGION}, {@value IndexLayout#TABLES_REGION}, {@value IndexLayout#MODELS_REGION},
 * {@value ValueRegionDescriptor#REGION_NAME}) as anonymous memory and serves them on one transport. For tests, the
 * shell's {@code loopback} mode and trying the store on one machine; a real cluster runs memory-node daemons instead.
 *
 * <p>With retraining on, each node also runs a {@link LeanRetrainer} on a background thread ({@link BackgroundLoop}, as the
 * memory-node daemon does, failures logged) over its own memory, as a memory node's CPU would, so models whose synonym tables fill get retrained and writes into them (given an
 * {@code index_room_wait_ms}) wait for room instead of failing.
 */
public final class EmbeddedCluster implements AutoCloseable {
    /** How often an idle retrainer looks at its synonym tables. */
    static final long RETRAIN_POLL_MILLIS = 5;
    /** Pause after a failed retrain pass (logged), as the memory-node daemon's: a failure that repeats must not flood. */
    static final long RETRAIN_FAILURE_BACKOFF_MILLIS = 50;

    /** Region sizes of each memory node. */
    public record Regions(long metaBytes, long leavesBytes, long tablesBytes, long modelsBytes, long valuesBytes) {
        /** Enough for a few million small keys. */
        public static final Regions DEFAULT = new Regions(4096, 128L << 20, 16L << 20, 16L << 20, 128L << 20);
        /** For tests that start many nodes. */
        public static final Regions SMALL = new Regions(4096, 16L << 20, 4L << 20, 1L << 20, 32L << 20);

        /** The regions by name, in the order a node registers them. */
        public Map<String, Long> named() {
            Map<String, Long> named = new LinkedHashMap<>();
            named.put(IndexLayout.META_REGION, metaBytes);
            named.put(IndexLayout.LEAVES_REGION, leavesBytes);
            named.put(IndexLayout.TABLES_REGION, tablesBytes);
            named.put(IndexLayout.MODELS_REGION, modelsBytes);
            named.put(ValueRegionDescriptor.REGION_NAME, valuesBytes);
            return named;
        }
    }

    private final FabricTransport transport;
    private final List<RegisteredMemory> memories = new ArrayList<>();
    private final List<FabricServer> servers = new ArrayList<>();
    private final LoopbackTransport local = new LoopbackTransport();
    private final List<BackgroundLoop> retrainers = new ArrayList<>();

    private EmbeddedCluster(FabricTransport transport) {
        this.transport = transport;
    }

    /** Starts {@code memoryNodes} nodes, ids 0.., on a new transport of the named kind, without retraining. */
    public static EmbeddedCluster start(String transportName, int memoryNodes, Regions regions) {
        return start(transportName, memoryNodes, regions, false);
    }

    /** Starts {@code memoryNodes} nodes, ids 0.., on a new transport of the named kind, each retraining if asked. */
    public static EmbeddedCluster start(String transportName, int memoryNodes, Regions regions, boolean retrain) {
        return start(transportName, bindsFor(transportName, memoryNodes), regions.named(), retrain);
    }

    /**
     * Starts one node per entry of {@code binds}, ids 0.., served there: names for {@code loopback} (a config's
     * endpoints, say), {@code host:port} for the others (port 0 for any free one).
     */
    public static EmbeddedCluster start(String transportName, List<String> binds, Regions regions, boolean retrain) {
        return start(transportName, binds, regions.named(), retrain);
    }

    /**
     * Starts {@code memoryNodes} nodes, ids 0.., each registering exactly {@code regionBytes} (name to bytes): for an
     * engine whose index lives in other regions than ROLEX's (the B+tree baseline's, say). Retraining needs ROLEX's
     * regions.
     *
     * @throws IllegalArgumentException if {@code retrain} is asked of nodes without ROLEX's regions
     */
    public static EmbeddedCluster start(String transportName, int memoryNodes, Map<String, Long> regionBytes,
                                        boolean retrain) {
        List<String> rolexRegions = List.of(IndexLayout.META_REGION, IndexLayout.LEAVES_REGION, IndexLayout.TABLES_REGION,
                IndexLayout.MODELS_REGION);
        if (retrain && !regionBytes.keySet().containsAll(rolexRegions)) {
            throw new IllegalArgumentException("retraining needs the regions " + rolexRegions + " but the nodes get "
                    + regionBytes.keySet());
        }
        return start(transportName, bindsFor(transportName, memoryNodes), regionBytes, retrain);
    }

    private static List<String> bindsFor(String transportName, int memoryNodes) {
        List<String> binds = new ArrayList<>();
        for (int node = 0; node < memoryNodes; node++) {
            binds.add(transportName.equals(LoopbackTransport.NAME) ? "embedded-node-" + node : "127.0.0.1:0");
        }
        return binds;
    }

    private static EmbeddedCluster start(String transportName, List<String> binds, Map<String, Long> regionBytes,
                                         boolean retrain) {
        EmbeddedCluster cluster = new EmbeddedCluster(FabricTransports.create(transportName, FabricLimits.DEFAULT));
        try {
            for (int node = 0; node < binds.size(); node++) {
                RegisteredMemory memory = new RegisteredMemory(node);
                cluster.memories.add(memory);
                regionBytes.forEach(memory::allocate);
                cluster.servers.add(cluster.transport.serve(memory, binds.get(node)));
                if (retrain) {
                    cluster.startRetrainer(node, memory);
                }
            }
        } catch (RuntimeException e) {
            cluster.close();
            throw e;
        }
        return cluster;
    }

    private void startRetrainer(int node, RegisteredMemory memory) {
        String self = "self-" + node;
        local.serve(memory, self);
        LeanRetrainer retrainer = new LeanRetrainer(local.connect(self, null), FabricLimits.DEFAULT,
                LeanRetrainer.Policy.DEFAULT);
        retrainers.add(BackgroundLoop.start("retrainer-" + node, retrainer::passThenBackOff,
                RETRAIN_POLL_MILLIS, RETRAIN_FAILURE_BACKOFF_MILLIS));
    }

    public FabricTransport transport() {
        return transport;
    }

    public List<String> endpoints() {
        return servers.stream().map(FabricServer::endpoint).toList();
    }

    public RegisteredMemory memory(int node) {
        return memories.get(node);
    }

    public int size() {
        return memories.size();
    }

    /** A {@code rolex} engine config object for these nodes (even key split); add or change fields as needed. */
    public ObjectNode engineConfig() {
        ObjectNode config = ConfigNode.newObject();
        config.put("engine_type", RolexKVConfig.ENGINE_TYPE);
        config.put(RolexKVConfig.TRANSPORT_PROP_NAME, transport.name());
        ArrayNode nodes = config.putArray(RolexKVConfig.MEMORY_NODES_PROP_NAME);
        for (String endpoint : endpoints()) {
            nodes.addObject().put(RolexKVConfig.ENDPOINT_PROP_NAME, endpoint);
        }
        return config;
    }

    @Override
    public void close() {
        retrainers.forEach(BackgroundLoop::close);
        local.close();
        servers.forEach(FabricServer::close);
        transport.close();
        memories.forEach(RegisteredMemory::close);
    }
}
