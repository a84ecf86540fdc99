package io.rolexkv.bench.baseline.rpc;

import io.netty.bootstrap.Bootstrap;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFuture;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.ChannelOption;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.socket.SocketChannel;
import io.netty.channel.socket.nio.NioSocketChannel;
import io.netty.util.concurrent.ScheduledFuture;
import io.rolexkv.common.fabric.ConnectionLostException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.util.Map;
import java.util.Queue;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;

/**
 * One tcp connection of an {@link RpcKV} to the rpc server. A send stamps a request id into the frame, queues it and
 * returns a future; the connection's event loop writes queued frames (many sends, one flush) and completes each
 * future from the RESPONSE frame with the same request id, so any number of threads may pipeline requests on it.
 *
 * <p>Futures complete on the event loop thread; callers wait on them from their own threads and must not attach
 * blocking work to them.
 *
 * <p>Failure: anything that goes wrong with the connection (the server closes it or dies, the network breaks, the
 * server sends a frame this end cannot decode, a request waits longer than the response timeout, or {@link #close})
 * closes it: every pending request and every later send fails at once with a {@link ConnectionLostException} naming
 * the endpoint and the reason. Nothing waits forever. A lost connection stays lost; the client does not reconnect.
 */
final class RpcClientConnection {
    private static final Logger LOG = LoggerFactory.getLogger(RpcClientConnection.class);

    private final Channel channel;
    private final String endpoint;
    private final RpcFrameCodec.Hello hello;
    private final RpcCounters counters;
    private final long responseTimeoutNanos;

    private final AtomicLong nextRequestId = new AtomicLong(1);
    private final Map<Long, Pending> pending = new ConcurrentHashMap<>();
    private final Queue<ByteBuf> outbound = new ConcurrentLinkedQueue<>();
    private final AtomicBoolean flushScheduled = new AtomicBoolean();
    /** Why the connection closed; {@code null} while it is open. Set once. */
    private final AtomicReference<String> closeReason = new AtomicReference<>();
    private final ScheduledFuture<?> timeoutSweep;

    /** A sent request waiting for its answer. */
    private record Pending(RpcRequestType type, RpcCounters.Operation operation,
                           CompletableFuture<RpcFrameCodec.Response> future, long sentNanos) {
    }

    private RpcClientConnection(Channel channel, String endpoint, RpcFrameCodec.Hello hello, RpcCounters counters,
                                RpcKVSettings settings) {
        this.channel = channel;
        this.endpoint = endpoint;
        this.hello = hello;
        this.counters = counters;
        this.responseTimeoutNanos = settings.responseTimeout().toNanos();
        long sweepMillis = Math.clamp(settings.responseTimeout().toMillis() / 8, 5, 1_000);
        this.timeoutSweep = channel.eventLoop().scheduleAtFixedRate(this::failTimedOutRequests, sweepMillis, sweepMillis,
                TimeUnit.MILLISECONDS);
        // Fires at once if the channel already closed after the HELLO, so no close is ever missed.
        channel.closeFuture().addListener(closed -> closeWith("connection closed by peer"));
    }

