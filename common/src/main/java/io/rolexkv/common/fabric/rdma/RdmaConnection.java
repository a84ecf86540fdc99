package io.rolexkv.common.fabric.rdma;

import com.ibm.disni.verbs.IbvSendWR;
import com.ibm.disni.verbs.IbvWC;
import io.rolexkv.common.fabric.BatchResult;
import io.rolexkv.common.fabric.ConnectionLostException;
import io.rolexkv.common.fabric.DoorbellBatch;
import io.rolexkv.common.fabric.FabricConnection;
import io.rolexkv.common.fabric.FabricCounters;
import io.rolexkv.common.fabric.FabricException;
import io.rolexkv.common.fabric.FabricLimits;
import io.rolexkv.common.fabric.RegionInfo;
import io.rolexkv.common.fabric.VerbRejectedException;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executor;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;
import java.util.concurrent.locks.ReentrantLock;
import java.util.concurrent.locks.ReentrantReadWriteLock;
import java.util.function.Consumer;

/**
 * A {@link FabricConnection} over one reliable RDMA queue pair: each doorbell batch becomes one chain of work
 * requests posted with one {@code ibv_post_send} ({@link RdmaWorkRequests}), and its one signaled completion completes
 * the batch.
 *
 * <h2>Concurrency</h2>
 * Many threads post at once. Each batch in flight owns a staging slot of one registered buffer (a batch too large for
 * a slot registers a one-off buffer), holds send-queue credits for its work requests (so the queue never overflows),
 * and is found again by the sequence number in its work request ids. Building and copying run in parallel; only the
 * {@code postSend} call itself is serialized per queue pair. A post waits when every slot or credit is taken: that is
 * the back-pressure of a full queue pair. Futures complete on the transport's completion executor, never on DiSNI's
 * completion thread, so a caller that posts from a completion callback cannot stall completions.
 *
 * <h2>Failure</h2>
 * Verbs the memory node would refuse are refused here, before posting ({@link VerbRejectedException}; the connection
 * stays usable), since the NIC has no way to refuse one verb: it faults the whole queue pair. Any error completion,
 * a failed post, a disconnect or {@link #close()} breaks the connection: every pending and later batch fails with
 * {@link ConnectionLostException}. Whichever of "complete" and "fail" removes a batch from the in-flight map owns it,
 * so each future completes exactly once, and staging memory is freed only once the NIC can no longer reach it.
 */
final class RdmaConnection implements FabricConnection, RdmaQueuePair.Events {
    private static final long WAIT_SLICE_MILLIS = 50;
    private static final long STAGING_ALIGNMENT = 4096;

    private final String endpoint;
    private final RdmaQueuePair queuePair;
    private final RdmaRegionTable regions;
    private final FabricLimits limits;
    private final RdmaSettings settings;
    private final FabricCounters counters;
    private final Executor completions;
    private final Consumer<RdmaConnection> onClose;

    private final Arena stagingArena = Arena.ofShared();
    private final MemorySegment staging;
    private final RdmaQueuePair.LocalRegistration stagingRegistration;
    private final BlockingQueue<Integer> freeSlots;
    private final Semaphore sendQueueCredits;
    private final Map<Integer, InFlight> inFlight = new ConcurrentHashMap<>();
    private final AtomicInteger nextSequence = new AtomicInteger();
    /** Serializes {@code postSend} on the queue pair. */
    private final ReentrantLock postLock = new ReentrantLock();
    /** Read: using staging memory or the queue pair; write: tearing them down. */
    private final ReentrantReadWriteLock lifecycle = new ReentrantReadWriteLock();
    private final AtomicReference<String> lostReason = new AtomicReference<>();
    private final AtomicBoolean closed = new AtomicBoolean();
    /** Set under the write lock of {@link #lifecycle}, read under its read lock. */
    private boolean stagingFreed;

    /** One posted batch until it completes or fails. */
    private static final class InFlight {
        final int sequence;
        final RdmaWorkRequests.Plan plan;
        final int slot;
        final MemorySegment staging;
        final int localKey;
        final Arena overflowArena;
        final RdmaQueuePair.LocalRegistration overflowRegistration;
        final CompletableFuture<BatchResult> future = new CompletableFuture<>();

