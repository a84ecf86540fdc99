package io.rolexkv.computenode.engine;

import com.fasterxml.jackson.databind.node.ObjectNode;
import io.rolexkv.common.kv.BaseKV;
import io.rolexkv.common.kv.SortedMapKV;
import io.rolexkv.computenode.TestClusters;

import java.util.ArrayList;
import java.util.List;
import java.util.function.Consumer;

/** The engine configurations the behaviour tests run on: in-process, and ROLEX over each transport on 1 and 3 nodes. */
final class EngineSetups {
    /** The configured maximum the tests use: not a power of two, above 64 KiB. */
    static final int MAX_VALUE_BYTES = 100_000;

    private EngineSetups() {
    }

    /** One way to get an engine; {@link #open()} gives a fresh store each time. */
    record Setup(String name, String transport, int memoryNodes, Consumer<ObjectNode> settings) {
        Opened open() {
            if (transport == null) {
                SortedMapKV engine = new SortedMapKV(MAX_VALUE_BYTES);
                return new Opened(null, engine);
            }
            TestClusters.Cluster cluster = TestClusters.start(transport, memoryNodes, config -> {
                config.put("max_value_bytes", MAX_VALUE_BYTES);
                settings.accept(config);
            });
            return new Opened(cluster, cluster.openBaseKV());
        }

        @Override
        public String toString() {
            return name;
        }
    }

    /** An engine and the cluster under it (null for in-process). */
    record Opened(TestClusters.Cluster cluster, BaseKV engine) implements AutoCloseable {
        @Override
        public void close() {
            engine.close();
            if (cluster != null) {
                cluster.close();
            }
        }
    }

    static List<Setup> all() {
        List<Setup> setups = new ArrayList<>();
        setups.add(new Setup("in_process", null, 0, config -> { }));
        for (String transport : TestClusters.TRANSPORTS) {
            setups.add(new Setup("rolex/" + transport + "/1 node", transport, 1, config -> { }));
            setups.add(new Setup("rolex/" + transport + "/3 nodes", transport, 3, config -> { }));
        }
        setups.add(new Setup("rolex/loopback/3 nodes, uneven ranges", "loopback", 3, EngineSetups::uneven));
        return setups;
    }

    /** Ranges [0, 1000), [1000, 2^63), [2^63, 2^64): small keys straddle the first boundary. */
    private static void uneven(ObjectNode config) {
        var nodes = config.withArray("memory_nodes");
        ((ObjectNode) nodes.get(0)).put("first_key", "0");
        ((ObjectNode) nodes.get(1)).put("first_key", "1000");
        ((ObjectNode) nodes.get(2)).put("first_key", "0x8000000000000000");
    }
}
