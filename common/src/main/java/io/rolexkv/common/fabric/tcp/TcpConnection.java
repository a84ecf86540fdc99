package io.rolexkv.common.fabric.tcp;

import io.netty.buffer.ByteBuf;
import io.netty.channel.Channel;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.util.concurrent.ScheduledFuture;
import io.rolexkv.common.fabric.BatchResult;
import io.rolexkv.common.fabric.ConnectionLostException;
import io.rolexkv.common.fabric.DoorbellBatch;
import io.rolexkv.common.fabric.FabricConnection;
import io.rolexkv.common.fabric.FabricCounters;
import io.rolexkv.common.fabric.FabricLimits;
import io.rolexkv.common.fabric.RegionInfo;
import io.rolexkv.common.fabric.VerbExecutor;
import io.rolexkv.common.fabric.VerbRejectedException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.lang.foreign.MemorySegment;
import java.util.List;
import java.util.Map;
import java.util.Queue;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.Consumer;

/**
 * One tcp queue pair to a memory node, opened by {@link TcpTransport#connect}. A post encodes the batch in the
 * posting thread, queues the frame and returns; the connection's event loop writes queued frames (many posts, one
 * flush) and completes each batch's future from its COMPLETION frame, matched by batch id.
 *
 * <p>Thread-safe: any number of threads (typically virtual threads, one per in-flight operation) may post at once.
 * Futures complete on the connection's event loop thread, so a dependent stage attached with a non-async method
 * ({@code thenApply}, {@code whenComplete}) runs there and must not block; in particular it must not wait for
 * another batch ({@link #execute}). Use the {@code *Async} variants for anything heavier.
 *
 * <p>Failure: a REFUSED completion fails only its batch, with the {@link VerbRejectedException} the memory node sent.
 * Anything else that goes wrong (the node closes the socket or dies, the network breaks, the node sends a frame this
 * end cannot decode, a batch waits longer than {@link TcpSettings#completionTimeout()}, or {@link #close()}) closes
 * the connection: every pending batch and every later post fails at once with a {@link ConnectionLostException}
 * naming the memory node, the endpoint and the reason. Nothing waits forever.
 */
public final class TcpConnection implements FabricConnection {
    private static final Logger LOG = LoggerFactory.getLogger(TcpConnection.class);

    private final Channel channel;
    private final String endpoint;
    private final FrameCodec.Hello hello;
    private final FabricCounters counters;
    private final long completionTimeoutNanos;
    private final Consumer<TcpConnection> onClose;

    private final AtomicLong nextBatchId = new AtomicLong();
    private final Map<Long, Pending> pending = new ConcurrentHashMap<>();
    private final Queue<ByteBuf> outbound = new ConcurrentLinkedQueue<>();
    private final AtomicBoolean flushScheduled = new AtomicBoolean();
    /** Why the connection closed; {@code null} while it is open. Set once. */
    private final AtomicReference<String> closeReason = new AtomicReference<>();
    private final ScheduledFuture<?> timeoutSweep;

    /** A posted batch waiting for its completion. */
    private record Pending(DoorbellBatch batch, CompletableFuture<BatchResult> future, long postedNanos) {
    }

    TcpConnection(Channel channel, String endpoint, FrameCodec.Hello hello, FabricCounters counters,
                  TcpSettings settings, Consumer<TcpConnection> onClose) {
        this.channel = channel;
        this.endpoint = endpoint;
        this.hello = hello;
        this.counters = counters;
        this.completionTimeoutNanos = settings.completionTimeout().toNanos();
        this.onClose = onClose;
        long sweepMillis = Math.clamp(settings.completionTimeout().toMillis() / 8, 10, 1_000);
        this.timeoutSweep = channel.eventLoop().scheduleAtFixedRate(this::failTimedOutBatches, sweepMillis, sweepMillis,
                TimeUnit.MILLISECONDS);
        // Fires at once if the channel already closed between the HELLO and here, so no close is ever missed.
        channel.closeFuture().addListener(closed -> closeWith("connection closed by peer"));
    }

