package io.rolexkv.common.fabric.tcp;

import io.netty.buffer.ByteBuf;
import io.rolexkv.common.fabric.BatchResult;
import io.rolexkv.common.fabric.CompletionBuffer;
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
import io.rolexkv.common.net.FrameDecoder;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.lang.foreign.MemorySegment;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CancellationException;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Consumer;
import java.util.function.Supplier;

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
    private static final Logger LOG = LoggerFactory.getLogger(TcpConnection.class);
    /** What the tcp fabric tells the network layer about a memory node's HELLO. */
    static final ClientProtocol<FrameCodec.Hello> PROTOCOL = new ClientProtocol<>("memory node",
            FrameDescriptor.MAX_HELLO_FRAME_BYTES, FrameCodec::decodeHello,
            hello -> FrameDescriptor.maxFrameBytes(hello.limits()), hello -> "memory_node=" + hello.memoryNodeId());

    private final FrameConnection<FrameCodec.Hello> connection;
    private final FrameCodec.Hello hello;
    private final FabricCounters counters;
    private final Supplier<FrameConnection<FrameCodec.Hello>> laneOpener;
    private final int maxLanes;
    /** The open lanes, the first one included; grows (copy on write, under this) up to {@link #maxLanes}. */
    private volatile List<FrameConnection<FrameCodec.Hello>> lanes;
    private final AtomicInteger nextLane = new AtomicInteger();
    private final ThreadLocal<Integer> threadLane;
    private final AtomicBoolean closed = new AtomicBoolean();
    private final Consumer<TcpConnection> onClose;

    /**
     * @param first      an open connection to the memory node, the first lane
     * @param laneOpener opens another lane to the same memory node, for a thread that posts for the first time
     * @param maxLanes   lanes at most; when one closes, all do, with its reason
     * @param onClose    runs once when the lanes close
     */
    TcpConnection(FrameConnection<FrameCodec.Hello> first, Supplier<FrameConnection<FrameCodec.Hello>> laneOpener,
                  int maxLanes, FabricCounters counters, Consumer<TcpConnection> onClose) {
        this.connection = first;
        this.hello = first.hello();
        this.counters = counters;
        this.laneOpener = laneOpener;
        this.maxLanes = maxLanes;
        this.onClose = onClose;
        this.lanes = List.of(first);
        this.threadLane = ThreadLocal.withInitial(() -> Math.floorMod(nextLane.getAndIncrement(), maxLanes));
        link(first);
    }

    /** When {@code lane} closes, every lane closes with its reason, and the owner hears of it once. */
    private void link(FrameConnection<FrameCodec.Hello> lane) {
        lane.onClose(closedLane -> {
            String reason = closedLane.closeReason().orElse("closed");
            if (closed.compareAndSet(false, true)) {
                lanes.forEach(other -> other.closeWith(reason));
                onClose.accept(this);
            }
        });
    }

    /**
     * The calling thread's lane: each thread keeps the one it was first given, round robin over the threads, so a
     * thread alone on its lane reads its own completions and wakes no other. The lane is opened when its first thread
     * first posts (a connect and a HELLO, once); if it cannot be opened the thread keeps to the first lane.
     */
    private FrameConnection<FrameCodec.Hello> lane() {
        if (maxLanes == 1) {
            return connection;
        }
        int index = threadLane.get();
        List<FrameConnection<FrameCodec.Hello>> current = lanes;
        return index < current.size() ? current.get(index) : openLane(index);
    }

    private synchronized FrameConnection<FrameCodec.Hello> openLane(int index) {
        while (lanes.size() <= index) {
            if (closed.get()) {
                return connection;
            }
            FrameConnection<FrameCodec.Hello> lane;
            try {
                lane = laneOpener.get();
            } catch (RuntimeException e) {
                LOG.debug("cannot open another lane to memory_node={} endpoint={}, staying on the first: {}",
                        hello.memoryNodeId(), endpoint(), e.toString());
                threadLane.set(0);
                return connection;
            }
            // A lane must reach the memory the first one did: a node restarted in between (even with the same id) has
            // another incarnation, and a batch on that lane would run against memory its caller never saw.
            if (lane.hello().memoryNodeId() != hello.memoryNodeId() || lane.hello().incarnation() != hello.incarnation()) {
                lane.close();
                threadLane.set(0);
                return connection;
            }
            List<FrameConnection<FrameCodec.Hello>> grown = new ArrayList<>(lanes);
            grown.add(lane);
            lanes = List.copyOf(grown);
            link(lane);
            if (closed.get()) {
                lane.closeWith(connection.closeReason().orElse("closed"));
            }
        }
        return lanes.get(index);
    }

    @Override
    public int memoryNodeId() {
        return hello.memoryNodeId();
    }

    @Override
    public long incarnation() {
        return hello.incarnation();
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
        return send(lane, batch, completion -> switch (FrameCodec.decodeCompletion(completion, batch)) {
            case FrameCodec.Done done -> done.result();
            case FrameCodec.Refused refused -> throw refused.rejection();
        });
    }

    /**
     * The DONE frame's READ bytes go from the lane's read buffer straight into {@code into}: no result object, no array
     * of its own, one copy. The caller waits for the answer even if interrupted meanwhile (and keeps the interrupt),
     * since the answer lands in its buffer, which it must not reuse before; the response timeout bounds the wait.
     */
    @Override
    public void execute(DoorbellBatch batch, CompletionBuffer into) {
        FrameConnection<FrameCodec.Hello> lane = lane();
        if (!lane.isOpen()) {
            throw lane.lost();
        }
        if (batch.isEmpty()) {
            into.reset(batch);
            return;
        }
        CompletableFuture<CompletionBuffer> answer = send(lane, batch, completion -> {
            FrameCodec.decodeCompletion(completion, batch, into);
            return into;
        });
        try {
            answer.join();
        } catch (CompletionException | CancellationException e) {
            // Reported below, as every execute reports it.
        }
        FabricConnection.await(answer);
    }

    /** Counts {@code batch}, refuses it here if the memory node would, else sends it on {@code lane}. */
    private <R> CompletableFuture<R> send(FrameConnection<FrameCodec.Hello> lane, DoorbellBatch batch,
                                          FrameDecoder<R> decoder) {
        counters.recordPosted(batch);
        FabricLimits limits = hello.limits();
        if (FrameDescriptor.requestFrameBytes(batch) > FrameDescriptor.maxFrameBytes(limits)) {
            // The memory node would drop the connection for such a frame; refuse the batch here as it would.
            return CompletableFuture.failedFuture(oversize(limits, batch));
        }
        // The request id is stamped by the connection; 0 is a placeholder.
        ByteBuf frame = FrameCodec.encodeRequest(lane.allocator(), 0, batch);
        return lane.send(frame, decoder);
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
