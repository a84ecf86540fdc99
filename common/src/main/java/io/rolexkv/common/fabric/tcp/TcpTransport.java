package io.rolexkv.common.fabric.tcp;

import io.rolexkv.common.fabric.ConnectionLostException;
import io.rolexkv.common.fabric.FabricCounters;
import io.rolexkv.common.fabric.FabricLimits;
import io.rolexkv.common.fabric.FabricServer;
import io.rolexkv.common.fabric.FabricTransport;
import io.rolexkv.common.fabric.RegisteredMemory;
import io.rolexkv.common.net.FrameConnection;
import io.rolexkv.common.net.NetSettings;

import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;

/**
 * One-sided verbs over tcp with Netty: what runs on machines without RDMA. The client side (this class and its
 * {@link TcpConnection}s) runs on the threads that post and wait (see {@link FrameConnection}); each {@link #serve} starts a
 * {@link TcpFabricServer} with event loops of its own, so closing a server kills just that memory node. The wire
 * format is {@link FrameDescriptor}'s, on the network layer's frames ({@link io.rolexkv.common.net}).
 *
 * <p>{@link #connect} opens one queue pair per call ({@link NetSettings#connections()} tcp connections) and returns once the memory node's HELLO has
 * arrived, or fails with {@link ConnectionLostException} naming the endpoint within
 * {@link NetSettings#connectTimeout()}. It blocks, so call it from an application thread, never from a completion
 * callback.
 */
public final class TcpTransport implements FabricTransport {
    public static final String NAME = "tcp";

    private final FabricLimits limits;
    private final NetSettings settings;
    private final Set<TcpConnection> connections = ConcurrentHashMap.newKeySet();
    private final Set<TcpFabricServer> servers = ConcurrentHashMap.newKeySet();
    private volatile boolean closed;

    public TcpTransport() {
        this(FabricLimits.DEFAULT, NetSettings.DEFAULT);
    }

    /** @param limits what servers started by {@link #serve} accept; clients learn a node's limits from its HELLO */
    public TcpTransport(FabricLimits limits) {
        this(limits, NetSettings.DEFAULT);
    }

    public TcpTransport(FabricLimits limits, NetSettings settings) {
        this.limits = limits;
        this.settings = settings;
    }

    @Override
    public String name() {
        return NAME;
    }

    public NetSettings settings() {
        return settings;
    }

    /**
     * Connects to the memory node at {@code endpoint} ({@code host:port}) and waits for its HELLO.
     *
     * @throws ConnectionLostException if it cannot be reached or sends no valid HELLO in time, naming the endpoint
     * @throws IllegalArgumentException if {@code endpoint} is not {@code host:port}
     */
    @Override
    public TcpConnection connect(String endpoint, FabricCounters totals) {
        if (closed) {
            throw new IllegalStateException("tcp transport is closed; cannot connect to endpoint=" + endpoint);
        }
        FrameConnection<FrameCodec.Hello> first = FrameConnection.open(endpoint, TcpConnection.PROTOCOL, settings);
        TcpConnection connection = new TcpConnection(first,
                () -> FrameConnection.open(endpoint, TcpConnection.PROTOCOL, settings), settings.connections(),
                new FabricCounters(totals), connections::remove);
        connections.add(connection);
        if (!connection.isOpen()) {
            connections.remove(connection);
        }
        if (closed) {
            connection.close();
            throw new IllegalStateException("tcp transport closed while connecting to endpoint=" + endpoint);
        }
        return connection;
    }

    /**
     * Starts a {@link TcpFabricServer} for {@code memory} at {@code bindEndpoint} ({@code host:port}, port 0 for any
     * free port) with this transport's limits and settings. Closing this transport closes it too.
     */
    @Override
    public FabricServer serve(RegisteredMemory memory, String bindEndpoint) {
        if (closed) {
            throw new IllegalStateException("tcp transport is closed; cannot serve endpoint=" + bindEndpoint);
        }
        TcpFabricServer server = TcpFabricServer.start(memory, limits, bindEndpoint, settings, servers::remove);
        servers.add(server);
        return server;
    }

    /** Closes every connection and server this transport opened. Idempotent. */
    @Override
    public void close() {
        closed = true;
        for (TcpConnection connection : connections) {
            connection.close();
        }
        for (TcpFabricServer server : servers) {
            server.close();
        }
    }

    @Override
    public String toString() {
        return "TcpTransport[connections=" + connections.size() + " servers=" + servers.size() + "]";
    }
}
