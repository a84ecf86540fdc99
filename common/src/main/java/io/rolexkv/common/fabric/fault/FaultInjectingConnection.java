package io.rolexkv.common.fabric.fault;

import io.rolexkv.common.fabric.BatchResult;
import io.rolexkv.common.fabric.CompletionBuffer;
import io.rolexkv.common.fabric.ConnectionLostException;
import io.rolexkv.common.fabric.DoorbellBatch;
import io.rolexkv.common.fabric.FabricConnection;
import io.rolexkv.common.fabric.FabricCounters;
import io.rolexkv.common.fabric.FabricLimits;
import io.rolexkv.common.fabric.GlobalAddress;
import io.rolexkv.common.fabric.RegionInfo;
import io.rolexkv.common.fabric.VerbKind;

import java.lang.foreign.MemorySegment;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.List;
import java.util.Random;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Consumer;

/**
 * A {@link FabricConnection} that wraps another and injects the faults a {@link FaultPlan} names, so tests see what
 * a real RDMA fabric does to a compute node and a loopback or tcp run never would. Tests only: it exists to break
 * things on purpose.
 *
 * <h2>What each fault emulates</h2>
 * <ul>
 *   <li><b>Latency</b> (fixed, or drawn uniformly in a range, per batch): the time a doorbell batch spends on the
 *   wire and in the NICs (propagation, switch queues, the memory node's PCIe round trips) and its variance under
 *   congestion. It stretches every compute-node protocol over more wall time, so the windows between a READ and
 *   the CAS that acts on it are as wide as on a loaded fabric and other clients' batches land inside them. It is
 *   added asynchronously (a scheduled executor), never by blocking the posting thread.</li>
 *   <li><b>Torn WRITE</b> (with a probability per WRITE longer than 8 bytes): the responder NIC places a WRITE's
 *   payload into memory as a series of PCIe DMA transactions, and the InfiniBand specification promises no order
 *   of data placement inside one message, only that all of it is there when the completion is seen. A concurrent
 *   READ from another queue pair, or the memory node's own CPU, can therefore see any mix of old and new words, not
 *   only a prefix. The decorator cuts the WRITE at 8-byte aligned addresses into 2 to {@code maxTearPieces} pieces,
 *   posts each piece as its own doorbell on the delegate in a shuffled (never ascending) order, and pauses between
 *   pieces to hold the mixed state open. Cuts fall only on 8-byte boundaries because an aligned 8-byte word is the
 *   one unit RDMA (and this project) promises is never torn.</li>
 *   <li><b>Dropped connection</b> ({@link #drop()} now, or when the caller posts batch {@code dropAfterBatches + 1}):
 *   a memory node crash, a pulled cable, or a queue pair moved to the error state (retry count exceeded); on
 *   hardware every outstanding work request then completes with a flush error and every later post fails. Here the
 *   delegate is closed, and every pending and later batch fails with {@link ConnectionLostException}; whether a
 *   pending batch's verbs were applied is unknown, as on hardware. A real loss underneath (the delegate fails a
 *   batch with {@link ConnectionLostException}, say because the server was killed) is treated the same way as soon
 *   as it is seen, so batches still waiting out their latency fail at once.</li>
 * </ul>
 *
 * <h2>What it keeps</h2>
 * Everything the {@link FabricConnection} contract promises, so the contract suite passes through it:
 * <ul>
 *   <li>In-order execution inside a batch. A batch with torn WRITEs is run as a chain of delegate batches: each run
 *   of untouched consecutive verbs is one delegate batch, each piece of a torn WRITE another, and each delegate batch
 *   is posted only after the previous one completed. Verbs before a torn WRITE have completed before its first
 *   piece, verbs after it run after its last piece.</li>
 *   <li>A bad batch is refused whole and changes nothing. A batch is torn only if it passes the memory node's checks
 *   as far as a client can tell them: the regions the delegate reported at connect, and the
 *   {@code memoryNodeLimits} given here (give the memory node's own limits; with looser ones a batch the node would
 *   refuse could be torn and its first pieces land). Any other batch goes to the delegate whole and untorn, so the
 *   memory node refuses it with its own message.</li>
 *   <li>Batches posted on this connection reach the delegate in the order they were posted (a queue pair's order):
 *   a batch's latency runs from its post, but it never starts before the batch posted before it started. A torn
 *   batch's later pieces may interleave with later batches, of this connection and of others.</li>
 * </ul>
 *
 * <h2>Counters</h2>
 * {@link #counters()} records what the <em>caller</em> posted: one doorbell per caller batch, its verbs and bytes,
 * exactly as an untorn transport would, so round trips and bytes per operation stay honest figures of the protocol
 * under test. The extra delegate doorbells of torn pieces are recorded only on the delegate's counters (a
 * {@link FaultInjectingTransport} gathers them in {@link FaultInjectingTransport#wireCounters()}); open the delegate
 * without the caller's totals as parent, or the totals count the pieces too.
 *
 * <p>Thread-safe, as every connection. Completions may run on the scheduler's thread: callers must not block in a
 * dependent stage of a future this returns.
 */
