package io.rolexkv.common.fabric.tcp;

import io.netty.bootstrap.Bootstrap;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFuture;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.ChannelOption;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.nio.NioIoHandler;
import io.netty.channel.socket.SocketChannel;
import io.netty.channel.socket.nio.NioSocketChannel;
import io.netty.util.concurrent.DefaultThreadFactory;
import io.rolexkv.common.fabric.ConnectionLostException;
import io.rolexkv.common.fabric.FabricConnection;
import io.rolexkv.common.fabric.FabricCounters;
import io.rolexkv.common.fabric.FabricLimits;
import io.rolexkv.common.fabric.FabricServer;
import io.rolexkv.common.fabric.FabricTransport;
import io.rolexkv.common.fabric.RegisteredMemory;

import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

/**
 * One-sided verbs over tcp with Netty: what runs on machines without RDMA. The client side (this class and its
 * {@link TcpConnection}s) owns one event loop group shared by all its connections; each {@link #serve} starts a
 * {@link TcpFabricServer} with event loops of its own, so closing a server kills just that memory node. The wire
 * format is {@link FrameDescriptor}'s.
 *
 * <p>{@link #connect} opens one tcp connection per call (one queue pair), with TCP_NODELAY since every frame is a
 * doorbell someone waits on, and returns once the memory node's HELLO has arrived, or fails with
 * {@link ConnectionLostException} naming the endpoint within {@link TcpSettings#connectTimeout()}. It blocks, so
 * call it from an application thread, never from a completion callback.
 */
public final class TcpTransport implements FabricTransport {
    public static final String NAME = "tcp";

    private final FabricLimits limits;
    private final TcpSettings settings;
    private final EventLoopGroup group;
    private final Set<TcpConnection> connections = ConcurrentHashMap.newKeySet();
    private final Set<TcpFabricServer> servers = ConcurrentHashMap.newKeySet();
    private volatile boolean closed;

    public TcpTransport() {
        this(FabricLimits.DEFAULT, TcpSettings.DEFAULT);
    }

    /** @param limits what servers started by {@link #serve} accept; clients learn a node's limits from its HELLO */
    public TcpTransport(FabricLimits limits) {
        this(limits, TcpSettings.DEFAULT);
    }

    public TcpTransport(FabricLimits limits, TcpSettings settings) {
        this.limits = limits;
        this.settings = settings;
        this.group = new MultiThreadIoEventLoopGroup(settings.ioThreads(),
                new DefaultThreadFactory("rolexkv-tcp-client", true), NioIoHandler.newFactory());
    }

    @Override
    public String name() {
        return NAME;
    }

    public TcpSettings settings() {
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
        TcpEndpoint target = TcpEndpoint.parse(endpoint);
        long timeoutMillis = settings.connectTimeout().toMillis();
        Bootstrap bootstrap = new Bootstrap()
                .group(group)
                .channel(NioSocketChannel.class)
                .option(ChannelOption.TCP_NODELAY, true)
                .option(ChannelOption.CONNECT_TIMEOUT_MILLIS, (int) timeoutMillis)
                .handler(new ChannelInitializer<SocketChannel>() {
                    @Override
                    protected void initChannel(SocketChannel channel) {
                        FrameSplitter splitter = new FrameSplitter(FrameDescriptor.MAX_HELLO_FRAME_BYTES);
                        channel.pipeline().addLast(splitter, new TcpConnection.ClientHandler(endpoint, splitter));
                    }
                });
        long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(timeoutMillis);
        ChannelFuture connected = bootstrap.connect(target.host(), target.port());
        // Netty fails the connect itself after CONNECT_TIMEOUT_MILLIS; the margin only covers its timer's slack.
        if (!connected.awaitUninterruptibly(timeoutMillis + 1_000) || !connected.isSuccess()) {
            connected.channel().close();
            Throwable cause = connected.cause();
            throw new ConnectionLostException("cannot connect to memory node at endpoint=" + endpoint + " reason="
                    + (cause == null ? "connect timeout after " + timeoutMillis + " ms" : cause.toString()), cause);
        }
        Channel channel = connected.channel();
        TcpConnection.ClientHandler handler = channel.pipeline().get(TcpConnection.ClientHandler.class);
        FrameCodec.Hello hello = awaitHello(channel, handler, endpoint, deadline);
        TcpConnection connection = new TcpConnection(channel, endpoint, hello, new FabricCounters(totals), settings,
                connections::remove);
        connections.add(connection);
        handler.attach(connection);
        if (closed) {
            connection.close();
            throw new IllegalStateException("tcp transport closed while connecting to endpoint=" + endpoint);
        }
        return connection;
    }

    private static FrameCodec.Hello awaitHello(Channel channel, TcpConnection.ClientHandler handler, String endpoint,
                                               long deadlineNanos) {
        try {
            return handler.helloReceived().get(Math.max(0, deadlineNanos - System.nanoTime()), TimeUnit.NANOSECONDS);
        } catch (TimeoutException e) {
            channel.close();
            throw new ConnectionLostException("no hello from memory node at endpoint=" + endpoint
                    + " within connect timeout", e);
        } catch (InterruptedException e) {
            channel.close();
            Thread.currentThread().interrupt();
            throw new ConnectionLostException("interrupted while waiting for the hello of endpoint=" + endpoint, e);
        } catch (ExecutionException e) {
            channel.close();
            if (e.getCause() instanceof ConnectionLostException lost) {
                throw new ConnectionLostException(lost.getMessage(), lost);
            }
            throw new ConnectionLostException("no hello from memory node at endpoint=" + endpoint + " reason="
                    + e.getCause(), e.getCause());
        }
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

    /** Closes every connection and server this transport opened, then stops the client event loops. Idempotent. */
    @Override
    public void close() {
        closed = true;
        for (TcpConnection connection : connections) {
            connection.close();
        }
        for (TcpFabricServer server : servers) {
            server.close();
        }
        group.shutdownGracefully(0, 5, TimeUnit.SECONDS).awaitUninterruptibly(5, TimeUnit.SECONDS);
    }

    @Override
    public String toString() {
        return "TcpTransport[connections=" + connections.size() + " servers=" + servers.size() + "]";
    }
}
