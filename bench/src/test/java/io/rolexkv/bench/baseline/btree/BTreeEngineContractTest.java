package io.rolexkv.bench.baseline.btree;

import io.rolexkv.common.kv.BaseKV;
import io.rolexkv.common.kv.BaseKVContractTest;
import io.rolexkv.computenode.EmbeddedCluster;

import java.util.ArrayList;
import java.util.List;

/**
 * The BaseKV contract on the engine with the B+tree as its index and value blocks, one memory node over loopback: the
 * baseline must keep every promise the ROLEX engine keeps before a comparison of the two means anything.
 */
class BTreeEngineContractTest extends BaseKVContractTest {
    private final List<EmbeddedCluster> clusters = new ArrayList<>();

    @Override
    protected BaseKV newEngine(int maxValueBytes) {
        EmbeddedCluster cluster = BTreeEngines.cluster("loopback", 1);
        clusters.add(cluster);
        return BTreeEngines.open(cluster, BTreeIndexKind.DEFAULT, config -> config.put("max_value_bytes", maxValueBytes));
    }

    @Override
    protected void releaseResources() {
        clusters.forEach(EmbeddedCluster::close);
        clusters.clear();
    }
}