    @Override
    public int memoryNodeId() {
        return hello.memoryNodeId();
    }

    @Override
    public List<RegionInfo> regions() {
        return hello.regions();
    }

    /** What the memory node accepts in one batch, as it said in its HELLO. */
    public FabricLimits limits() {
        return hello.limits();
    }

    /** The {@code host:port} this connection was opened to. */
    public String endpoint() {
        return endpoint;
    }

    @Override
    public CompletableFuture<BatchResult> post(DoorbellBatch batch) {
        if (closeReason.get() != null) {
            return CompletableFuture.failedFuture(lost());
        }
        if (batch.isEmpty()) {
            return CompletableFuture.completedFuture(new BatchResult(batch, new MemorySegment[0], new long[0]));
        }
        counters.recordPosted(batch);
        FabricLimits limits = hello.limits();
        if (FrameDescriptor.requestFrameBytes(batch) > FrameDescriptor.maxFrameBytes(limits)) {
            // The memory node would drop the connection for such a frame; refuse the batch here as it would.
            return CompletableFuture.failedFuture(oversize(limits, batch));
        }
        long batchId = nextBatchId.getAndIncrement();
        Pending posted = new Pending(batch, new CompletableFuture<>(), System.nanoTime());
        pending.put(batchId, posted);
        if (closeReason.get() != null) {
            // Closed while we registered: the close may have swept the pending map before our entry arrived.
            if (pending.remove(batchId) != null) {
                posted.future().completeExceptionally(lost());
            }
            return posted.future();
        }
        ByteBuf frame;
        try {
            frame = FrameCodec.encodeRequest(channel.alloc(), batchId, batch);
        } catch (RuntimeException e) {
            pending.remove(batchId);
            throw e;
        }
        enqueue(frame);
        return posted.future();
    }

    private static VerbRejectedException oversize(FabricLimits limits, DoorbellBatch batch) {
        try {
            VerbExecutor.validateSize(limits, batch);
        } catch (VerbRejectedException rejected) {
            return rejected;
        }
        // Unreachable while maxFrameBytes covers every batch within the limits; keep the caller's answer sane anyway.
        return new VerbRejectedException(-1, VerbRejectedException.Reason.OVERSIZE_BATCH,
                "frame_bytes=" + FrameDescriptor.requestFrameBytes(batch) + " max_frame_bytes=" + limits.maxFrameBytes());
    }