public final class FaultInjectingConnection implements FabricConnection {
    private static final CompletableFuture<Void> NOW = CompletableFuture.completedFuture(null);

    private final FabricConnection delegate;
    private final FaultPlan plan;
    private final FabricLimits memoryNodeLimits;
    private final FabricCounters counters;
    private final ScheduledExecutorService scheduler;
    private final Consumer<FaultInjectingConnection> onClose;
    private final Random random;
    /** Region lengths by region id as the delegate reported them, -1 where no region has that id. */
    private final long[] regionLengths = new long[GlobalAddress.MAX_REGIONS];
    private final AtomicLong batchesPosted = new AtomicLong();
    private final Set<CompletableFuture<BatchResult>> pending = ConcurrentHashMap.newKeySet();
    private final Object orderLock = new Object();
    /** Completes once the latest posted batch has started; the next one starts no earlier. Guarded by orderLock. */
    private CompletableFuture<Void> latestStart = NOW;
    /** Why the connection is gone ("closed by the client", "dropped ..."), or {@code null} while it is usable. */
    private volatile String lostReason;
    /** The delegate's own failure when the loss came from underneath, else {@code null}. Set before lostReason. */
    private volatile Throwable lostCause;

    /**
     * Wraps {@code delegate}. Records the caller's costs on new counters whose parent is {@code totals} (may be
     * {@code null}); the delegate should not have {@code totals} as its parent (see the class comment). The
     * {@code scheduler} times latency and pauses; it is not owned and must outlive this connection (a delay
     * dropped by {@code shutdownNow} would leave its batch pending until the connection is closed).
     */
    public FaultInjectingConnection(FabricConnection delegate, FaultPlan plan, FabricLimits memoryNodeLimits,
                                    FabricCounters totals, ScheduledExecutorService scheduler) {
        this(delegate, plan, memoryNodeLimits, new FabricCounters(totals), scheduler, connection -> {
        });
    }

    FaultInjectingConnection(FabricConnection delegate, FaultPlan plan, FabricLimits memoryNodeLimits,
                             FabricCounters counters, ScheduledExecutorService scheduler,
                             Consumer<FaultInjectingConnection> onClose) {
        this.delegate = delegate;
        this.plan = plan;
        this.memoryNodeLimits = memoryNodeLimits;
        this.counters = counters;
        this.scheduler = scheduler;
        this.onClose = onClose;
        this.random = new Random(plan.seed());
        Arrays.fill(regionLengths, -1);
        for (RegionInfo region : delegate.regions()) {
            regionLengths[region.id()] = region.length();
        }
    }

    @Override
    public int memoryNodeId() {
        return delegate.memoryNodeId();
    }

    @Override
    public long incarnation() {
        return delegate.incarnation();
    }

    @Override
    public List<RegionInfo> regions() {
        return delegate.regions();
    }

    @Override
    public FabricCounters counters() {
        return counters;
    }

    public FaultPlan plan() {
        return plan;
    }

    @Override
    public boolean isOpen() {
        return lostReason == null && delegate.isOpen();
    }

    @Override
    public CompletableFuture<BatchResult> post(DoorbellBatch batch) {
        if (batch.isEmpty()) {
            return lostReason != null ? CompletableFuture.failedFuture(lost())
                    : CompletableFuture.completedFuture(new BatchResult(batch, new MemorySegment[0], new long[0]));
        }
        ConnectionLostException refused = admit(batch);
        if (refused != null) {
            return CompletableFuture.failedFuture(refused);
        }
        List<Step> steps = split(batch);
        return start(batch, steps, System.nanoTime() + drawMicros(plan.minLatencyMicros(), plan.maxLatencyMicros()) * 1_000);
    }

