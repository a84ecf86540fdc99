package io.rolexkv.common.net;

import io.netty.bootstrap.ServerBootstrap;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFuture;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.ChannelOption;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.IoHandlerFactory;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.group.ChannelGroup;
import io.netty.channel.group.DefaultChannelGroup;
import io.netty.channel.epoll.Epoll;
import io.netty.channel.epoll.EpollIoHandler;
import io.netty.channel.epoll.EpollServerSocketChannel;
import io.netty.channel.nio.NioIoHandler;
import io.netty.channel.socket.SocketChannel;
import io.netty.channel.socket.nio.NioServerSocketChannel;
import io.netty.util.concurrent.DefaultThreadFactory;
import io.netty.util.concurrent.GlobalEventExecutor;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.lang.management.ManagementFactory;
import java.lang.management.ThreadMXBean;
import java.net.InetSocketAddress;
import java.util.ArrayDeque;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ThreadFactory;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.LongAdder;
import java.util.function.Supplier;

/**
 * The server half of this layer, which a memory node's software NIC and the rpc baseline's server both are: a Netty
 * server that greets each connection with its protocol's HELLO, cuts the bytes into frames ({@link FrameSplitter}),
 * and hands each request frame to that connection's {@link RequestHandler} in the connection's event loop, writing the
 * answer it returns. Answers go out in the order the requests came in, with one flush per socket read.
 *
 * <p>A frame that breaks the protocol's layout, is truncated at its own length field or exceeds the largest frame
 * means a broken or hostile peer: that one connection is closed with a logged reason (and counted in
 * {@link #refusedConnections()}), after the answers to the good frames before it are flushed, and every other
 * connection goes on being served. Nothing a peer sends can throw out of the handler or block an event loop.
 *
 * <p>Back-pressure: an answer is only produced while the channel is writable. One socket read can hold thousands of
 * small requests, each asking for a large answer, so turning auto-read off alone would still let one read burst pile
 * up their answers in memory. Frames that arrive while the channel is unwritable wait (at most what one read brought
 * in, since reading stops at the same time) and run once the client has taken its answers, in order.
 *
 * <p>Who may connect: with a {@link ClusterSecret}, a connection first proves it ({@link AuthHandshake}) and gets the
 * protocol's HELLO only then; before that, any frame but the handshake's, a wrong proof, silence past
 * {@link #HANDSHAKE_TIMEOUT_MILLIS} or a close closes it, logged with the remote address and counted in
 * {@link #authFailures()} (and {@link #refusedConnections()}). Without a secret anyone who reaches the port is
 * served, which is logged as a warning when the server listens beyond loopback.
 *
 * <p>It serves with Netty's native epoll transport where that loads ({@link #EPOLL_PROP_NAME}), else with NIO; both
 * behave the same.
 *
 * <p>{@link #ioThreadCpuNanos()} is the CPU time of the event loops, which decode, execute and answer every request:
 * the server's own work, even when clients share its process.
 */
