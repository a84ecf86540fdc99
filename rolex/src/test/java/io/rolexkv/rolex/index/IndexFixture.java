package io.rolexkv.rolex.index;

import io.rolexkv.common.fabric.FabricConnection;
import io.rolexkv.common.fabric.FabricCounters;
import io.rolexkv.common.fabric.FabricLimits;
import io.rolexkv.common.fabric.FabricServer;
import io.rolexkv.common.fabric.FabricTransport;
import io.rolexkv.common.fabric.FabricTransports;
import io.rolexkv.common.fabric.RegisteredMemory;
import io.rolexkv.common.fabric.fault.FaultInjectingTransport;
import io.rolexkv.common.fabric.fault.FaultPlan;
import io.rolexkv.common.fabric.loopback.LoopbackTransport;

import java.util.ArrayList;
import java.util.List;

/**
 * A memory node with the regions an index needs, served over a named transport, for index tests. Each
 * {@link #connect()} is a separate queue pair, as a separate compute node would have. Transport names are those of
 * {@link FabricTransports}, plus {@value #TORN}: loopback through the fault-injecting decorator, tearing most WRITEs
 * into pieces applied out of order, with latency. {@link #localConnection()} is the memory node's own view of its
 * memory, for its retrainer.
 */
final class IndexFixture implements AutoCloseable {
    static final String TORN = "loopback-torn";

    final RegisteredMemory memory;
    final FabricTransport transport;
    final FabricServer server;
    final FabricCounters totals = new FabricCounters();
    private final LoopbackTransport local = new LoopbackTransport();
    private final List<FabricConnection> connections = new ArrayList<>();

    IndexFixture(String transportName, long leavesBytes) {
        memory = new RegisteredMemory(0);
        memory.allocate(IndexLayout.META_REGION, 4096);
        memory.allocate(IndexLayout.LEAVES_REGION, leavesBytes);
        memory.allocate(IndexLayout.TABLES_REGION, 32L << 20);
        memory.allocate(IndexLayout.MODELS_REGION, 8L << 20);
        transport = TORN.equals(transportName)
                ? new FaultInjectingTransport(new LoopbackTransport(), FaultPlan.builder().seed(7).randomLatencyMicros(20)
                        .tearWrites(0.5, 4, 20).build())
                : FabricTransports.create(transportName, FabricLimits.DEFAULT);
        boolean inProcess = LoopbackTransport.NAME.equals(transportName) || TORN.equals(transportName);
        server = transport.serve(memory, inProcess ? "index-test" : "127.0.0.1:0");
        local.serve(memory, "self");
    }

    FabricConnection connect() {
        FabricConnection connection = transport.connect(server.endpoint(), totals);
        connections.add(connection);
        return connection;
    }

    /** A connection into the memory node's own memory, as its background work uses. */
    FabricConnection localConnection() {
        FabricConnection connection = local.connect("self", null);
        connections.add(connection);
        return connection;
    }

    @Override
    public void close() {
        connections.forEach(FabricConnection::close);
        server.close();
        transport.close();
        local.close();
        memory.close();
    }
}
