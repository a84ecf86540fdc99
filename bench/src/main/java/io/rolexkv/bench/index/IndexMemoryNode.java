package io.rolexkv.bench.index;

import io.rolexkv.common.fabric.FabricConnection;
import io.rolexkv.common.fabric.FabricLimits;
import io.rolexkv.common.fabric.FabricServer;
import io.rolexkv.common.fabric.FabricTransport;
import io.rolexkv.common.fabric.FabricTransports;
import io.rolexkv.common.fabric.RegisteredMemory;
import io.rolexkv.common.fabric.loopback.LoopbackTransport;
import io.rolexkv.rolex.index.IndexGeometry;
import io.rolexkv.rolex.index.IndexLayout;
import io.rolexkv.rolex.layout.IndexMetaDescriptor;
import io.rolexkv.rolex.layout.LeafRegionDescriptor;
import io.rolexkv.rolex.layout.ModelSetDescriptor;
import io.rolexkv.rolex.layout.TablesDescriptor;
import io.rolexkv.rolex.model.LinearModel;
import io.rolexkv.rolex.model.OptimalPiecewiseLinearTrainer;

import java.util.ArrayList;
import java.util.List;

/**
 * A memory node inside the bench's process: registered memory with the four regions an index needs, sized for one key
 * set and geometry, served on a real transport ({@code loopback}, or {@code tcp} on a local port, so every verb
 * crosses a socket). Each {@link #connect()} is a separate queue pair, as a separate compute node would have.
 *
 * <p>It runs no retrainer: a model whose synonym table fills rejects further inserts into its full leaves, and the
 * bench counts them. The bench measures the index's data path, not background work.
 */
final class IndexMemoryNode implements AutoCloseable {
    private final RegisteredMemory memory;
    private final FabricTransport transport;
    private final FabricServer server;
    private final List<FabricConnection> connections = new ArrayList<>();

    IndexMemoryNode(String transportName, RegionSizes sizes) {
        memory = new RegisteredMemory(0);
        transport = FabricTransports.create(transportName, FabricLimits.DEFAULT);
        try {
            memory.allocate(IndexLayout.META_REGION, sizes.metaBytes());
            memory.allocate(IndexLayout.LEAVES_REGION, sizes.leavesBytes());
            memory.allocate(IndexLayout.TABLES_REGION, sizes.tablesBytes());
            memory.allocate(IndexLayout.MODELS_REGION, sizes.modelsBytes());
            server = transport.serve(memory, LoopbackTransport.NAME.equals(transportName) ? "index-bench" : "127.0.0.1:0");
        } catch (RuntimeException e) {
            transport.close();
            memory.close();
            throw e;
        }
    }

    /** A new client connection; closed with the node. */
    synchronized FabricConnection connect() {
        FabricConnection connection = transport.connect(server.endpoint(), null);
        connections.add(connection);
        return connection;
    }

    @Override
    public synchronized void close() {
        connections.forEach(FabricConnection::close);
        server.close();
        transport.close();
        memory.close();
    }

    /**
     * The bytes of each index region for a bulk load of {@code keys} with {@code geometry}, followed by up to
     * {@code insertedKeys} inserts from up to {@code clients} compute nodes.
     *
     * <p>Exact for the load: the models are trained here as the bulk load trains them, so the leaf count (each model's
     * keys over the keys per leaf, rounded up) and the tables (an LT entry per leaf, one SLT per model) are known. For
     * the inserts, a bound: an insert splits at most one leaf, and each client may strand one partly used allocation
     * chunk.
     */
    record RegionSizes(long metaBytes, long leavesBytes, long tablesBytes, long modelsBytes, int models) {
        /** Slack on every computed size: region headers round up, and a page costs nothing. */
        static final long SLACK_BYTES = 4096;

        static RegionSizes forLoad(long[] keys, IndexGeometry geometry, long insertedKeys, int clients) {
            List<LinearModel> trained = OptimalPiecewiseLinearTrainer.train(keys, geometry.epsilon());
            long loadLeaves = 0;
            for (LinearModel model : trained) {
                loadLeaves += (model.rankCount() + geometry.keysPerLeafAtLoad() - 1) / geometry.keysPerLeafAtLoad();
            }
            int models = trained.size();
            long growthLeaves = insertedKeys + (long) clients * geometry.leafAllocationChunk();
            long leaves = LeafRegionDescriptor.HEADER_BYTES + (loadLeaves + growthLeaves) * geometry.leafBytes() + SLACK_BYTES;
            long tables = 8 * loadLeaves + (long) TablesDescriptor.SYNONYM_TABLE_BYTES * models + SLACK_BYTES;
            long modelSet = ModelSetDescriptor.setBytes(models) + SLACK_BYTES;
            return new RegionSizes(IndexMetaDescriptor.META_BYTES + SLACK_BYTES, leaves, tables, modelSet, models);
        }
    }
}
