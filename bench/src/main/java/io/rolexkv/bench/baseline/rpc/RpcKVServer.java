package io.rolexkv.bench.baseline.rpc;

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
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.group.ChannelGroup;
import io.netty.channel.group.DefaultChannelGroup;
import io.netty.channel.nio.NioIoHandler;
import io.netty.channel.socket.SocketChannel;
import io.netty.channel.socket.nio.NioServerSocketChannel;
import io.netty.util.concurrent.DefaultThreadFactory;
import io.netty.util.concurrent.GlobalEventExecutor;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.lang.management.ManagementFactory;
import java.lang.management.OperatingSystemMXBean;
import java.lang.management.ThreadMXBean;
import java.net.InetSocketAddress;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ThreadFactory;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.LongAdder;

/**
 * The rpc baseline's server: the traditional design, where the memory node's CPU executes every operation. A Netty
 * server whose handler decodes each REQUEST frame ({@link RpcFrameDescriptor}), executes it on the store
 * ({@link RpcKVStore}, a {@link java.util.concurrent.ConcurrentSkipListMap} with the unsigned order) in the
 * connection's event loop, and writes one RESPONSE frame. It is what the one-sided engines are measured against:
 * the same operations, one round trip each, with the server's CPU doing the work; {@link #stats()} says how much.
 *
 * <p>A refused request (bad argument) is an answer, not a failure: the client gets BAD_ARGUMENT and the connection
 * stays open. A frame that breaks the layout, or is larger than the max frame, means a broken or hostile peer: that
 * one connection is closed with a logged reason after the answers to the good frames before it are flushed, and every
 * other connection goes on being served. Nothing a peer sends can throw out of the handler; a peer that stops reading
 * its answers stops being read from (back-pressure) rather than growing the server's memory.
 *
 * <p>Start one in-process with {@link #start} (port 0 binds any free port; {@link #endpoint()} names the real one),
 * or as a process with {@link RpcKVServerMain}. Closing it closes every connection, so clients see the node die.
 */
