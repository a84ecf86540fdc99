package io.rolexkv.computenode;

import com.fasterxml.jackson.databind.node.ObjectNode;
import io.rolexkv.common.config.ConfigNode;
import io.rolexkv.common.fabric.FabricConnection;
import io.rolexkv.common.fabric.FabricTransports;
import io.rolexkv.common.kv.BaseKV;
import io.rolexkv.computenode.engine.RolexKV;
import io.rolexkv.rolex.index.LeanIndexChecker;

import java.util.ArrayList;
import java.util.List;
import java.util.function.Consumer;

/**
 * Engines for tests: an embedded cluster of memory nodes and engines opened on it, each engine its own set of
 * connections (as a separate compute node would have). Over {@code loopback} engines share the cluster's transport
 * (the only way to reach in-process nodes); over {@code tcp} each engine makes its own transport from the config.
 */
public final class TestClusters {
    /** The transports engine tests run over: every one the factory knows except rdma (no device here). */
    public static final List<String> TRANSPORTS = FabricTransports.NAMES.stream().filter(name -> !name.equals("rdma")).toList();

    private TestClusters() {
    }

    /** A cluster and the engines opened on it; closing it closes them all. */
    public static final class Cluster implements AutoCloseable {
        public final EmbeddedCluster nodes;
        private final ObjectNode config;
        private final List<BaseKV> engines = new ArrayList<>();

        Cluster(EmbeddedCluster nodes, ObjectNode config) {
            this.nodes = nodes;
            this.config = config;
        }

        /** A new engine (a new compute node) on this cluster. */
        public RolexKV openEngine() {
            return (RolexKV) openBaseKV();
        }

        public BaseKV openBaseKV() {
            ConfigNode node = ConfigNode.of(config.deepCopy());
            BaseKV engine = nodes.transport().name().equals("loopback")
                    ? KVEngines.open(node, nodes.transport()) : KVEngines.open(node);
            engines.add(engine);
            return engine;
        }

        public ObjectNode config() {
            return config.deepCopy();
        }

        /**
         * Runs the structure checker on every memory node's index (quiescent: call it once the clients are done) and
         * returns the keys they hold together.
         *
         * @throws io.rolexkv.common.fabric.CorruptDataException naming every broken invariant, if a node's index is unsound
         */
        public long checkIndexes() {
            long keys = 0;
            for (String endpoint : nodes.endpoints()) {
                try (FabricConnection connection = nodes.transport().connect(endpoint, null)) {
                    keys += LeanIndexChecker.check(connection).requireSound().keys();
                }
            }
            return keys;
        }

        @Override
        public void close() {
            engines.forEach(BaseKV::close);
            nodes.close();
        }
    }

    /** A cluster of {@code memoryNodes} small nodes over {@code transport}; {@code settings} edits the engine config. */
    public static Cluster start(String transport, int memoryNodes, Consumer<ObjectNode> settings) {
        EmbeddedCluster nodes = EmbeddedCluster.start(transport, memoryNodes, EmbeddedCluster.Regions.SMALL);
        ObjectNode config = nodes.engineConfig();
        settings.accept(config);
        return new Cluster(nodes, config);
    }

    public static Cluster start(String transport, int memoryNodes) {
        return start(transport, memoryNodes, config -> { });
    }
}