    /**
     * Passes {@code into} down to the delegate for a batch that runs whole, at once and in its turn: not torn, no
     * latency drawn for it, and no batch posted before it still waiting to start. Any other batch takes {@link #post}'s
     * way (its faults are injected there, asynchronously) and is copied in. Either way the same faults, drawn from the
     * same random sequence, and the same counting.
     */
    @Override
    public void execute(DoorbellBatch batch, CompletionBuffer into) {
        if (batch.isEmpty()) {
            if (lostReason != null) {
                throw lost();
            }
            into.reset(batch);
            return;
        }
        ConnectionLostException refused = admit(batch);
        if (refused != null) {
            throw refused;
        }
        List<Step> steps = split(batch);
        long latencyMicros = drawMicros(plan.minLatencyMicros(), plan.maxLatencyMicros());
        boolean previousStarted;
        synchronized (orderLock) {
            previousStarted = latestStart.isDone();
        }
        if (steps.size() == 1 && steps.getFirst().wireBatch() == batch && latencyMicros == 0 && previousStarted) {
            try {
                delegate.execute(batch, into);
            } catch (ConnectionLostException lost) {
                breakConnection("the connection underneath was lost", lost);
                throw lost;
            }
            return;
        }
        into.copyOf(batch, FabricConnection.await(start(batch, steps, System.nanoTime() + latencyMicros * 1_000)));
    }

    /**
     * Lets {@code batch} (not empty) through, counted, or says why not: the connection is lost, or this batch is the
     * one the plan drops it at.
     */
    private ConnectionLostException admit(DoorbellBatch batch) {
        if (lostReason != null) {
            return lost();
        }
        long posted = batchesPosted.incrementAndGet();
        if (plan.dropsAfterBatches() && posted > plan.dropAfterBatches()) {
            breakConnection("dropped by fault injection after batches=" + plan.dropAfterBatches(), null);
            return lost();
        }
        counters.recordPosted(batch);
        return null;
    }

    /** Runs {@code batch} as {@code steps} through the delegate, from {@code startAt} on and after the batch before it. */
    private CompletableFuture<BatchResult> start(DoorbellBatch batch, List<Step> steps, long startAt) {
        CompletableFuture<BatchResult> completion = new CompletableFuture<>();
        pending.add(completion);
        completion.whenComplete((result, failure) -> pending.remove(completion));
        if (lostReason != null) {
            // Lost between the check above and joining the pending set: nobody else will fail this one.
            completion.completeExceptionally(lost());
            return completion;
        }

        BatchRun run = new BatchRun(batch, steps, completion);
        // Start after the batch posted before this one has started (its first delegate post was made), and no
        // earlier than this batch's own latency allows. The chain never fails, so one bad batch cannot stall the rest.
        CompletableFuture<Void> previous;
        CompletableFuture<Void> started = new CompletableFuture<>();
        synchronized (orderLock) {
            previous = latestStart;
            latestStart = started;
        }
        previous.thenCompose(ignored -> delayUntil(startAt)).whenComplete((ignored, failure) -> {
            try {
                run.runFrom(0);
            } catch (RuntimeException e) {
                completion.completeExceptionally(e);
            } finally {
                started.complete(null);
            }
        });
        return completion;
    }

    /**
     * Drops the connection now, as a crashed memory node or broken link would: the delegate is closed, and every
     * pending and later batch fails with {@link ConnectionLostException}.
     */
    public void drop() {
        breakConnection("dropped by fault injection", null);
    }

    @Override
    public void close() {
        breakConnection("closed by the client", null);
    }

    /**
     * Marks the connection lost, closes the delegate and fails every pending batch. Called for a drop, a close, and
     * when the delegate itself reports the connection lost (then {@code cause} is its exception), so batches still
     * waiting out their latency fail at once rather than one by one as they reach the delegate.
     */
    private void breakConnection(String reason, Throwable cause) {
        synchronized (orderLock) {
            if (lostReason != null) {
                return;
            }
            lostCause = cause;
            lostReason = reason;
        }
        delegate.close();
        for (CompletableFuture<BatchResult> completion : pending) {
            completion.completeExceptionally(lost());
        }
        onClose.accept(this);
    }

    private ConnectionLostException lost() {
        return new ConnectionLostException("connection to memory node " + delegate.memoryNodeId() + " is lost: "
                + lostReason + " (fault-injecting connection over " + delegate + ")", lostCause);
    }

    private long drawMicros(long least, long most) {
        return most > least ? least + random.nextLong(most - least + 1) : least;
    }

    private CompletableFuture<Void> delayUntil(long deadlineNanos) {
        long remaining = deadlineNanos - System.nanoTime();
        if (remaining <= 0) {
            return NOW;
        }
        CompletableFuture<Void> elapsed = new CompletableFuture<>();
        try {
            scheduler.schedule(() -> elapsed.complete(null), remaining, TimeUnit.NANOSECONDS);
        } catch (RejectedExecutionException shutDown) {
            // The transport is closing: skip the delay, the next step finds the connection lost.
            elapsed.complete(null);
        }
        return elapsed;
    }