    /**
     * Connects to {@code host:port} on {@code group} and waits for the server's HELLO.
     *
     * @throws ConnectionLostException if there is no server there, or it sends no valid HELLO in time
     */
    static RpcClientConnection open(EventLoopGroup group, String host, int port, RpcKVSettings settings,
                                    RpcCounters counters) {
        String endpoint = (host.indexOf(':') >= 0 ? "[" + host + "]" : host) + ":" + port;
        long deadline = System.nanoTime() + settings.connectTimeout().toNanos();
        RpcFrameSplitter splitter = new RpcFrameSplitter(RpcFrameDescriptor.HELLO_LENGTH);
        ClientHandler handler = new ClientHandler(endpoint, splitter);
        Bootstrap bootstrap = new Bootstrap()
                .group(group)
                .channel(NioSocketChannel.class)
                .option(ChannelOption.TCP_NODELAY, true)
                .option(ChannelOption.CONNECT_TIMEOUT_MILLIS, (int) Math.min(Integer.MAX_VALUE, settings.connectTimeout().toMillis()))
                .handler(new ChannelInitializer<SocketChannel>() {
                    @Override
                    protected void initChannel(SocketChannel channel) {
                        channel.pipeline().addLast(splitter, handler);
                    }
                });
        ChannelFuture connected = bootstrap.connect(host, port);
        if (!connected.awaitUninterruptibly(settings.connectTimeout().toMillis()) || !connected.isSuccess()) {
            connected.channel().close();
            Throwable cause = connected.cause();
            throw new ConnectionLostException("cannot connect to rpc server endpoint=" + endpoint + " reason="
                    + (cause == null ? "connect timeout_ms=" + settings.connectTimeout().toMillis() : cause.toString()), cause);
        }
        Channel channel = connected.channel();
        RpcFrameCodec.Hello hello;
        try {
            hello = handler.helloReceived().get(Math.max(1, deadline - System.nanoTime()), TimeUnit.NANOSECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            channel.close();
            throw new ConnectionLostException("interrupted waiting for the hello of rpc server endpoint=" + endpoint, e);
        } catch (TimeoutException e) {
            channel.close();
            throw new ConnectionLostException("no hello from rpc server endpoint=" + endpoint + " within timeout_ms="
                    + settings.connectTimeout().toMillis(), e);
        } catch (ExecutionException e) {
            channel.close();
            throw new ConnectionLostException("no hello from rpc server endpoint=" + endpoint + " reason="
                    + e.getCause().getMessage(), e.getCause());
        }
        RpcClientConnection connection = new RpcClientConnection(channel, endpoint, hello, counters, settings);
        handler.attach(connection);
        return connection;
    }

    RpcFrameCodec.Hello hello() {
        return hello;
    }

    String endpoint() {
        return endpoint;
    }

    /** Where to allocate request frames: the connection's own allocator, so the write needs no copy. */
    ByteBufAllocator allocator() {
        return channel.alloc();
    }

    /**
     * Sends an encoded request frame (this takes it over, sent or not) and returns its answer's future, which fails
     * with {@link ConnectionLostException} if the connection is or becomes lost first.
     */
    CompletableFuture<RpcFrameCodec.Response> send(RpcCounters.Operation operation, ByteBuf frame) {
        if (closeReason.get() != null) {
            frame.release();
            return CompletableFuture.failedFuture(lost());
        }
        RpcRequestType type = RpcRequestType.fromCode(frame.getByte(frame.readerIndex() + RpcFrameDescriptor.TYPE_OFFSET));
        long requestId = nextRequestId.getAndIncrement();
        RpcFrameCodec.stampRequestId(frame, requestId);
        counters.recordRequest(operation, frame.readableBytes());
        Pending sent = new Pending(type, operation, new CompletableFuture<>(), System.nanoTime());
        pending.put(requestId, sent);
        if (closeReason.get() != null) {
            // Closed while we registered: the close may have swept the pending map before our entry arrived.
            frame.release();
            if (pending.remove(requestId) != null) {
                sent.future().completeExceptionally(lost());
            }
            return sent.future();
        }
        enqueue(frame);
        return sent.future();
    }

    /** Queues a frame and makes sure one flush task is on its way: concurrent sends share one flush (one syscall). */
    private void enqueue(ByteBuf frame) {
        outbound.add(frame);
        if (flushScheduled.compareAndSet(false, true)) {
            try {
                channel.eventLoop().execute(this::flushOutbound);
            } catch (RejectedExecutionException e) {
                // The event loop is gone (client closing): nothing will ever write these frames.
                flushScheduled.set(false);
                releaseOutbound();
                closeWith("event loop shut down");
            }
        }
    }

    private void flushOutbound() {
        flushScheduled.set(false);
        ByteBuf frame;
        while ((frame = outbound.poll()) != null) {
            // On a closed channel the write fails and releases the frame; the request fails through closeWith.
            channel.write(frame, channel.voidPromise());
        }
        channel.flush();
    }

    private void releaseOutbound() {
        ByteBuf frame;
        while ((frame = outbound.poll()) != null) {
            frame.release();
        }
    }

    /** Handles one RESPONSE frame; runs in the event loop. */
    private void onResponse(ByteBuf frame) throws RpcFrameException {
        RpcFrameCodec.Response response = RpcFrameCodec.readResponse(frame);
        Pending answered = pending.remove(response.requestId());
        if (answered == null) {
            throw new RpcFrameException("response to unknown request_id=" + response.requestId());
        }
        if (answered.type() != response.type()) {
            answered.future().completeExceptionally(lost());
            throw new RpcFrameException("response type=" + response.type() + " to request_id=" + response.requestId()
                    + " of type=" + answered.type());
        }
        counters.recordResponse(answered.operation(), response.frame().length);
        answered.future().complete(response);
    }

    private void failTimedOutRequests() {
        long now = System.nanoTime();
        for (Map.Entry<Long, Pending> entry : pending.entrySet()) {
            if (now - entry.getValue().sentNanos() > responseTimeoutNanos) {
                closeWith("response timeout request_id=" + entry.getKey() + " type=" + entry.getValue().type()
                        + " timeout_ms=" + TimeUnit.NANOSECONDS.toMillis(responseTimeoutNanos));
                return;
            }
        }
    }

    /** Closes the connection for {@code reason} (the first reason wins) and fails every pending request. */
    void closeWith(String reason) {
        if (!closeReason.compareAndSet(null, reason)) {
            return;
        }
        timeoutSweep.cancel(false);
        channel.close();
        ConnectionLostException lost = lost();
        for (Long requestId : pending.keySet()) {
            Pending failed = pending.remove(requestId);
            if (failed != null) {
                failed.future().completeExceptionally(lost);
            }
        }
        LOG.debug("rpc_client connection closed endpoint={} reason={}", endpoint, reason);
    }

    /** The exception every request on this connection fails with once it is lost. */
    ConnectionLostException lost() {
        return new ConnectionLostException("connection to rpc server lost endpoint=" + endpoint + " reason="
                + closeReason.get());
    }

    boolean isOpen() {
        return closeReason.get() == null && channel.isActive();
    }

    void close() {
        closeWith("closed by client");
    }

    /**
     * The connection's inbound end, in the pipeline from the start: takes the HELLO, then hands every frame to the
     * {@link RpcClientConnection} built from it. Any bad frame or error closes the connection.
     */
    private static final class ClientHandler extends ChannelInboundHandlerAdapter {
        private final String endpoint;
        private final RpcFrameSplitter splitter;
        private final CompletableFuture<RpcFrameCodec.Hello> helloReceived = new CompletableFuture<>();
        private volatile RpcClientConnection connection;

        ClientHandler(String endpoint, RpcFrameSplitter splitter) {
            this.endpoint = endpoint;
            this.splitter = splitter;
        }

        CompletableFuture<RpcFrameCodec.Hello> helloReceived() {
            return helloReceived;
        }

        void attach(RpcClientConnection connection) {
            this.connection = connection;
        }

        @Override
        public void channelRead(ChannelHandlerContext context, Object message) {
            ByteBuf frame = (ByteBuf) message;
            try {
                if (!helloReceived.isDone()) {
                    RpcFrameCodec.Hello hello = RpcFrameCodec.decodeHello(frame);
                    splitter.maxFrameBytes(hello.maxFrameBytes());
                    helloReceived.complete(hello);
                    return;
                }
                RpcClientConnection current = connection;
                if (current == null) {
                    throw new RpcFrameException("frame before any request was sent");
                }
                current.onResponse(frame);
            } catch (RpcFrameException e) {
                fail(context, "bad_frame " + e.getMessage());
            } finally {
                frame.release();
            }
        }

        @Override
        public void channelInactive(ChannelHandlerContext context) {
            helloReceived.completeExceptionally(new ConnectionLostException(
                    "rpc server at endpoint=" + endpoint + " closed the connection before its hello"));
            context.fireChannelInactive();
        }

        @Override
        public void exceptionCaught(ChannelHandlerContext context, Throwable cause) {
            Throwable reason = cause;
            while (reason.getCause() != null && !(reason instanceof RpcFrameException)) {
                reason = reason.getCause();
            }
            if (reason instanceof RpcFrameException) {
                fail(context, "bad_frame " + reason.getMessage());
            } else if (reason instanceof IOException) {
                fail(context, "io_error " + reason.getMessage());
            } else {
                fail(context, "error " + reason);
            }
        }

        private void fail(ChannelHandlerContext context, String reason) {
            RpcClientConnection current = connection;
            if (current != null) {
                if (reason.startsWith("bad_frame")) {
                    LOG.warn("rpc_client closing connection endpoint={} reason={}", endpoint, reason);
                }
                current.closeWith(reason);
            } else {
                helloReceived.completeExceptionally(new ConnectionLostException(
                        "bad hello from rpc server at endpoint=" + endpoint + " reason=" + reason));
                context.close();
            }
        }
    }
}