    /** Queues a frame and makes sure one flush task is on its way: concurrent posts share one flush (one syscall). */
    private void enqueue(ByteBuf frame) {
        outbound.add(frame);
        if (flushScheduled.compareAndSet(false, true)) {
            try {
                channel.eventLoop().execute(this::flushOutbound);
            } catch (RejectedExecutionException e) {
                // The event loop is gone (transport closed): nothing will ever write these frames.
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
            // On a closed channel the write fails and releases the frame; the batch fails through closeWith.
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

    /** Handles one COMPLETION frame; runs in the event loop. */
    private void onCompletion(ByteBuf frame) throws FrameFormatException {
        long batchId = FrameCodec.completionBatchId(frame);
        Pending completed = pending.remove(batchId);
        if (completed == null) {
            throw new FrameFormatException("completion of unknown batch_id=" + batchId);
        }
        FrameCodec.Completion completion;
        try {
            completion = FrameCodec.decodeCompletion(frame, completed.batch());
        } catch (FrameFormatException e) {
            completed.future().completeExceptionally(lost());
            throw e;
        }
        switch (completion) {
            case FrameCodec.Done done -> completed.future().complete(done.result());
            case FrameCodec.Refused refused -> completed.future().completeExceptionally(refused.rejection());
        }
    }

    private void failTimedOutBatches() {
        long now = System.nanoTime();
        for (Map.Entry<Long, Pending> entry : pending.entrySet()) {
            if (now - entry.getValue().postedNanos() > completionTimeoutNanos) {
                closeWith("completion timeout batch_id=" + entry.getKey() + " timeout_ms="
                        + TimeUnit.NANOSECONDS.toMillis(completionTimeoutNanos));
                return;
            }
        }
    }

    /** Closes the connection for {@code reason} (the first reason wins) and fails every pending batch. */
    void closeWith(String reason) {
        if (!closeReason.compareAndSet(null, reason)) {
            return;
        }
        timeoutSweep.cancel(false);
        channel.close();
        ConnectionLostException lost = lost();
        for (Long batchId : pending.keySet()) {
            Pending failed = pending.remove(batchId);
            if (failed != null) {
                failed.future().completeExceptionally(lost);
            }
        }
        onClose.accept(this);
        LOG.debug("tcp_client connection closed memory_node={} endpoint={} reason={}", hello.memoryNodeId(), endpoint, reason);
    }

    private ConnectionLostException lost() {
        return new ConnectionLostException("connection lost memory_node=" + hello.memoryNodeId() + " endpoint=" + endpoint
                + " reason=" + closeReason.get());
    }

    @Override
    public FabricCounters counters() {
        return counters;
    }

    @Override
    public boolean isOpen() {
        return closeReason.get() == null && channel.isActive();
    }

    @Override
    public void close() {
        closeWith("closed by client");
    }

    @Override
    public String toString() {
        return "TcpConnection[memoryNode=" + hello.memoryNodeId() + " endpoint=" + endpoint + " open=" + isOpen() + "]";
    }

    /**
     * The connection's inbound end, in the pipeline from the start: takes the HELLO, then hands every frame to the
     * {@link TcpConnection} built from it. Any bad frame or error closes the connection.
     */
    static final class ClientHandler extends ChannelInboundHandlerAdapter {
        private final String endpoint;
        private final FrameSplitter splitter;
        private final CompletableFuture<FrameCodec.Hello> helloReceived = new CompletableFuture<>();
        private volatile TcpConnection connection;

        ClientHandler(String endpoint, FrameSplitter splitter) {
            this.endpoint = endpoint;
            this.splitter = splitter;
        }

        CompletableFuture<FrameCodec.Hello> helloReceived() {
            return helloReceived;
        }

        /** Hands frames after the HELLO to {@code connection} (the only frames a node sends unasked come first). */
        void attach(TcpConnection connection) {
            this.connection = connection;
        }

        @Override
        public void channelRead(ChannelHandlerContext context, Object message) {
            ByteBuf frame = (ByteBuf) message;
            try {
                if (!helloReceived.isDone()) {
                    FrameCodec.Hello hello = FrameCodec.decodeHello(frame);
                    splitter.maxFrameBytes(FrameDescriptor.maxFrameBytes(hello.limits()));
                    helloReceived.complete(hello);
                    return;
                }
                TcpConnection current = connection;
                if (current == null) {
                    throw new FrameFormatException("frame before any batch was posted");
                }
                current.onCompletion(frame);
            } catch (FrameFormatException e) {
                fail(context, "bad_frame " + e.getMessage());
            } finally {
                frame.release();
            }
        }

        @Override
        public void channelInactive(ChannelHandlerContext context) {
            helloReceived.completeExceptionally(new ConnectionLostException(
                    "memory node at endpoint=" + endpoint + " closed the connection before its hello"));
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
            TcpConnection current = connection;
            if (current != null) {
                if (reason.startsWith("bad_frame")) {
                    LOG.warn("tcp_client closing connection memory_node={} endpoint={} reason={}",
                            current.memoryNodeId(), endpoint, reason);
                }
                current.closeWith(reason);
            } else {
                helloReceived.completeExceptionally(new ConnectionLostException(
                        "bad hello from memory node at endpoint=" + endpoint + " reason=" + reason));
                context.close();
            }
        }
    }
}