public final class FrameServer implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(FrameServer.class);

    /** How long close waits for sockets and threads; a server that cannot stop in time is left to the daemon threads. */
    private static final long CLOSE_WAIT_MILLIS = 5_000;
    /** How long a refused connection may take to flush its last good answers before it is closed anyway. */
    private static final long REFUSED_FLUSH_MILLIS = 1_000;
    /** How long a client may take to answer the challenge before its connection is closed. */
    public static final long HANDSHAKE_TIMEOUT_MILLIS = 10_000;
    /**
     * Whether to serve with Netty's native epoll transport where it loads (Linux): it wakes and reads with fewer
     * system calls and less bookkeeping per request than the JDK's selector. Set to false to serve with NIO.
     */
    public static final String EPOLL_PROP_NAME = "rolexkv.net.epoll";
    public static final boolean EPOLL_DEFAULT = true;
    private static final boolean EPOLL = Boolean.parseBoolean(System.getProperty(EPOLL_PROP_NAME,
            String.valueOf(EPOLL_DEFAULT))) && Epoll.isAvailable();

    private final String name;
    private final int maxFrameBytes;
    private final Supplier<RequestHandler> handlers;
    private final EventLoopGroup group;
    private final ChannelGroup connections = new DefaultChannelGroup("rolexkv-connections", GlobalEventExecutor.INSTANCE);
    private final AtomicBoolean closed = new AtomicBoolean();
    private final LongAdder refusedConnections = new LongAdder();
    private final LongAdder authFailures = new LongAdder();
    private final Optional<ClusterSecret> secret;
    /** The live event loop threads, whose CPU time is read on demand. */
    private final Set<Thread> ioThreads = ConcurrentHashMap.newKeySet();
    /** CPU time of event loop threads that have ended, recorded by each as its last act. */
    private final LongAdder endedIoThreadCpuNanos = new LongAdder();
    private Channel serverChannel;
    private String endpoint;

    private FrameServer(String name, int maxFrameBytes, int ioThreads, Optional<ClusterSecret> secret,
                        Supplier<RequestHandler> handlers) {
        this.name = name;
        this.secret = secret;
        this.maxFrameBytes = maxFrameBytes;
        this.handlers = handlers;
        IoHandlerFactory io = EPOLL ? EpollIoHandler.newFactory() : NioIoHandler.newFactory();
        this.group = new MultiThreadIoEventLoopGroup(ioThreads, cpuRecordingThreads(name), io);
    }

    /**
     * Serves at {@code bindEndpoint} ({@code host:port}, port 0 for any free port) with {@code ioThreads} event loops.
     *
     * @param name          what the server is, for logs and thread names: {@code memory_node=3}, {@code rpc_server}
     * @param maxFrameBytes the largest request frame accepted, length field included
     * @param handlers      makes the handler of each new connection
     * @throws IllegalStateException if the endpoint cannot be bound, naming it
     */
    public static FrameServer start(String name, String bindEndpoint, int ioThreads, int maxFrameBytes,
                                    Supplier<RequestHandler> handlers) {
        return start(name, bindEndpoint, ioThreads, maxFrameBytes, Optional.empty(), handlers);
    }

    /**
     * Serves as {@link #start(String, String, int, int, Supplier)} does, to clients that prove {@code secret} if
     * there is one.
     */
    public static FrameServer start(String name, String bindEndpoint, int ioThreads, int maxFrameBytes,
                                    Optional<ClusterSecret> secret, Supplier<RequestHandler> handlers) {
        TcpEndpoint bind = TcpEndpoint.parse(bindEndpoint);
        FrameServer server = new FrameServer(name, maxFrameBytes, ioThreads, secret, handlers);
        server.bind(bind);
        if (secret.isEmpty() && !isLoopback(serverAddress(server))) {
            LOG.warn("{} listens beyond loopback at endpoint={} without a cluster secret: anyone who reaches it is "
                    + "served; set auth_secret_file (--auth-secret-file) on every node", name, server.endpoint());
        }
        return server;
    }

    private static InetSocketAddress serverAddress(FrameServer server) {
        return (InetSocketAddress) server.serverChannel.localAddress();
    }

    private static boolean isLoopback(InetSocketAddress address) {
        return address.getAddress() != null && address.getAddress().isLoopbackAddress();
    }

    private void bind(TcpEndpoint bind) {
        ServerBootstrap bootstrap = new ServerBootstrap()
                .group(group)
                .channel(EPOLL ? EpollServerSocketChannel.class : NioServerSocketChannel.class)
                .option(ChannelOption.SO_REUSEADDR, true)
                .childOption(ChannelOption.TCP_NODELAY, true)
                .childHandler(new ChannelInitializer<SocketChannel>() {
                    @Override
                    protected void initChannel(SocketChannel channel) {
                        connections.add(channel);
                        channel.pipeline().addLast(new FrameSplitter(maxFrameBytes), newConnectionHandler());
                    }
                });
        ChannelFuture bound = bootstrap.bind(bind.host(), bind.port()).awaitUninterruptibly();
        if (!bound.isSuccess()) {
            group.shutdownGracefully(0, 0, TimeUnit.MILLISECONDS);
            throw new IllegalStateException("cannot serve " + name + " at endpoint=" + bind + ": " + bound.cause(),
                    bound.cause());
        }
        serverChannel = bound.channel();
        InetSocketAddress local = (InetSocketAddress) serverChannel.localAddress();
        endpoint = new TcpEndpoint(bind.host(), local.getPort()).toString();
    }

    /** {@code host:port} with the port actually bound. */
    public String endpoint() {
        return endpoint;
    }

    /** The port actually bound. */
    public int port() {
        return ((InetSocketAddress) serverChannel.localAddress()).getPort();
    }

    /** Connections open right now. */
    public int connectionCount() {
        return connections.size();
    }

    /** Connections this server closed because of what the peer sent (a bad frame, a failed request). */
    public long refusedConnections() {
        return refusedConnections.sum();
    }

    /** Connections closed because they did not prove the cluster secret; each also counts in {@link #refusedConnections()}. */
    public long authFailures() {
        return authFailures.sum();
    }

    /** Whether clients must prove a cluster secret. */
    public boolean requiresSecret() {
        return secret.isPresent();
    }

    /** CPU time its event loop threads have spent, live and ended ones. */
    public long ioThreadCpuNanos() {
        ThreadMXBean threads = ManagementFactory.getThreadMXBean();
        long total = endedIoThreadCpuNanos.sum();
        for (Thread thread : ioThreads) {
            long nanos = threads.getThreadCpuTime(thread.threadId());
            if (nanos > 0) {
                total += nanos;
            }
        }
        return total;
    }

    /** Daemon event loop threads that register themselves for CPU accounting and record their CPU time as they end. */
    private ThreadFactory cpuRecordingThreads(String name) {
        ThreadFactory named = new DefaultThreadFactory("rolexkv-" + name.replace('=', '-'), true);
        ThreadMXBean threads = ManagementFactory.getThreadMXBean();
        return task -> named.newThread(() -> {
            Thread current = Thread.currentThread();
            ioThreads.add(current);
            try {
                task.run();
            } finally {
                ioThreads.remove(current);
                long nanos = threads.getCurrentThreadCpuTime();
                if (nanos > 0) {
                    endedIoThreadCpuNanos.add(nanos);
                }
            }
        });
    }

    /** Stops accepting, closes every connection (clients see the server die) and stops the event loops. Idempotent. */
    @Override
    public void close() {
        if (!closed.compareAndSet(false, true)) {
            return;
        }
        serverChannel.close().awaitUninterruptibly(CLOSE_WAIT_MILLIS);
        connections.close().awaitUninterruptibly(CLOSE_WAIT_MILLIS);
        group.shutdownGracefully(0, CLOSE_WAIT_MILLIS, TimeUnit.MILLISECONDS).awaitUninterruptibly(CLOSE_WAIT_MILLIS);
    }

    /** The handler one connection gets; for tests that drive it through an embedded channel. */
    public ChannelInboundHandlerAdapter newConnectionHandler() {
        return new ConnectionHandler(handlers.get());
    }

    @Override
    public String toString() {
        return "FrameServer[" + name + " endpoint=" + endpoint + "]";
    }

    /** One per connection. Runs only in that connection's event loop. */
    private final class ConnectionHandler extends ChannelInboundHandlerAdapter {
        private final RequestHandler handler;
        private final ArrayDeque<ByteBuf> backlog = new ArrayDeque<>();
        private boolean draining;
        private boolean refused;
        /** Whether the client has proved the secret (from the start when there is none). */
        private boolean authenticated = secret.isEmpty();
        private byte[] serverNonce;

        ConnectionHandler(RequestHandler handler) {
            this.handler = handler;
        }

        @Override
        public void channelActive(ChannelHandlerContext context) {
            if (!authenticated) {
                serverNonce = AuthHandshake.newNonce();
                context.writeAndFlush(AuthHandshake.encodeChallenge(context.alloc(), serverNonce), context.voidPromise());
                context.executor().schedule(() -> {
                    if (!authenticated) {
                        failAuthentication(context, "no answer to the challenge within timeout_ms="
                                + HANDSHAKE_TIMEOUT_MILLIS);
                    }
                }, HANDSHAKE_TIMEOUT_MILLIS, TimeUnit.MILLISECONDS);
                context.fireChannelActive();
                return;
            }
            sendHello(context);
            context.fireChannelActive();
        }

        private void sendHello(ChannelHandlerContext context) {
            ByteBuf hello;
            try {
                hello = handler.hello(context.alloc());
            } catch (RuntimeException e) {
                refuse(context, "cannot encode hello: " + e.getMessage());
                return;
            }
            context.writeAndFlush(hello, context.voidPromise());
            LOG.debug("connection opened {} remote={}", name, context.channel().remoteAddress());
        }

        /** Checks the client's answer to the challenge: proves the secret back and says hello, or closes. */
        private void authenticate(ChannelHandlerContext context, ByteBuf frame) {
            byte[][] response;
            try {
                response = AuthHandshake.decodeResponse(frame);
            } catch (FrameFormatException e) {
                failAuthentication(context, "expected an auth response: " + e.getMessage());
                return;
            }
            ClusterSecret expected = secret.orElseThrow();
            byte[] clientNonce = response[0];
            if (!AuthHandshake.matches(AuthHandshake.clientProof(expected, serverNonce, clientNonce), response[1])) {
                failAuthentication(context, "wrong proof of the cluster secret");
                return;
            }
            authenticated = true;
            context.write(AuthHandshake.encodeProof(context.alloc(), AuthHandshake.serverProof(expected, serverNonce,
                    clientNonce)), context.voidPromise());
            sendHello(context);
        }

        private void failAuthentication(ChannelHandlerContext context, String reason) {
            if (refused) {
                return;
            }
            authFailures.increment();
            refuse(context, "authentication_failed " + reason);
        }

        @Override
        public void channelRead(ChannelHandlerContext context, Object message) {
            ByteBuf frame = (ByteBuf) message;
            if (refused) {
                frame.release();
                return;
            }
            if (!authenticated) {
                try {
                    authenticate(context, frame);
                } finally {
                    frame.release();
                }
                return;
            }
            if (!backlog.isEmpty() || !context.channel().isWritable()) {
                backlog.add(frame);
                context.channel().config().setAutoRead(false);
                return;
            }
            process(context, frame);
            if (!context.channel().isWritable()) {
                // The client is not taking its answers as fast as it sends requests: stop reading until it catches
                // up, then push out what we have. In that order: the flush may drain at once and fire the
                // writability event, which turns reading back on; stopping after it would stop for good.
                context.channel().config().setAutoRead(false);
                context.flush();
            }
        }

        /** Decodes, runs and answers one request, then releases its frame. */
        private void process(ChannelHandlerContext context, ByteBuf frame) {
            try {
                context.write(handler.answer(context.alloc(), frame), context.voidPromise());
            } catch (FrameFormatException e) {
                refuse(context, "bad_frame " + e.getMessage());
            } catch (RuntimeException e) {
                // Not a bad frame: the server's state went away under us (shutting down) or a bug. Drop this one.
                LOG.error("failed a request {} remote={}", name, context.channel().remoteAddress(), e);
                refuse(context, "internal_error " + e);
            } finally {
                frame.release();
            }
        }

        @Override
        public void channelReadComplete(ChannelHandlerContext context) {
            context.flush();
            context.fireChannelReadComplete();
        }

        @Override
        public void channelWritabilityChanged(ChannelHandlerContext context) {
            if (context.channel().isWritable()) {
                drainBacklog(context);
            }
            context.fireChannelWritabilityChanged();
        }

        /**
         * Answers held-back requests while the channel stays writable, then reads again once none are left. A flush
         * can make the channel writable again from inside this call (the socket took everything); that nested
         * writability event returns at once and this loop carries on, so the decision to read again is made once,
         * after the last flush.
         */
        private void drainBacklog(ChannelHandlerContext context) {
            if (draining) {
                return;
            }
            draining = true;
            try {
                while (!refused) {
                    ByteBuf frame;
                    while (!refused && context.channel().isWritable() && (frame = backlog.poll()) != null) {
                        process(context, frame);
                    }
                    context.flush();
                    if (backlog.isEmpty() || !context.channel().isWritable()) {
                        break;
                    }
                }
            } finally {
                draining = false;
            }
            if (!refused && backlog.isEmpty() && context.channel().isWritable()) {
                context.channel().config().setAutoRead(true);
            }
        }

        @Override
        public void channelInactive(ChannelHandlerContext context) {
            if (!authenticated) {
                failAuthentication(context, "closed by the client before authenticating");
            }
            releaseBacklog();
            LOG.debug("connection closed {} remote={}", name, context.channel().remoteAddress());
            context.fireChannelInactive();
        }

        @Override
        public void handlerRemoved(ChannelHandlerContext context) {
            releaseBacklog();
        }

        private void releaseBacklog() {
            ByteBuf frame;
            while ((frame = backlog.poll()) != null) {
                frame.release();
            }
        }

        @Override
        public void exceptionCaught(ChannelHandlerContext context, Throwable cause) {
            FrameFormatException badFrame = findFrameFormatException(cause);
            if (!authenticated && !(cause instanceof IOException)) {
                failAuthentication(context, "expected an auth response: "
                        + (badFrame != null ? badFrame.getMessage() : cause.toString()));
            } else if (badFrame != null) {
                refuse(context, "bad_frame " + badFrame.getMessage());
            } else if (cause instanceof IOException) {
                LOG.debug("connection broke {} remote={} reason={}", name, context.channel().remoteAddress(), cause.toString());
                context.close();
            } else {
                refuse(context, "error " + cause);
            }
        }

        /**
         * Closes this connection after flushing the answers already written (those of the good frames before the bad
         * one), and stops reading from it; frames still waiting in the backlog are dropped unanswered.
         */
        private void refuse(ChannelHandlerContext context, String reason) {
            if (refused) {
                return;
            }
            refused = true;
            refusedConnections.increment();
            releaseBacklog();
            LOG.warn("closing connection {} endpoint={} remote={} reason={}", name, endpoint,
                    context.channel().remoteAddress(), reason);
            context.channel().config().setAutoRead(false);
            context.writeAndFlush(Unpooled.EMPTY_BUFFER).addListener(ChannelFutureListener.CLOSE);
            // A peer that does not read could hold that flush forever; it gets a bounded grace period.
            context.executor().schedule(() -> {
                context.close();
            }, REFUSED_FLUSH_MILLIS, TimeUnit.MILLISECONDS);
        }
    }

    private static FrameFormatException findFrameFormatException(Throwable cause) {
        for (Throwable current = cause; current != null; current = current.getCause()) {
            if (current instanceof FrameFormatException frameFormatException) {
                return frameFormatException;
            }
        }
        return null;
    }
}
