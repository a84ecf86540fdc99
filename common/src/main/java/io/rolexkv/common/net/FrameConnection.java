package io.rolexkv.common.net;

import io.netty.bootstrap.Bootstrap;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import io.netty.buffer.ByteBufUtil;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFuture;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.ChannelOption;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.nio.NioIoHandler;
import io.netty.channel.socket.nio.NioSocketChannel;
import io.netty.util.concurrent.DefaultThreadFactory;
import io.netty.util.concurrent.ScheduledFuture;
import io.rolexkv.common.fabric.ConnectionLostException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.SocketChannel;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Queue;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.Consumer;

/**
 * One pipelined tcp connection to a server of some protocol ({@link ClientProtocol}): the client half of this layer,
 * which the tcp fabric's queue pairs and the rpc baseline's connections both are. {@link #open} connects and waits for
 * the server's HELLO; {@link #send} stamps a request id into an encoded frame, queues it and returns a future that the
 * answer with the same id completes, through the caller's {@link FrameDecoder}. Any number of threads may send at
 * once.
 *
 * <h2>Who writes</h2>
 * A request that finds nothing else in flight on its connection is written to the socket by the thread that sends it:
 * handing it to the event loop would cost a wake-up (a syscall) and a thread switch, most of a lone small request's
 * time. A request sent while others are in flight is queued for the event loop instead, which is awake anyway to
 * read their answers and writes everything queued by then with one gathering write: under load many requests share
 * one syscall here and one read on the server. Whoever writes takes every queued frame, in order, under one write
 * right; only what a full socket cannot take goes to Netty's own write path (which waits for the socket to drain),
 * and until it is written, later frames follow it, so the bytes stay in order.
 *
 * <p>Futures complete on the connection's event loop thread, so a dependent stage attached with a non-async method
 * runs there and must not block; in particular it must not wait for another request on this connection.
 *
 * <p>Failure: anything that goes wrong with the connection (the server closes it or dies, the network breaks, the
 * server sends a frame this end cannot decode or an answer to no pending request, a request waits longer than
 * {@link NetSettings#responseTimeout()}, or {@link #close()}) closes it: every pending request and every later send
 * fails at once with a {@link ConnectionLostException} naming the server, the endpoint and the reason. Nothing waits
 * forever. A lost connection stays lost; whoever owns it may open another.
 *
 * @param <H> the protocol's decoded HELLO
 */
public final class FrameConnection<H> {
    private static final Logger LOG = LoggerFactory.getLogger(FrameConnection.class);
    /** Frames one gathering write takes at most (the kernel's iovec limit is 1024). */
    private static final int MAX_FRAMES_PER_WRITE = 64;

    private final Channel channel;
    private final String endpoint;
    private final H hello;
    private final String peer;
    private final long responseTimeoutNanos;
    private volatile Consumer<FrameConnection<H>> onClose = connection -> { };

    private final AtomicLong nextRequestId = new AtomicLong(1);
    private final Map<Long, Pending<?>> pending = new ConcurrentHashMap<>();
    private final SocketChannel socket;
    private final Queue<ByteBuf> outbound = new ConcurrentLinkedQueue<>();
    /** Held by the one thread (a sender or the event loop) that writes the queue to the socket right now. */
    private final AtomicBoolean writing = new AtomicBoolean();
    /** Whether a task that writes the queue is on its way to the event loop. */
    private final AtomicBoolean eventLoopDrainScheduled = new AtomicBoolean();
    /** Hand-offs to the event loop not yet written whole; while any is, later frames go the same way, in order. */
    private final AtomicInteger eventLoopWrites = new AtomicInteger();
    /** The frames of one gathering write and their buffers; used only by the sender that holds {@link #writing}. */
    private final ByteBuf[] batchFrames = new ByteBuf[MAX_FRAMES_PER_WRITE];
    private final ByteBuffer[] batchBuffers = new ByteBuffer[MAX_FRAMES_PER_WRITE];
    /** Why the connection closed; {@code null} while it is open. Set once. */
    private final AtomicReference<String> closeReason = new AtomicReference<>();
    private final ScheduledFuture<?> timeoutSweep;

