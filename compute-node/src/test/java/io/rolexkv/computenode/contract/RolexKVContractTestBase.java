package io.rolexkv.computenode.contract;

import io.rolexkv.common.kv.BaseKV;
import io.rolexkv.common.kv.BaseKVContractTest;
import io.rolexkv.computenode.TestClusters;

import java.util.ArrayList;
import java.util.List;

/**
 * The BaseKV contract on the rolex engine: each engine the suite asks for gets a fresh embedded cluster of memory
 * nodes over the given transport, stopped after the test.
 */
abstract class RolexKVContractTestBase extends BaseKVContractTest {
    private final String transport;
    private final int memoryNodes;
    private final List<TestClusters.Cluster> clusters = new ArrayList<>();

    RolexKVContractTestBase(String transport, int memoryNodes) {
        this.transport = transport;
        this.memoryNodes = memoryNodes;
    }

    @Override
    protected BaseKV newEngine(int maxValueBytes) {
        TestClusters.Cluster cluster = TestClusters.start(transport, memoryNodes,
                config -> config.put("max_value_bytes", maxValueBytes));
        clusters.add(cluster);
        return cluster.openBaseKV();
    }

    @Override
    protected void releaseResources() {
        clusters.forEach(TestClusters.Cluster::close);
        clusters.clear();
    }
}
