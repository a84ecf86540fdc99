package io.rolexkv.bench.index;

import io.rolexkv.common.fabric.FabricConnection;
import io.rolexkv.computenode.EmbeddedCluster;
import io.rolexkv.rolex.index.IndexGeometry;
import io.rolexkv.rolex.index.LeanIndex;
import io.rolexkv.rolex.index.IndexLayout;
import io.rolexkv.rolex.layout.IndexMetaDescriptor;
import io.rolexkv.rolex.layout.LeafRegionDescriptor;
import io.rolexkv.rolex.layout.ModelSetDescriptor;
import io.rolexkv.rolex.model.LinearModel;
import io.rolexkv.rolex.model.OptimalPiecewiseLinearTrainer;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * A memory node inside the bench's process: an {@link EmbeddedCluster} of one node with the four regions an index
 * needs, sized for one key set and geometry, served on a real transport ({@code loopback}, or {@code tcp} on a local
 * port, so every verb crosses a socket). Each {@link #connect()} is a separate queue pair, as a separate compute node
 * would have.
 *
 * <p>It runs no retrainer: a model whose synonym table fills rejects further inserts into its full leaves, and the
 * bench counts them. The bench measures the index's data path, not background work.
 */
final class IndexMemoryNode implements AutoCloseable {
    private final EmbeddedCluster cluster;
    private final List<FabricConnection> connections = new ArrayList<>();

    IndexMemoryNode(String transportName, RegionSizes sizes) {
        Map<String, Long> regions = new LinkedHashMap<>();
        regions.put(IndexLayout.META_REGION, sizes.metaBytes());
        regions.put(IndexLayout.LEAVES_REGION, sizes.leavesBytes());
        regions.put(IndexLayout.TABLES_REGION, sizes.tablesBytes());
        regions.put(IndexLayout.MODELS_REGION, sizes.modelsBytes());
        cluster = EmbeddedCluster.start(transportName, 1, regions, false);
    }

    /** A new client connection; closed with the node. */
    synchronized FabricConnection connect() {
        FabricConnection connection = cluster.transport().connect(cluster.endpoints().getFirst(), null);
        connections.add(connection);
        return connection;
    }

    @Override
    public synchronized void close() {
        connections.forEach(FabricConnection::close);
        cluster.close();
    }

    /**
     * The bytes of each index region for a bulk load of {@code keys} with {@code geometry}, followed by up to
     * {@code insertedKeys} inserts from up to {@code clients} compute nodes.
     *
     * <p>Exact for the load: the models are trained here as the bulk load trains them, so each model's block in the
     * tables region (group heads, SLT, dense base) is known. For the inserts, a bound: an insert makes at most one delta
     * leaf, and each client may strand one partly used allocation chunk.
     */
    record RegionSizes(long metaBytes, long leavesBytes, long tablesBytes, long modelsBytes, int models) {
        /** Slack on every computed size: region headers round up, and a page costs nothing. */
        static final long SLACK_BYTES = 4096;

        static RegionSizes forLoad(long[] keys, IndexGeometry geometry, long insertedKeys, int clients) {
            List<LinearModel> trained = OptimalPiecewiseLinearTrainer.train(keys, geometry.epsilon());
            long tables = SLACK_BYTES;
            for (LinearModel model : trained) {
                tables += LeanIndex.modelBlockBytes(Math.toIntExact(model.rankCount()), geometry.groupSize());
            }
            int models = trained.size();
            long growthLeaves = insertedKeys + (long) clients * IndexGeometry.LEAF_ALLOCATION_CHUNK;
            long leaves = LeafRegionDescriptor.HEADER_BYTES + growthLeaves * geometry.leafBytes() + SLACK_BYTES;
            long modelSet = ModelSetDescriptor.setBytes(models) + SLACK_BYTES;
            return new RegionSizes(IndexMetaDescriptor.META_BYTES + SLACK_BYTES, leaves, tables, modelSet, models);
        }
    }
}