public final class RpcKVServer implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(RpcKVServer.class);

    /** How long close waits for sockets and threads; a server that cannot stop in time is left to its daemon threads. */
    private static final long CLOSE_WAIT_MILLIS = 5_000;
    /** How long a refused connection may take to flush its last good answers before it is closed anyway. */
    private static final long REFUSED_FLUSH_MILLIS = 1_000;

    private final RpcKVServerSettings settings;
    private final RpcKVStore store;
    private final EventLoopGroup group;
    private final ChannelGroup connections = new DefaultChannelGroup("rolexkv-rpc-connections", GlobalEventExecutor.INSTANCE);
    private final AtomicBoolean closed = new AtomicBoolean();

    private final LongAdder requests = new LongAdder();
    private final LongAdder bytesReceived = new LongAdder();
    private final LongAdder bytesSent = new LongAdder();
    /** The live event loop threads, whose CPU time is read on demand. */
    private final Set<Thread> ioThreads = ConcurrentHashMap.newKeySet();
    /** CPU time of event loop threads that have ended, recorded by each as its last act. */
    private final LongAdder endedIoThreadCpuNanos = new LongAdder();

    private Channel serverChannel;
    private String endpoint;

    private RpcKVServer(RpcKVServerSettings settings) {
        this.settings = settings;
        this.store = new RpcKVStore(settings.maxValueBytes(), settings.maxFrameBytes(), this::stats);
        this.group = new MultiThreadIoEventLoopGroup(settings.ioThreads(), cpuRecordingThreads(), NioIoHandler.newFactory());
    }

    /** Serves on a free port of the loopback interface. */
    public static RpcKVServer start(RpcKVServerSettings settings) {
        return start("127.0.0.1", 0, settings);
    }

    /**
     * Serves at {@code host:port} (port 0: any free port).
     *
     * @throws IllegalStateException if the endpoint cannot be bound, naming it
     */
    public static RpcKVServer start(String host, int port, RpcKVServerSettings settings) {
        if (port < 0 || port > 0xFFFF) {
            throw new IllegalArgumentException("port=" + port + " allowed=[0,65535]");
        }
        RpcKVServer server = new RpcKVServer(settings);
        server.bind(host, port);
        return server;
    }

    private void bind(String host, int port) {
        ServerBootstrap bootstrap = new ServerBootstrap()
                .group(group)
                .channel(NioServerSocketChannel.class)
                .option(ChannelOption.SO_REUSEADDR, true)
                .childOption(ChannelOption.TCP_NODELAY, true)
                .childHandler(new ChannelInitializer<SocketChannel>() {
                    @Override
                    protected void initChannel(SocketChannel channel) {
                        connections.add(channel);
                        channel.pipeline().addLast(new RpcFrameSplitter(settings.maxFrameBytes()), new ConnectionHandler());
                    }
                });
        ChannelFuture bound = bootstrap.bind(host, port).awaitUninterruptibly();
        if (!bound.isSuccess()) {
            group.shutdownGracefully(0, 0, TimeUnit.MILLISECONDS);
            throw new IllegalStateException("cannot serve rpc at endpoint=" + host + ":" + port + ": " + bound.cause(),
                    bound.cause());
        }
        serverChannel = bound.channel();
        InetSocketAddress local = (InetSocketAddress) serverChannel.localAddress();
        endpoint = (host.indexOf(':') >= 0 ? "[" + host + "]" : host) + ":" + local.getPort();
        LOG.info("rpc_server started endpoint={} max_value_bytes={} max_frame_bytes={} io_threads={}", endpoint,
                settings.maxValueBytes(), settings.maxFrameBytes(), settings.ioThreads());
    }

    /** {@code host:port} with the port actually bound. */
    public String endpoint() {
        return endpoint;
    }

    public int port() {
        return ((InetSocketAddress) serverChannel.localAddress()).getPort();
    }

    public RpcKVServerSettings settings() {
        return settings;
    }

    /** Connections open right now. */
    public int connectionCount() {
        return connections.size();
    }

    /**
     * What the server has done and what it cost, since it started: requests, bytes, and the CPU time of its event
     * loop threads (the server's own work even in a shared JVM) and of its whole process.
     */
    public RpcServerStats stats() {
        return new RpcServerStats(requests.sum(), bytesReceived.sum(), bytesSent.sum(), ioThreadCpuNanos(),
                processCpuNanos());
    }

    private long ioThreadCpuNanos() {
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

    /** CPU time of this whole process, or -1 where the platform does not report it. */
    static long processCpuNanos() {
        OperatingSystemMXBean system = ManagementFactory.getOperatingSystemMXBean();
        if (system instanceof com.sun.management.OperatingSystemMXBean withCpu) {
            return withCpu.getProcessCpuTime();
        }
        return -1;
    }

    /** Daemon event loop threads that register themselves for CPU accounting and record their CPU time as they end. */
    private ThreadFactory cpuRecordingThreads() {
        ThreadFactory named = new DefaultThreadFactory("rolexkv-rpc-server", true);
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

    /** Stops accepting, closes every connection (clients see the node die) and stops the event loops. Idempotent. */
    @Override
    public void close() {
        if (!closed.compareAndSet(false, true)) {
            return;
        }
        serverChannel.close().awaitUninterruptibly(CLOSE_WAIT_MILLIS);
        connections.close().awaitUninterruptibly(CLOSE_WAIT_MILLIS);
        group.shutdownGracefully(0, CLOSE_WAIT_MILLIS, TimeUnit.MILLISECONDS).awaitUninterruptibly(CLOSE_WAIT_MILLIS);
        RpcServerStats last = stats();
        LOG.info("rpc_server stopped endpoint={} requests={} io_thread_cpu_ms={}", endpoint, last.requests(),
                TimeUnit.NANOSECONDS.toMillis(last.ioThreadCpuNanos()));
    }

    @Override
    public String toString() {
        return "RpcKVServer[endpoint=" + endpoint + "]";
    }

    /** One per connection. Runs only in that connection's event loop. */
    private final class ConnectionHandler extends ChannelInboundHandlerAdapter {
        private boolean refused;

        @Override
        public void channelActive(ChannelHandlerContext context) {
            ByteBuf hello = RpcFrameCodec.encodeHello(context.alloc(), settings.maxValueBytes(), settings.maxFrameBytes());
            bytesSent.add(hello.readableBytes());
            context.writeAndFlush(hello, context.voidPromise());
            LOG.debug("rpc_server connection opened remote={}", context.channel().remoteAddress());
            context.fireChannelActive();
        }

        @Override
        public void channelRead(ChannelHandlerContext context, Object message) {
            ByteBuf frame = (ByteBuf) message;
            try {
                if (refused) {
                    return;
                }
                RpcRequest request = RpcFrameCodec.decodeRequest(frame);
                long requestId = RpcFrameCodec.requestId(frame);
                requests.increment();
                bytesReceived.add(frame.readableBytes());
                ByteBuf response = RpcFrameCodec.encodeReply(context.alloc(), requestId, request.type(), execute(request));
                bytesSent.add(response.readableBytes());
                context.write(response, context.voidPromise());
                if (!context.channel().isWritable()) {
                    // The client is not reading its answers: stop reading its requests until it catches up.
                    context.channel().config().setAutoRead(false);
                }
            } catch (RpcFrameException e) {
                refuse(context, "bad_frame " + e.getMessage());
            } catch (RuntimeException e) {
                // Not a bad frame: a bug or an exhausted server. Drop this connection; the others go on.
                LOG.error("rpc_server failed a request remote={}", context.channel().remoteAddress(), e);
                refuse(context, "internal_error " + e);
            } finally {
                frame.release();
            }
        }

        private RpcReply execute(RpcRequest request) {
            try {
                return store.execute(request);
            } catch (RuntimeException e) {
                LOG.error("rpc_server could not execute type={}", request.type(), e);
                return new RpcReply.Failed("type=" + request.type() + " error=" + e);
            }
        }

        @Override
        public void channelReadComplete(ChannelHandlerContext context) {
            context.flush();
            context.fireChannelReadComplete();
        }

        @Override
        public void channelWritabilityChanged(ChannelHandlerContext context) {
            if (context.channel().isWritable() && !refused) {
                context.channel().config().setAutoRead(true);
            }
            context.fireChannelWritabilityChanged();
        }

        @Override
        public void channelInactive(ChannelHandlerContext context) {
            LOG.debug("rpc_server connection closed remote={}", context.channel().remoteAddress());
            context.fireChannelInactive();
        }

        @Override
        public void exceptionCaught(ChannelHandlerContext context, Throwable cause) {
            RpcFrameException badFrame = findFrameException(cause);
            if (badFrame != null) {
                refuse(context, "bad_frame " + badFrame.getMessage());
            } else if (cause instanceof IOException) {
                LOG.debug("rpc_server connection broke remote={} reason={}", context.channel().remoteAddress(), cause.toString());
                context.close();
            } else {
                refuse(context, "error " + cause);
            }
        }

        /** Closes this connection after flushing the answers already written, and stops reading from it. */
        private void refuse(ChannelHandlerContext context, String reason) {
            if (refused) {
                return;
            }
            refused = true;
            LOG.warn("rpc_server closing connection endpoint={} remote={} reason={}", endpoint,
                    context.channel().remoteAddress(), reason);
            context.channel().config().setAutoRead(false);
            context.writeAndFlush(Unpooled.EMPTY_BUFFER).addListener(ChannelFutureListener.CLOSE);
            // A peer that does not read could hold that flush forever; it gets a bounded grace period.
            context.executor().schedule(() -> context.close(), REFUSED_FLUSH_MILLIS, TimeUnit.MILLISECONDS);
        }
    }

    private static RpcFrameException findFrameException(Throwable cause) {
        for (Throwable current = cause; current != null; current = current.getCause()) {
            if (current instanceof RpcFrameException frameException) {
                return frameException;
            }
        }
        return null;
    }
}
