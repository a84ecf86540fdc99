package io.rolexkv.bench.baseline.btree;

import io.rolexkv.common.fabric.FabricConnection;
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
 * A memory node with a {@code btree} region, served over a named transport (optionally through the fault-injecting
 * decorator), for B+tree tests. Each {@link #connect()} is a separate queue pair, as a separate compute node has.
 */
final class BTreeFixture implements AutoCloseable {
    final RegisteredMemory memory;
    final FabricTransport transport;
    final FabricServer server;
    private final List<FabricConnection> connections = new ArrayList<>();

    BTreeFixture(String transportName, long regionBytes) {
        this(transportName, regionBytes, FaultPlan.NONE);
    }

    BTreeFixture(String transportName, long regionBytes, FaultPlan faults) {
        memory = new RegisteredMemory(0);
        memory.allocate(BTreeRegionDescriptor.REGION_NAME, regionBytes);
        FabricTransport base = FabricTransports.create(transportName, FabricLimits.DEFAULT);
        transport = faults == FaultPlan.NONE ? base : new FaultInjectingTransport(base, faults, FabricLimits.DEFAULT);
        server = transport.serve(memory, LoopbackTransport.NAME.equals(transportName) ? "btree-test" : "127.0.0.1:0");
    }

    FabricConnection connect() {
        FabricConnection connection = transport.connect(server.endpoint(), null);
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