        InFlight(int sequence, RdmaWorkRequests.Plan plan, int slot, MemorySegment staging, int localKey,
                 Arena overflowArena, RdmaQueuePair.LocalRegistration overflowRegistration) {
            this.sequence = sequence;
            this.plan = plan;
            this.slot = slot;
            this.staging = staging;
            this.localKey = localKey;
            this.overflowArena = overflowArena;
            this.overflowRegistration = overflowRegistration;
        }
    }

    private RdmaConnection(String endpoint, RdmaQueuePair queuePair, RdmaRegionTable regions, FabricLimits limits,
                           RdmaSettings settings, FabricCounters counters, Executor completions,
                           Consumer<RdmaConnection> onClose) throws IOException {
        this.endpoint = endpoint;
        this.queuePair = queuePair;
        this.regions = regions;
        this.limits = limits;
        this.settings = settings;
        this.counters = counters;
        this.completions = completions;
        this.onClose = onClose;
        this.staging = stagingArena.allocate((long) settings.stagingSlots() * settings.stagingSlotBytes(), STAGING_ALIGNMENT);
        try {
            this.stagingRegistration = queuePair.registerLocal(staging);
        } catch (IOException | RuntimeException e) {
            stagingArena.close();
            throw e;
        }
        this.freeSlots = new ArrayBlockingQueue<>(settings.stagingSlots());
        for (int slot = 0; slot < settings.stagingSlots(); slot++) {
            freeSlots.add(slot);
        }
        // Fair, so a batch of many work requests is not starved by a stream of small ones.
        this.sendQueueCredits = new Semaphore(settings.sendQueueDepth(), true);
    }

    /**
     * A connection over {@code queuePair}, whose region exchange gave {@code regions}; registers its staging buffer and
     * starts listening for completions.
     */
    static RdmaConnection open(String endpoint, RdmaQueuePair queuePair, RdmaRegionTable regions, FabricLimits limits,
                               RdmaSettings settings, FabricCounters counters, Executor completions,
                               Consumer<RdmaConnection> onClose) throws IOException {
        RdmaConnection connection = new RdmaConnection(endpoint, queuePair, regions, limits, settings, counters,
                completions, onClose);
        queuePair.start(connection);
        return connection;
    }

    @Override
    public int memoryNodeId() {
        return regions.memoryNodeId();
    }

    @Override
    public long incarnation() {
        return regions.incarnation();
    }

    @Override
    public List<RegionInfo> regions() {
        return regions.regionInfos();
    }

    /** The remote regions with their addresses and rkeys. */
    RdmaRegionTable regionTable() {
        return regions;
    }

    @Override
    public FabricCounters counters() {
        return counters;
    }

    @Override
    public boolean isOpen() {
        return lostReason.get() == null;
    }

    @Override
    public CompletableFuture<BatchResult> post(DoorbellBatch batch) {
        String lost = lostReason.get();
        if (lost != null) {
            return CompletableFuture.failedFuture(lostException(lost));
        }
        if (batch.isEmpty()) {
            return CompletableFuture.completedFuture(new BatchResult(batch, new MemorySegment[0], new long[0]));
        }
        counters.recordPosted(batch);
        RdmaWorkRequests.Plan plan;
        try {
            plan = RdmaWorkRequests.plan(batch, regions, limits, settings.sendQueueDepth());
        } catch (VerbRejectedException e) {
            return CompletableFuture.failedFuture(e);
        }
        if (plan.workRequestCount() == 0) {
            // Only zero-length READs and WRITEs: nothing for the NIC to do.
            return CompletableFuture.completedFuture(RdmaWorkRequests.decode(plan, MemorySegment.NULL));
        }
        try {
            return reserveAndPost(plan);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return CompletableFuture.failedFuture(new FabricException("interrupted while waiting for send queue space on "
                    + this));
        }
    }

