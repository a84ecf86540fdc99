package io.rolexkv.common.fabric;

import io.rolexkv.common.fabric.fault.FaultInjectingTransport;
import io.rolexkv.common.fabric.fault.FaultPlan;
import io.rolexkv.common.fabric.loopback.LoopbackTransport;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * A memory node inside the test's JVM: named regions of registered memory (node id 0) served over a named transport,
 * the one way every index test stands one up. Each {@link #connect()} is a separate queue pair, as a separate compute
 * node has; {@link #localConnection()} is the node's own view of its memory, as its background work (the retrainer)
 * uses. Closing the node closes every connection it handed out.
 *
 * <p>Transport names are those of {@link FabricTransports}, each also with the suffix {@value #TORN_SUFFIX}: the same
 * transport through the fault-injecting decorator with {@link #TEARING}, so that most WRITEs land in pieces, out of
 * order, with pauses between, and every verb gets jittered latency.
 */
public class TestMemoryNode implements AutoCloseable {
    public static final String TORN_SUFFIX = "-torn";
    /** Tears half of all WRITEs longer than a word into up to 4 pieces, up to 50 us apart; latency up to 20 us. */
    public static final FaultPlan TEARING = FaultPlan.builder().seed(7).randomLatencyMicros(20).tearWrites(0.5, 4, 50).build();

    public final RegisteredMemory memory;
    public final FabricTransport transport;
    public final FabricServer server;
    /** Verbs, bytes and doorbells of every connection made with {@link #connect()}. */
    public final FabricCounters totals = new FabricCounters();
    private final LoopbackTransport local = new LoopbackTransport();
    private final List<FabricConnection> connections = new ArrayList<>();

    /**
     * @param transportName a {@link FabricTransports} name, optionally with {@value #TORN_SUFFIX}
     * @param regions       region name to bytes, registered in this order
     */
    public TestMemoryNode(String transportName, Map<String, Long> regions) {
        boolean torn = transportName.endsWith(TORN_SUFFIX);
        String base = torn ? transportName.substring(0, transportName.length() - TORN_SUFFIX.length()) : transportName;
        memory = new RegisteredMemory(0);
        regions.forEach(memory::allocate);
        FabricTransport plain = FabricTransports.create(base, FabricLimits.DEFAULT);
        transport = torn ? new FaultInjectingTransport(plain, TEARING, FabricLimits.DEFAULT) : plain;
        server = transport.serve(memory, LoopbackTransport.NAME.equals(base) ? "test-memory-node" : "127.0.0.1:0");
        local.serve(memory, "self");
    }

    /** A new connection, as a separate compute node would have. */
    public synchronized FabricConnection connect() {
        FabricConnection connection = transport.connect(server.endpoint(), totals);
        connections.add(connection);
        return connection;
    }

    /** A connection into the node's own memory, in process, as the memory node's background work uses. */
    public synchronized FabricConnection localConnection() {
        FabricConnection connection = local.connect("self", null);
        connections.add(connection);
        return connection;
    }

    @Override
    public synchronized void close() {
        connections.forEach(FabricConnection::close);
        server.close();
        transport.close();
        local.close();
        memory.close();
    }
}