    /** A sent request waiting for its answer. */
    private record Pending<R>(FrameDecoder<R> decoder, CompletableFuture<R> future, long sentNanos) {
        void complete(ByteBuf frame) throws FrameFormatException {
            R answer;
            try {
                answer = decoder.decode(frame);
            } catch (FrameFormatException e) {
                throw e;
            } catch (RuntimeException e) {
                future.completeExceptionally(e);
                return;
            }
            future.complete(answer);
        }
    }

    private FrameConnection(Channel channel, String endpoint, H hello, String peer, NetSettings settings) {
        this.channel = channel;
        this.socket = ((SocketChannelWithSocket) channel).socket();
        this.endpoint = endpoint;
        this.hello = hello;
        this.peer = peer;
        this.responseTimeoutNanos = settings.responseTimeout().toNanos();
        long sweepMillis = Math.clamp(settings.responseTimeout().toMillis() / 8, 5, 1_000);
        this.timeoutSweep = channel.eventLoop().scheduleAtFixedRate(this::failTimedOutRequests, sweepMillis, sweepMillis,
                TimeUnit.MILLISECONDS);
        // Fires at once if the channel already closed after the HELLO, so no close is ever missed.
        channel.closeFuture().addListener(closed -> closeWith("connection closed by peer"));
    }

    /** An event loop group for clients: {@code threads} daemon threads named after {@code name}. */
    public static EventLoopGroup newEventLoopGroup(String name, int threads) {
        return new MultiThreadIoEventLoopGroup(threads, new DefaultThreadFactory(name, true), NioIoHandler.newFactory());
    }

    /**
     * Connects to {@code endpoint} ({@code host:port} or {@code [v6-address]:port}) on {@code group}, with
     * TCP_NODELAY since every frame is a request someone waits on, and waits for the server's HELLO. Blocks, so call
     * it from an application thread, never from a completion callback.
     *
     * @throws ConnectionLostException if there is no server there, or it sends no valid HELLO within
     *                                 {@link NetSettings#connectTimeout()}, naming the endpoint
     * @throws IllegalArgumentException if {@code endpoint} is not {@code host:port}
     */
    public static <H> FrameConnection<H> open(EventLoopGroup group, String endpoint, ClientProtocol<H> protocol,
                                              NetSettings settings) {
        TcpEndpoint target = TcpEndpoint.parse(endpoint);
        long timeoutMillis = settings.connectTimeout().toMillis();
        long deadline = System.nanoTime() + settings.connectTimeout().toNanos();
        FrameSplitter splitter = new FrameSplitter(protocol.maxHelloFrameBytes());
        ClientHandler<H> handler = new ClientHandler<>(endpoint, protocol, splitter);
        Bootstrap bootstrap = new Bootstrap()
                .group(group)
                .channelFactory(SocketChannelWithSocket::new)
                .option(ChannelOption.TCP_NODELAY, true)
                .option(ChannelOption.CONNECT_TIMEOUT_MILLIS, (int) Math.min(Integer.MAX_VALUE, timeoutMillis))
                .handler(new ChannelInitializer<Channel>() {
                    @Override
                    protected void initChannel(Channel channel) {
                        channel.pipeline().addLast(splitter, handler);
                    }
                });
        ChannelFuture connected = bootstrap.connect(target.host(), target.port());
        // Netty fails the connect itself after CONNECT_TIMEOUT_MILLIS; the margin only covers its timer's slack.
        if (!connected.awaitUninterruptibly(timeoutMillis + 1_000) || !connected.isSuccess()) {
            connected.channel().close();
            Throwable cause = connected.cause();
            throw new ConnectionLostException("cannot connect to " + protocol.peerKind() + " at endpoint=" + endpoint
                    + " reason=" + (cause == null ? "connect timeout after " + timeoutMillis + " ms" : cause.toString()),
                    cause);
        }
        Channel channel = connected.channel();
        H hello = awaitHello(channel, handler, endpoint, protocol, deadline);
        FrameConnection<H> connection = new FrameConnection<>(channel, endpoint, hello,
                joined(protocol.describe().apply(hello), protocol.peerKind()), settings);
        handler.attach(connection);
        return connection;
    }

