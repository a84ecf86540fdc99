package io.rolexkv.common.fabric.tcp;

import io.netty.buffer.ByteBuf;
import io.rolexkv.common.fabric.BatchResult;
import io.rolexkv.common.fabric.ConnectionLostException;
import io.rolexkv.common.fabric.DoorbellBatch;
import io.rolexkv.common.fabric.FabricConnection;
import io.rolexkv.common.fabric.FabricCounters;
import io.rolexkv.common.fabric.FabricLimits;
import io.rolexkv.common.fabric.RegionInfo;
import io.rolexkv.common.fabric.VerbExecutor;
import io.rolexkv.common.fabric.VerbRejectedException;
import io.rolexkv.common.net.ClientProtocol;
import io.rolexkv.common.net.FrameConnection;

import java.lang.foreign.MemorySegment;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Consumer;

/**
 * One queue pair to a memory node, opened by {@link TcpTransport#connect}: the tcp fabric's verbs on
 * {@link io.rolexkv.common.net.NetSettings#connections()} {@link FrameConnection}s of the network layer (lanes). A post
 * encodes the batch in the posting thread and writes it on that thread's lane, which completes the batch's future
 * from its COMPLETION frame, read by the thread that waits for it (or another waiter on the lane). A thread always posts on the same lane, so the batches one thread posts reach the memory
 * node in the order it posted them, as on one RDMA queue pair; several lanes spread many threads over the memory
 * node's event loops instead of queueing them all behind one.
 *
 * <p>Thread-safe: any number of threads (typically virtual threads, one per in-flight operation) may post at once.
 * Futures complete on the thread that reads the lane (a waiting caller, or the lane's backstop thread), so a
 * dependent stage attached with a non-async method ({@code thenApply}, {@code whenComplete}) runs there and must not
 * block; in particular it must not wait for
 * another batch ({@link #execute}). Use the {@code *Async} variants for anything heavier.
 *
 * <p>Failure: a REFUSED completion fails only its batch, with the {@link VerbRejectedException} the memory node sent.
 * Anything else that goes wrong closes the connection, as {@link FrameConnection} says: every pending batch and every
 * later post fails at once with a {@link ConnectionLostException} naming the memory node, the endpoint and the
 * reason. Nothing waits forever.
 */
public final class TcpConnection implements FabricConnection {
    /** What the tcp fabric tells the network layer about a memory node's HELLO. */
    static final ClientProtocol<FrameCodec.Hello> PROTOCOL = new ClientProtocol<>("memory node",
            FrameDescriptor.MAX_HELLO_FRAME_BYTES, FrameCodec::decodeHello,
            hello -> FrameDescriptor.maxFrameBytes(hello.limits()), hello -> "memory_node=" + hello.memoryNodeId());

    private final List<FrameConnection<FrameCodec.Hello>> lanes;
    private final FrameConnection<FrameCodec.Hello> connection;
    private final FrameCodec.Hello hello;
    private final FabricCounters counters;
    private final AtomicInteger nextLane = new AtomicInteger();
    private final ThreadLocal<Integer> threadLane;

    /**
     * @param lanes   open connections to one memory node; when one closes, all do, with its reason
     * @param onClose runs once when the lanes close
     */
    TcpConnection(List<FrameConnection<FrameCodec.Hello>> lanes, FabricCounters counters, Consumer<TcpConnection> onClose) {
        this.lanes = List.copyOf(lanes);
        this.connection = lanes.getFirst();
        this.hello = connection.hello();
        this.counters = counters;
        this.threadLane = ThreadLocal.withInitial(() -> Math.floorMod(nextLane.getAndIncrement(), this.lanes.size()));
        AtomicBoolean closed = new AtomicBoolean();
        for (FrameConnection<FrameCodec.Hello> lane : this.lanes) {
            lane.onClose(closedLane -> {
                String reason = closedLane.closeReason().orElse("closed");
                this.lanes.forEach(other -> other.closeWith(reason));
                if (closed.compareAndSet(false, true)) {
                    onClose.accept(this);
                }
            });
        }
    }

    /** The calling thread's lane: each thread keeps the one it was first given, round robin over the threads. */
    private FrameConnection<FrameCodec.Hello> lane() {
        return lanes.size() == 1 ? connection : lanes.get(threadLane.get());
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
        return connection.endpoint();
    }

    @Override
    public CompletableFuture<BatchResult> post(DoorbellBatch batch) {
        FrameConnection<FrameCodec.Hello> lane = lane();
        if (!lane.isOpen()) {
            return CompletableFuture.failedFuture(lane.lost());
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
        // The request id is stamped by the connection; 0 is a placeholder.
        ByteBuf frame = FrameCodec.encodeRequest(lane.allocator(), 0, batch);
        return lane.send(frame, completion -> switch (FrameCodec.decodeCompletion(completion, batch)) {
            case FrameCodec.Done done -> done.result();
            case FrameCodec.Refused refused -> throw refused.rejection();
        });
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

    @Override
    public FabricCounters counters() {
        return counters;
    }

    @Override
    public boolean isOpen() {
        return lanes.stream().allMatch(FrameConnection::isOpen);
    }

    @Override
    public void close() {
        lanes.forEach(FrameConnection::close);
    }

    @Override
    public String toString() {
        return "TcpConnection[memoryNode=" + hello.memoryNodeId() + " endpoint=" + endpoint() + " open=" + isOpen() + "]";
    }
}
