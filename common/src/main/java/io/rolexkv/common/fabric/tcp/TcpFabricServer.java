package io.rolexkv.common.fabric.tcp;

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
import io.rolexkv.common.fabric.BatchResult;
import io.rolexkv.common.fabric.FabricLimits;
import io.rolexkv.common.fabric.FabricServer;
import io.rolexkv.common.fabric.RegisteredMemory;
import io.rolexkv.common.fabric.VerbExecutor;
import io.rolexkv.common.fabric.VerbRejectedException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.util.ArrayDeque;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.function.Consumer;

/**
 * A memory node's registered memory served over tcp: the software stand-in for an RDMA NIC. Each connection is one
 * queue pair. Its handler does what a NIC does and nothing more: decode a REQUEST frame, run the batch through
 * {@link VerbExecutor} in the connection's event loop, and write one COMPLETION frame. No index logic runs here.
 *
 * <p>A refused batch ({@link VerbRejectedException}) is an answer, not a failure: the client gets a REFUSED
 * completion and the connection stays open. A frame that breaks {@link FrameDescriptor}'s layout, is truncated at
 * its own length field or exceeds {@link FabricLimits#maxFrameBytes()} means a broken or hostile peer: that one
 * connection is closed with a logged reason, after the completions of the good frames before it are flushed, and
 * every other connection goes on being served. Nothing a peer sends can throw out of the handler or block an event
 * loop; a peer that stops reading its completions stops being read from, and gets no more completions made for it,
 * until it catches up (back-pressure), so it cannot make the node buffer more than one read's worth of requests.
 *
 * <p>Start one with {@link #start} ({@code host:0} binds any free port; {@link #endpoint()} then names the real one).
 * Closing it closes every connection, so clients see the node die, but does not free the memory: the memory node
 * owns that.
 */
public final class TcpFabricServer implements FabricServer {
    private static final Logger LOG = LoggerFactory.getLogger(TcpFabricServer.class);

    /** How long close waits for sockets and threads; a server that cannot stop in time is left to the daemon threads. */
    private static final long CLOSE_WAIT_MILLIS = 5_000;
    /** How long a refused connection may take to flush its last good completions before it is closed anyway. */
    private static final long REFUSED_FLUSH_MILLIS = 1_000;

    private final RegisteredMemory memory;
    private final FabricLimits limits;
    private final int maxFrameBytes;
    private final EventLoopGroup group;
    private final ChannelGroup connections = new DefaultChannelGroup("rolexkv-tcp-connections", GlobalEventExecutor.INSTANCE);
    private final Consumer<TcpFabricServer> onClose;
    private final AtomicBoolean closed = new AtomicBoolean();
    private Channel serverChannel;
    private String endpoint;

    private TcpFabricServer(RegisteredMemory memory, FabricLimits limits, int ioThreads, Consumer<TcpFabricServer> onClose) {
        this.memory = memory;
        this.limits = limits;
        this.maxFrameBytes = FrameDescriptor.maxFrameBytes(limits);
        this.onClose = onClose;
        this.group = new MultiThreadIoEventLoopGroup(ioThreads,
                new DefaultThreadFactory("rolexkv-tcp-node" + memory.memoryNodeId(), true), NioIoHandler.newFactory());
    }

    /** Serves {@code memory} at {@code bindEndpoint} ({@code host:port}, port 0 for any free port) with default settings. */
    public static TcpFabricServer start(RegisteredMemory memory, FabricLimits limits, String bindEndpoint) {
        return start(memory, limits, bindEndpoint, TcpSettings.DEFAULT);
    }

    /**
     * Serves {@code memory} at {@code bindEndpoint} with {@code settings.ioThreads()} event loops.
     *
     * @throws IllegalStateException if the endpoint cannot be bound, naming it
     */
    public static TcpFabricServer start(RegisteredMemory memory, FabricLimits limits, String bindEndpoint, TcpSettings settings) {
        return start(memory, limits, bindEndpoint, settings, server -> { });
    }

    static TcpFabricServer start(RegisteredMemory memory, FabricLimits limits, String bindEndpoint, TcpSettings settings,
                                 Consumer<TcpFabricServer> onClose) {
        TcpEndpoint bind = TcpEndpoint.parse(bindEndpoint);
        TcpFabricServer server = new TcpFabricServer(memory, limits, settings.ioThreads(), onClose);
        server.bind(bind);
        return server;
    }