    private CompletableFuture<BatchResult> reserveAndPost(RdmaWorkRequests.Plan plan) throws InterruptedException {
        int credits = plan.workRequestCount();
        while (!sendQueueCredits.tryAcquire(credits, WAIT_SLICE_MILLIS, TimeUnit.MILLISECONDS)) {
            String lost = lostReason.get();
            if (lost != null) {
                return CompletableFuture.failedFuture(lostException(lost));
            }
        }
        boolean overflow = plan.stagingBytes() > settings.stagingSlotBytes();
        int slot = -1;
        if (!overflow) {
            Integer free;
            while ((free = freeSlots.poll(WAIT_SLICE_MILLIS, TimeUnit.MILLISECONDS)) == null) {
                String lost = lostReason.get();
                if (lost != null) {
                    sendQueueCredits.release(credits);
                    return CompletableFuture.failedFuture(lostException(lost));
                }
            }
            slot = free;
        }
        lifecycle.readLock().lock();
        try {
            String lost = lostReason.get();
            if (lost != null) {
                releaseReservation(slot, credits);
                return CompletableFuture.failedFuture(lostException(lost));
            }
            InFlight batch;
            try {
                batch = overflow ? overflowBatch(plan) : slotBatch(plan, slot);
            } catch (IOException | RuntimeException e) {
                releaseReservation(slot, credits);
                return CompletableFuture.failedFuture(new FabricException("cannot register staging bytes="
                        + plan.stagingBytes() + " for " + plan.batch() + " on " + this + ": " + e.getMessage(), e));
            }
            List<IbvSendWR> chain;
            try {
                RdmaWorkRequests.copyWritePayloads(plan, batch.staging);
                chain = RdmaWorkRequests.build(plan, regions, batch.staging.address(), batch.localKey, batch.sequence);
            } catch (RuntimeException e) {
                release(batch);
                return CompletableFuture.failedFuture(new FabricException("cannot prepare " + plan.batch() + " on "
                        + this + ": " + e, e));
            }
            inFlight.put(batch.sequence, batch);
            postLock.lock();
            try {
                lost = lostReason.get();
                if (lost == null) {
                    queuePair.postSend(chain);
                } else if (inFlight.remove(batch.sequence, batch)) {
                    release(batch);
                    return CompletableFuture.failedFuture(lostException(lost));
                }
            } catch (IOException | RuntimeException e) {
                connectionLost("ibv_post_send failed: " + String.valueOf(e.getMessage()).strip());
            } finally {
                postLock.unlock();
            }
            return batch.future;
        } finally {
            lifecycle.readLock().unlock();
        }
    }

    private InFlight slotBatch(RdmaWorkRequests.Plan plan, int slot) {
        MemorySegment area = staging.asSlice((long) slot * settings.stagingSlotBytes(), settings.stagingSlotBytes());
        return new InFlight(nextSequence.getAndIncrement(), plan, slot, area, stagingRegistration.localKey(), null, null);
    }

    private InFlight overflowBatch(RdmaWorkRequests.Plan plan) throws IOException {
        Arena arena = Arena.ofShared();
        try {
            MemorySegment area = arena.allocate(plan.stagingBytes(), STAGING_ALIGNMENT);
            RdmaQueuePair.LocalRegistration registration = queuePair.registerLocal(area);
            return new InFlight(nextSequence.getAndIncrement(), plan, -1, area, registration.localKey(), arena,
                    registration);
        } catch (IOException | RuntimeException e) {
            arena.close();
            throw e;
        }
    }

    private void releaseReservation(int slot, int credits) {
        if (slot >= 0) {
            freeSlots.add(slot);
        }
        sendQueueCredits.release(credits);
    }

    /** Gives back what {@code batch} held; only by whoever removed it from the in-flight map. */
    private void release(InFlight batch) {
        if (batch.overflowRegistration != null) {
            // Deregister first: once it returns the NIC can no longer touch the memory, so freeing it is safe.
            batch.overflowRegistration.close();
            batch.overflowArena.close();
        }
        releaseReservation(batch.slot, batch.plan.workRequestCount());
    }