    /**
     * One delegate batch of a caller's batch.
     *
     * @param wireBatch       what goes to the delegate
     * @param callerIndex     per verb of {@code wireBatch}: the caller's verb index it stands for, -1 for a piece
     * @param pauseNanos      wait after the previous step completed before this one is posted
     */
    private record Step(DoorbellBatch wireBatch, int[] callerIndex, long pauseNanos) {
    }

    /** The whole batch as one step: nothing torn. */
    private static List<Step> whole(DoorbellBatch batch) {
        int[] identity = new int[batch.size()];
        Arrays.setAll(identity, index -> index);
        return List.of(new Step(batch, identity, 0));
    }

    private List<Step> split(DoorbellBatch batch) {
        if (!plan.tearsWrites()) {
            return whole(batch);
        }
        boolean[] tear = new boolean[batch.size()];
        boolean anyTorn = false;
        for (int i = 0; i < batch.size(); i++) {
            if (batch.kind(i) == VerbKind.WRITE && batch.length(i) > Long.BYTES
                    && random.nextDouble() < plan.tearProbability()) {
                tear[i] = true;
                anyTorn = true;
            }
        }
        if (!anyTorn || !memoryNodeWouldAccept(batch)) {
            return whole(batch);
        }
        List<Step> steps = new ArrayList<>();
        DoorbellBatch untouched = new DoorbellBatch();
        List<Integer> untouchedIndexes = new ArrayList<>();
        for (int i = 0; i < batch.size(); i++) {
            if (!tear[i]) {
                copyVerb(batch, i, untouched);
                untouchedIndexes.add(i);
                continue;
            }
            if (!untouched.isEmpty()) {
                steps.add(new Step(untouched, untouchedIndexes.stream().mapToInt(Integer::intValue).toArray(), 0));
                untouched = new DoorbellBatch();
                untouchedIndexes = new ArrayList<>();
            }
            addPieces(batch.address(i), batch.payload(i), steps);
        }
        if (!untouched.isEmpty()) {
            steps.add(new Step(untouched, untouchedIndexes.stream().mapToInt(Integer::intValue).toArray(), 0));
        }
        return steps;
    }

    private static void copyVerb(DoorbellBatch from, int index, DoorbellBatch to) {
        long address = from.address(index);
        switch (from.kind(index)) {
            case READ -> to.read(address, from.length(index));
            case WRITE -> to.write(address, from.payload(index));
            case CAS -> to.compareAndSwap(address, from.expected(index), from.desired(index));
            case FAA -> to.fetchAndAdd(address, from.delta(index));
        }
    }

    /** Cuts a WRITE at randomly chosen 8-byte aligned addresses inside it and adds the pieces, shuffled, as steps. */
    private void addPieces(long address, MemorySegment payload, List<Step> steps) {
        long offset = GlobalAddress.offset(address);
        long length = payload.byteSize();
        long firstBoundary = (offset & ~(Long.BYTES - 1L)) + Long.BYTES;
        // Aligned addresses strictly inside (offset, offset + length); at least one, since length > 8.
        long boundaries = ((offset + length - 1) >>> 3) - (offset >>> 3);
        int pieces = 2 + random.nextInt((int) Math.min(plan.maxTearPieces(), boundaries + 1) - 1);
        TreeSet<Long> cuts = new TreeSet<>();
        while (cuts.size() < pieces - 1) {
            cuts.add(firstBoundary + random.nextLong(boundaries) * Long.BYTES - offset);
        }
        List<long[]> ranges = new ArrayList<>(pieces);
        long from = 0;
        for (long cut : cuts) {
            ranges.add(new long[] {from, cut});
            from = cut;
        }
        ranges.add(new long[] {from, length});
        Collections.shuffle(ranges, random);
        if (isAscending(ranges)) {
            Collections.reverse(ranges);
        }
        boolean first = true;
        for (long[] range : ranges) {
            DoorbellBatch piece = new DoorbellBatch();
            piece.write(GlobalAddress.plus(address, range[0]), payload.asSlice(range[0], range[1] - range[0]));
            long pauseNanos = first ? 0 : drawMicros(0, plan.maxTearPauseMicros()) * 1_000;
            steps.add(new Step(piece, new int[] {-1}, pauseNanos));
            first = false;
        }
    }

    private static boolean isAscending(List<long[]> ranges) {
        for (int i = 1; i < ranges.size(); i++) {
            if (ranges.get(i)[0] < ranges.get(i - 1)[0]) {
                return false;
            }
        }
        return true;
    }