    private void bind(TcpEndpoint bind) {
        ServerBootstrap bootstrap = new ServerBootstrap()
                .group(group)
                .channel(NioServerSocketChannel.class)
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
            throw new IllegalStateException("cannot serve memory_node=" + memory.memoryNodeId() + " at endpoint=" + bind
                    + ": " + bound.cause(), bound.cause());
        }
        serverChannel = bound.channel();
        InetSocketAddress local = (InetSocketAddress) serverChannel.localAddress();
        endpoint = new TcpEndpoint(bind.host(), local.getPort()).toString();
        LOG.info("tcp_server started memory_node={} endpoint={} regions={} max_frame_bytes={}",
                memory.memoryNodeId(), endpoint, memory.regions().size(), maxFrameBytes);
    }

    /** {@code host:port} with the port actually bound. */
    @Override
    public String endpoint() {
        return endpoint;
    }

    public int memoryNodeId() {
        return memory.memoryNodeId();
    }

    /** Connections open right now. */
    public int connectionCount() {
        return connections.size();
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
        onClose.accept(this);
        LOG.info("tcp_server stopped memory_node={} endpoint={}", memory.memoryNodeId(), endpoint);
    }

    /** The handler one connection gets; for tests that drive it through an embedded channel. */
    ChannelInboundHandlerAdapter newConnectionHandler() {
        return new ConnectionHandler();
    }

    @Override
    public String toString() {
        return "TcpFabricServer[memoryNode=" + memory.memoryNodeId() + " endpoint=" + endpoint + "]";
    }

    /**
     * One per connection: the NIC of one queue pair. Runs only in that connection's event loop.
     *
     * <p>Back-pressure: a completion is only produced while the channel is writable. One socket read can hold
     * thousands of small requests, each asking for a large READ, so turning auto-read off alone would still let one
     * read burst pile up their completions in memory. Frames that arrive while the channel is unwritable wait in
     * {@link #backlog} (at most what one read brought in, since reading stops at the same time) and run once the
     * client has taken its completions.
     */
    private final class ConnectionHandler extends ChannelInboundHandlerAdapter {
        private final ArrayDeque<ByteBuf> backlog = new ArrayDeque<>();
        private boolean draining;
        private boolean refused;

        @Override
        public void channelActive(ChannelHandlerContext context) {
            ByteBuf hello;
            try {
                hello = FrameCodec.encodeHello(context.alloc(), memory.memoryNodeId(), limits, memory.regions());
            } catch (RuntimeException e) {
                refuse(context, "cannot encode hello: " + e.getMessage());
                return;
            }
            context.writeAndFlush(hello, context.voidPromise());
            LOG.debug("tcp_server connection opened memory_node={} remote={}", memory.memoryNodeId(), context.channel().remoteAddress());
            context.fireChannelActive();
        }

        @Override
        public void channelRead(ChannelHandlerContext context, Object message) {
            ByteBuf frame = (ByteBuf) message;
            if (refused) {
                frame.release();
                return;
            }
            if (!backlog.isEmpty() || !context.channel().isWritable()) {
                backlog.add(frame);
                context.channel().config().setAutoRead(false);
                return;
            }
            process(context, frame);
            if (!context.channel().isWritable()) {
                // The client is not taking its completions as fast as it sends requests: stop reading until it
                // catches up, then push out what we have. In that order: the flush may drain at once and fire the
                // writability event, which turns reading back on; stopping after it would stop for good.
                context.channel().config().setAutoRead(false);
                context.flush();
            }
        }

        /** Decodes, runs and answers one request, then releases its frame. */
        private void process(ChannelHandlerContext context, ByteBuf frame) {
            try {
                FrameCodec.Request request = FrameCodec.decodeRequest(frame);
                context.write(execute(context, request), context.voidPromise());
            } catch (FrameFormatException e) {
                refuse(context, "bad_frame " + e.getMessage());
            } catch (RuntimeException e) {
                // Not a bad frame: the memory went away under us (node shutting down) or a bug. Drop this queue pair.
                LOG.error("tcp_server failed a batch memory_node={} remote={}", memory.memoryNodeId(),
                        context.channel().remoteAddress(), e);
                refuse(context, "internal_error " + e);
            } finally {
                frame.release();
            }
        }

        /** Runs the batch; WRITE payloads are views of the request frame, which stays retained until this returns. */
        private ByteBuf execute(ChannelHandlerContext context, FrameCodec.Request request) {
            BatchResult result;
            try {
                result = VerbExecutor.execute(memory, limits, request.batch());
            } catch (VerbRejectedException rejected) {
                return FrameCodec.encodeRefused(context.alloc(), request.batchId(), rejected);
            }
            return FrameCodec.encodeDone(context.alloc(), request.batchId(), request.batch(), result);
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
            releaseBacklog();
            LOG.debug("tcp_server connection closed memory_node={} remote={}", memory.memoryNodeId(), context.channel().remoteAddress());
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
            if (badFrame != null) {
                refuse(context, "bad_frame " + badFrame.getMessage());
            } else if (cause instanceof IOException) {
                LOG.debug("tcp_server connection broke memory_node={} remote={} reason={}", memory.memoryNodeId(),
                        context.channel().remoteAddress(), cause.toString());
                context.close();
            } else {
                refuse(context, "error " + cause);
            }
        }

        /**
         * Closes this connection after flushing the completions already written (those of the good frames before the
         * bad one), and stops reading from it; frames still waiting in the backlog are dropped unanswered.
         */
        private void refuse(ChannelHandlerContext context, String reason) {
            if (refused) {
                return;
            }
            refused = true;
            releaseBacklog();
            LOG.warn("tcp_server closing connection memory_node={} endpoint={} remote={} reason={}",
                    memory.memoryNodeId(), endpoint, context.channel().remoteAddress(), reason);
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