    @Override
    public void onCompletion(long workRequestId, int status, int vendorError) {
        int sequence = RdmaWorkRequests.sequenceOf(workRequestId);
        InFlight batch = inFlight.get(sequence);
        if (batch == null) {
            return; // A batch already failed by a connection loss.
        }
        int index = RdmaWorkRequests.indexOf(workRequestId);
        if (status != IbvWC.IbvWcStatus.IBV_WC_SUCCESS.ordinal()) {
            String verb = index >= 0 && index < batch.plan.workRequestCount()
                    ? batch.plan.batch().describe(batch.plan.verbOfWorkRequest(index)) : "work_request=" + index;
            connectionLost("work request failed: " + verb + " status=" + statusName(status) + " vendor_error="
                    + vendorError + "; the queue pair is in the error state");
            return;
        }
        if (index != batch.plan.workRequestCount() - 1) {
            return; // Only the last work request of a batch is signaled.
        }
        if (inFlight.remove(sequence, batch)) {
            // Copying the results out can be large: not on the completion thread all connections share.
            completeLater(() -> finish(batch));
        }
    }

    /** Copies a completed batch's results out of staging, gives the staging back and completes the future. */
    private void finish(InFlight batch) {
        lifecycle.readLock().lock();
        try {
            if (stagingFreed) {
                // The batch completed, but the connection was closed before its results could be copied out.
                release(batch);
                batch.future.completeExceptionally(lostException(String.valueOf(lostReason.get())));
                return;
            }
            BatchResult result;
            try {
                result = RdmaWorkRequests.decode(batch.plan, batch.staging);
            } catch (RuntimeException e) {
                release(batch);
                batch.future.completeExceptionally(new FabricException("cannot decode the completion of "
                        + batch.plan.batch() + " on " + this, e));
                return;
            }
            release(batch);
            batch.future.complete(result);
        } finally {
            lifecycle.readLock().unlock();
        }
    }

    @Override
    public void onDisconnected(String reason) {
        connectionLost("disconnected (" + reason + ")");
    }

    /** Breaks the connection: records why, fails every in-flight batch; later posts fail at once. */
    void connectionLost(String reason) {
        lostReason.compareAndSet(null, reason);
        String recorded = lostReason.get();
        for (InFlight batch : inFlight.values()) {
            if (inFlight.remove(batch.sequence, batch)) {
                if (batch.overflowRegistration != null) {
                    batch.overflowRegistration.close();
                    batch.overflowArena.close();
                }
                // A slot of the shared staging buffer is not handed out again: the queue pair may still write it
                // until it is destroyed, and no post can happen any more.
                ConnectionLostException failure = lostException(recorded);
                completeLater(() -> batch.future.completeExceptionally(failure));
            }
        }
    }

    private void completeLater(Runnable completion) {
        try {
            completions.execute(completion);
        } catch (RejectedExecutionException e) {
            completion.run();
        }
    }

    private ConnectionLostException lostException(String reason) {
        return new ConnectionLostException("rdma connection to memory node " + regions.memoryNodeId() + " at endpoint="
                + endpoint + " is lost: " + reason);
    }

    /** The name of a work completion status, e.g. {@code IBV_WC_REM_ACCESS_ERR}. */
    static String statusName(int status) {
        IbvWC.IbvWcStatus[] statuses = IbvWC.IbvWcStatus.values();
        return status >= 0 && status < statuses.length ? statuses[status].name() : "IBV_WC_STATUS_" + status;
    }

    @Override
    public void close() {
        connectionLost("closed by the client");
        if (!closed.compareAndSet(false, true)) {
            return;
        }
        lifecycle.writeLock().lock();
        try {
            postLock.lock();
            try {
                queuePair.close();
            } finally {
                postLock.unlock();
            }
            stagingRegistration.close();
            stagingArena.close();
            stagingFreed = true;
        } finally {
            lifecycle.writeLock().unlock();
        }
        onClose.accept(this);
    }

    /** Batches posted and not yet completed or failed (for tests and diagnostics). */
    int inFlightCount() {
        return inFlight.size();
    }

    @Override
    public String toString() {
        return "RdmaConnection[endpoint=" + endpoint + " memoryNode=" + regions.memoryNodeId() + " queuePair="
                + queuePair + "]";
    }
}