    /**
     * Whether the memory node would run {@code batch}, judged from what a client knows: the regions reported at
     * connect and the node's limits. Mirrors the node's checks without naming the failure: a batch that fails here
     * goes to the node whole, and the node names it.
     */
    private boolean memoryNodeWouldAccept(DoorbellBatch batch) {
        if (batch.size() > memoryNodeLimits.maxVerbsPerBatch()
                || batch.bytesToRead() + batch.bytesToWrite() > memoryNodeLimits.maxBytesPerBatch()) {
            return false;
        }
        for (int i = 0; i < batch.size(); i++) {
            long address = batch.address(i);
            long regionLength = regionLengths[GlobalAddress.region(address)];
            long offset = GlobalAddress.offset(address);
            if (GlobalAddress.memoryNode(address) != delegate.memoryNodeId()
                    || regionLength < 0
                    || offset + batch.length(i) > regionLength
                    || (batch.kind(i).isAtomic() && (offset & (Long.BYTES - 1)) != 0)) {
                return false;
            }
        }
        return true;
    }

    private static Throwable unwrap(Throwable failure) {
        return failure instanceof CompletionException && failure.getCause() != null ? failure.getCause() : failure;
    }

    /** The steps of one caller batch on their way through the delegate, one at a time. */
    private final class BatchRun {
        private final DoorbellBatch batch;
        private final List<Step> steps;
        private final CompletableFuture<BatchResult> completion;
        private final MemorySegment[] readData;
        private final long[] oldValues;

        BatchRun(DoorbellBatch batch, List<Step> steps, CompletableFuture<BatchResult> completion) {
            this.batch = batch;
            this.steps = steps;
            this.completion = completion;
            this.readData = new MemorySegment[batch.size()];
            this.oldValues = new long[batch.size()];
        }

        /**
         * Posts step {@code first} and the ones after it. Loops while the delegate completes synchronously (loopback)
         * and no pause is due, so a long chain of steps does not grow the stack; otherwise continues from the
         * delegate's completion or the pause's timer.
         */
        void runFrom(int first) {
            for (int index = first; ; index++) {
                if (completion.isDone()) {
                    return; // lost meanwhile: already failed
                }
                if (lostReason != null) {
                    completion.completeExceptionally(lost());
                    return;
                }
                CompletableFuture<BatchResult> wire;
                try {
                    wire = delegate.post(steps.get(index).wireBatch());
                } catch (RuntimeException e) {
                    completion.completeExceptionally(e);
                    return;
                }
                if (!wire.isDone()) {
                    int current = index;
                    wire.whenComplete((result, failure) -> {
                        if (afterStep(current, result, failure)) {
                            continueAfterPause(current + 1);
                        }
                    });
                    return;
                }
                BatchResult result = null;
                Throwable failure = null;
                try {
                    result = wire.join();
                } catch (RuntimeException e) {
                    failure = e;
                }
                if (!afterStep(index, result, failure)) {
                    return;
                }
                if (steps.get(index + 1).pauseNanos() > 0) {
                    continueAfterPause(index + 1);
                    return;
                }
            }
        }

        private void continueAfterPause(int next) {
            delayUntil(System.nanoTime() + steps.get(next).pauseNanos()).whenComplete((ignored, failure) -> runFrom(next));
        }

        /** Gathers step {@code index}'s outcome; true if another step follows and should run. */
        private boolean afterStep(int index, BatchResult result, Throwable failure) {
            if (failure != null) {
                Throwable cause = unwrap(failure);
                completion.completeExceptionally(cause);
                if (cause instanceof ConnectionLostException) {
                    breakConnection("the connection underneath was lost", cause);
                }
                return false;
            }
            Step step = steps.get(index);
            if (step.wireBatch() == batch) {
                completion.complete(result);
                return false;
            }
            for (int wireIndex = 0; wireIndex < step.callerIndex().length; wireIndex++) {
                int callerIndex = step.callerIndex()[wireIndex];
                if (callerIndex < 0) {
                    continue;
                }
                switch (batch.kind(callerIndex)) {
                    case READ -> readData[callerIndex] = result.read(wireIndex);
                    case CAS, FAA -> oldValues[callerIndex] = result.oldValue(wireIndex);
                    case WRITE -> {
                    }
                }
            }
            if (index + 1 == steps.size()) {
                completion.complete(new BatchResult(batch, readData, oldValues));
                return false;
            }
            return true;
        }
    }

    @Override
    public String toString() {
        return "FaultInjectingConnection[" + delegate + " plan=" + plan + "]";
    }
}
