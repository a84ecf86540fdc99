package io.rolexkv.common.fabric.loopback;

import io.rolexkv.common.fabric.ConnectionLostException;
import io.rolexkv.common.fabric.FabricConnection;
import io.rolexkv.common.fabric.FabricCounters;
import io.rolexkv.common.fabric.FabricLimits;
import io.rolexkv.common.fabric.FabricServer;
import io.rolexkv.common.fabric.FabricTransport;
import io.rolexkv.common.fabric.RegisteredMemory;

import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;

/**
 * The in-process transport: a memory node's {@link RegisteredMemory} is served under a name, and connections to that
 * name run each batch directly in the posting thread through the same {@code VerbExecutor} the tcp server uses. No
 * copies beyond what a READ returns; the fastest way to run an embedded cluster, and the reference for tests.
 */
public final class LoopbackTransport implements FabricTransport {
    public static final String NAME = "loopback";

    private final FabricLimits limits;
    private final Map<String, RegisteredMemory> served = new ConcurrentHashMap<>();
    private final Set<LoopbackConnection> open = ConcurrentHashMap.newKeySet();

    public LoopbackTransport() {
        this(FabricLimits.DEFAULT);
    }

    public LoopbackTransport(FabricLimits limits) {
        this.limits = limits;
    }

    @Override
    public String name() {
        return NAME;
    }

    /** Serves {@code memory} under the name {@code bindEndpoint}; clients of this transport then connect to that name. */
    @Override
    public FabricServer serve(RegisteredMemory memory, String bindEndpoint) {
        if (served.putIfAbsent(bindEndpoint, memory) != null) {
            throw new IllegalArgumentException("loopback endpoint " + bindEndpoint + " is already served");
        }
        return new FabricServer() {
            @Override
            public String endpoint() {
                return bindEndpoint;
            }

            @Override
            public void close() {
                stopServing(bindEndpoint);
            }
        };
    }

    /** Stops serving {@code endpoint}: its open connections break, as if the memory node died. */
    public void stopServing(String endpoint) {
        RegisteredMemory memory = served.remove(endpoint);
        if (memory != null) {
            for (LoopbackConnection connection : open) {
                if (connection.memory() == memory) {
                    connection.close();
                }
            }
        }
    }

    @Override
    public FabricConnection connect(String endpoint, FabricCounters totals) {
        RegisteredMemory memory = served.get(endpoint);
        if (memory == null) {
            throw new ConnectionLostException("no loopback memory node is served at endpoint=" + endpoint
                    + " served=" + served.keySet());
        }
        LoopbackConnection connection = new LoopbackConnection(endpoint, memory, limits, new FabricCounters(totals), open::remove);
        open.add(connection);
        return connection;
    }

    @Override
    public void close() {
        for (LoopbackConnection connection : open) {
            connection.close();
        }
        served.clear();
    }
}
