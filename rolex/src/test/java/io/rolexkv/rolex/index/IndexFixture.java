package io.rolexkv.rolex.index;

import io.rolexkv.common.fabric.FabricConnection;
import io.rolexkv.common.fabric.FabricCounters;
import io.rolexkv.common.fabric.FabricServer;
import io.rolexkv.common.fabric.FabricTransport;
import io.rolexkv.common.fabric.FabricTransports;
import io.rolexkv.common.fabric.FabricLimits;
import io.rolexkv.common.fabric.RegisteredMemory;

import java.util.ArrayList;
import java.util.List;

/**
 * A memory node with the regions an index needs, served over a named transport, for index tests. Each
 * {@link #connect()} is a separate queue pair, as a separate compute node would have.
 */
final class IndexFixture implements AutoCloseable {
    final RegisteredMemory memory;
    final FabricTransport transport;
    final FabricServer server;
    final FabricCounters totals = new FabricCounters();
    private final List<FabricConnection> connections = new ArrayList<>();

    IndexFixture(String transportName, long leavesBytes) {
        memory = new RegisteredMemory(0);
        memory.allocate(IndexLayout.META_REGION, 4096);
        memory.allocate(IndexLayout.LEAVES_REGION, leavesBytes);
        memory.allocate(IndexLayout.TABLES_REGION, 16L << 20);
        memory.allocate(IndexLayout.MODELS_REGION, 4L << 20);
        transport = FabricTransports.create(transportName, FabricLimits.DEFAULT);
        server = transport.serve(memory, "loopback".equals(transportName) ? "index-test" : "127.0.0.1:0");
    }

    FabricConnection connect() {
        FabricConnection connection = transport.connect(server.endpoint(), totals);
        connections.add(connection);
        return connection;
    }

    @Override
    public void close() {
        connections.forEach(FabricConnection::close);
        server.close();
        transport.close();
        memory.close();
    }
}