    private static String joined(String description, String kind) {
        return description.isEmpty() ? kind.replace(' ', '_') : description;
    }

    private static <H> H awaitHello(Channel channel, ClientHandler<H> handler, String endpoint, ClientProtocol<H> protocol,
                                    long deadlineNanos) {
        try {
            return handler.helloReceived.get(Math.max(1, deadlineNanos - System.nanoTime()), TimeUnit.NANOSECONDS);
        } catch (TimeoutException e) {
            channel.close();
            throw new ConnectionLostException("no hello from " + protocol.peerKind() + " at endpoint=" + endpoint
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
            throw new ConnectionLostException("no hello from " + protocol.peerKind() + " at endpoint=" + endpoint
                    + " reason=" + e.getCause(), e.getCause());
        }
    }

    /** What the server said in its HELLO. */
    public H hello() {
        return hello;
    }

    /** The {@code host:port} this connection was opened to. */
    public String endpoint() {
        return endpoint;
    }

    /** Where to allocate request frames: the connection's own allocator, so the write needs no copy. */
    public ByteBufAllocator allocator() {
        return channel.alloc();
    }

    /** Runs {@code listener} once when the connection closes, for whatever reason (at once if it has). */
    public void onClose(Consumer<FrameConnection<H>> listener) {
        this.onClose = listener;
        if (closeReason.get() != null) {
            listener.accept(this);
        }
    }

    /**
     * Sends an encoded request frame (this takes it over, sent or not) under a fresh request id and returns the
     * future {@code decoder} completes from its answer; it fails with {@link ConnectionLostException} if the
     * connection is or becomes lost first.
     */
    public <R> CompletableFuture<R> send(ByteBuf frame, FrameDecoder<R> decoder) {
        if (closeReason.get() != null) {
            frame.release();
            return CompletableFuture.failedFuture(lost());
        }
        long requestId = nextRequestId.getAndIncrement();
        FrameHeader.stampRequestId(frame, requestId);
        Pending<R> sent = new Pending<>(decoder, new CompletableFuture<>(), System.nanoTime());
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

    /**
     * Queues a frame, then writes the queue here if this is the only request in flight, else leaves it to the event
     * loop (see the class comment).
     */
    private void enqueue(ByteBuf frame) {
        outbound.add(frame);
        if (pending.size() <= 1) {
            drain();
        } else if (eventLoopDrainScheduled.compareAndSet(false, true)) {
            try {
                channel.eventLoop().execute(() -> {
                    eventLoopDrainScheduled.set(false);
                    drain();
                });
            } catch (RejectedExecutionException e) {
                // The event loop is gone (client closing): nothing will ever write these frames.
                eventLoopDrainScheduled.set(false);
                releaseOutbound();
                closeWith("event loop shut down");
            }
        }
    }

    /**
     * Writes the queue unless another thread is writing it, in which case that one takes the new frames too before
     * it lets go (it checks the queue after letting go, so no frame is ever left behind).
     */
    private void drain() {
        while (!outbound.isEmpty() && writing.compareAndSet(false, true)) {
            try {
                writeQueued();
            } finally {
                writing.set(false);
            }
        }
    }

    /** Writes the queue to the socket in gathering writes; holds {@link #writing}. */
    private void writeQueued() {
        while (true) {
            // An interrupted sender must not touch the socket: an interrupt closes a channel it is writing to.
            if (eventLoopWrites.get() > 0 || Thread.currentThread().isInterrupted()) {
                handToEventLoop();
                return;
            }
            int frames = 0;
            ByteBuf frame;
            while (frames < MAX_FRAMES_PER_WRITE && (frame = outbound.poll()) != null) {
                batchFrames[frames] = frame;
                batchBuffers[frames] = frame.nioBufferCount() == 1
                        ? frame.nioBuffer(frame.readerIndex(), frame.readableBytes())
                        : ByteBuffer.wrap(ByteBufUtil.getBytes(frame));
                frames++;
            }
            if (frames == 0) {
                return;
            }
            try {
                socket.write(batchBuffers, 0, frames);
            } catch (IOException e) {
                releaseBatch(0, frames);
                releaseOutbound();
                closeWith("io_error " + e);
                return;
            }
            int first = 0;
            while (first < frames && !batchBuffers[first].hasRemaining()) {
                batchFrames[first].release();
                first++;
            }
            if (first < frames) {
                // The socket is full: Netty writes the rest when it drains, and everything after it.
                batchFrames[first].skipBytes(batchFrames[first].readableBytes() - batchBuffers[first].remaining());
                handToEventLoop(first, frames);
                handToEventLoop();
                return;
            }
            clearBatch(frames);
        }
    }

    /** Hands {@code batchFrames[from, to)} to Netty's write path, in order, ahead of anything queued after them. */
    private void handToEventLoop(int from, int to) {
        List<ByteBuf> frames = new ArrayList<>(to - from);
        for (int i = from; i < to; i++) {
            frames.add(batchFrames[i]);
        }
        clearBatch(to);
        writeOnEventLoop(frames);
    }

    /** Hands every queued frame to Netty's write path. */
    private void handToEventLoop() {
        List<ByteBuf> frames = new ArrayList<>();
        ByteBuf frame;
        while ((frame = outbound.poll()) != null) {
            frames.add(frame);
        }
        if (!frames.isEmpty()) {
            writeOnEventLoop(frames);
        }
    }

    private void writeOnEventLoop(List<ByteBuf> frames) {
        eventLoopWrites.incrementAndGet();
        try {
            channel.eventLoop().execute(() -> {
                for (int i = 0; i < frames.size() - 1; i++) {
                    // On a closed channel the write fails and releases the frame; requests fail through closeWith.
                    channel.write(frames.get(i), channel.voidPromise());
                }
                channel.writeAndFlush(frames.getLast()).addListener(written -> eventLoopWrites.decrementAndGet());
            });
        } catch (RejectedExecutionException e) {
            // The event loop is gone (client closing): nothing will ever write these frames.
            eventLoopWrites.decrementAndGet();
            frames.forEach(ByteBuf::release);
            closeWith("event loop shut down");
        }
    }

    private void clearBatch(int frames) {
        Arrays.fill(batchFrames, 0, frames, null);
        Arrays.fill(batchBuffers, 0, frames, null);
    }

    private void releaseBatch(int from, int to) {
        for (int i = from; i < to; i++) {
            batchFrames[i].release();
        }
        clearBatch(to);
    }

    private void releaseOutbound() {
        ByteBuf frame;
        while ((frame = outbound.poll()) != null) {
            frame.release();
        }
    }

    /** Handles one answer frame; runs in the event loop. */
    private void onAnswer(ByteBuf frame) throws FrameFormatException {
        if (frame.readableBytes() < FrameHeader.HEADER_LENGTH) {
            throw new FrameFormatException("frame_bytes=" + frame.readableBytes() + " shorter than header_bytes="
                    + FrameHeader.HEADER_LENGTH);
        }
        long requestId = FrameHeader.requestId(frame);
        Pending<?> answered = pending.remove(requestId);
        if (answered == null) {
            throw new FrameFormatException("response to unknown request_id=" + requestId);
        }
        try {
            answered.complete(frame);
        } catch (FrameFormatException e) {
            // Close first, so the request fails with the reason like every other pending one.
            closeWith("bad_frame " + e.getMessage());
            answered.future().completeExceptionally(lost());
            throw e;
        }
    }

    private void failTimedOutRequests() {
        long now = System.nanoTime();
        for (Map.Entry<Long, Pending<?>> entry : pending.entrySet()) {
            if (now - entry.getValue().sentNanos() > responseTimeoutNanos) {
                closeWith("response timeout request_id=" + entry.getKey() + " timeout_ms="
                        + TimeUnit.NANOSECONDS.toMillis(responseTimeoutNanos));
                return;
            }
        }
    }

    /** Closes the connection for {@code reason} (the first reason wins) and fails every pending request. */
    public void closeWith(String reason) {
        if (!closeReason.compareAndSet(null, reason)) {
            return;
        }
        timeoutSweep.cancel(false);
        channel.close();
        ConnectionLostException lost = lost();
        for (Long requestId : pending.keySet()) {
            Pending<?> failed = pending.remove(requestId);
            if (failed != null) {
                failed.future().completeExceptionally(lost);
            }
        }
        onClose.accept(this);
        LOG.debug("connection closed {} endpoint={} reason={}", peer, endpoint, reason);
    }

    /** Why the connection closed, or empty while it is open. */
    public Optional<String> closeReason() {
        return Optional.ofNullable(closeReason.get());
    }

    /** The exception every request on this connection fails with once it is lost. */
    public ConnectionLostException lost() {
        return new ConnectionLostException("connection lost " + peer + " endpoint=" + endpoint + " reason="
                + closeReason.get());
    }

    public boolean isOpen() {
        return closeReason.get() == null && channel.isActive();
    }

    public void close() {
        closeWith("closed by client");
    }

    @Override
    public String toString() {
        return "FrameConnection[" + peer + " endpoint=" + endpoint + " open=" + isOpen() + "]";
    }

    /**
     * The connection's inbound end, in the pipeline from the start: takes the HELLO, then hands every frame to the
     * {@link FrameConnection} built from it. Any bad frame or error closes the connection.
     */
    private static final class ClientHandler<H> extends ChannelInboundHandlerAdapter {
        private final String endpoint;
        private final ClientProtocol<H> protocol;
        private final FrameSplitter splitter;
        private final CompletableFuture<H> helloReceived = new CompletableFuture<>();
        private volatile FrameConnection<H> connection;

        ClientHandler(String endpoint, ClientProtocol<H> protocol, FrameSplitter splitter) {
            this.endpoint = endpoint;
            this.protocol = protocol;
            this.splitter = splitter;
        }

        /** Hands frames after the HELLO to {@code connection} (the only frame a server sends unasked comes first). */
        void attach(FrameConnection<H> connection) {
            this.connection = connection;
        }

        @Override
        public void channelRead(ChannelHandlerContext context, Object message) {
            ByteBuf frame = (ByteBuf) message;
            try {
                if (!helloReceived.isDone()) {
                    H hello = protocol.helloDecoder().decode(frame);
                    splitter.maxFrameBytes(protocol.maxFrameBytes().applyAsInt(hello));
                    helloReceived.complete(hello);
                    return;
                }
                FrameConnection<H> current = connection;
                if (current == null) {
                    throw new FrameFormatException("frame before any request was sent");
                }
                current.onAnswer(frame);
            } catch (FrameFormatException e) {
                fail(context, "bad_frame " + e.getMessage());
            } finally {
                frame.release();
            }
        }

        @Override
        public void channelInactive(ChannelHandlerContext context) {
            helloReceived.completeExceptionally(new ConnectionLostException(protocol.peerKind() + " at endpoint="
                    + endpoint + " closed the connection before its hello"));
            context.fireChannelInactive();
        }

        @Override
        public void exceptionCaught(ChannelHandlerContext context, Throwable cause) {
            Throwable reason = cause;
            while (reason.getCause() != null && !(reason instanceof FrameFormatException)) {
                reason = reason.getCause();
            }
            if (reason instanceof FrameFormatException) {
                fail(context, "bad_frame " + reason.getMessage());
            } else if (reason instanceof IOException) {
                fail(context, "io_error " + reason.getMessage());
            } else {
                fail(context, "error " + reason);
            }
        }

        private void fail(ChannelHandlerContext context, String reason) {
            FrameConnection<H> current = connection;
            if (current != null) {
                if (reason.startsWith("bad_frame")) {
                    LOG.warn("closing connection {} endpoint={} reason={}", current.peer, endpoint, reason);
                }
                current.closeWith(reason);
            } else {
                helloReceived.completeExceptionally(new ConnectionLostException("bad hello from " + protocol.peerKind()
                        + " at endpoint=" + endpoint + " reason=" + reason));
                context.close();
            }
        }
    }

    /** Netty's NIO socket channel, with its socket reachable so a sender can write to it from its own thread. */
    private static final class SocketChannelWithSocket extends NioSocketChannel {
        SocketChannel socket() {
            return javaChannel();
        }
    }
}
