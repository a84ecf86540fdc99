package io.rolexkv.common.fabric.rdma;

import com.ibm.disni.verbs.IbvSendWR;
import com.ibm.disni.verbs.IbvSge;
import io.rolexkv.common.fabric.BatchResult;
import io.rolexkv.common.fabric.DoorbellBatch;
import io.rolexkv.common.fabric.FabricLimits;
import io.rolexkv.common.fabric.GlobalAddress;
import io.rolexkv.common.fabric.VerbKind;
import io.rolexkv.common.fabric.VerbExecutor;
import io.rolexkv.common.fabric.VerbRejectedException;
import io.rolexkv.common.fabric.WordOrder;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.ArrayList;
import java.util.List;

/**
 * Turns a {@link DoorbellBatch} into the chain of send work requests that one {@code postSend} hands to one
 * {@code ibv_post_send} (one doorbell ring), and the staging buffer back into a {@link BatchResult} once the chain
 * completed. Pure: no device, no native code, so every field it sets is unit-tested.
 *
 * <h2>Mapping</h2>
 * Verbs become work requests in verb order. A READ or WRITE becomes one {@code IBV_WR_RDMA_READ}/{@code RDMA_WRITE}
 * per registration chunk it touches (almost always one; none when its length is 0, since there is nothing to move);
 * a CAS becomes one {@code IBV_WR_ATOMIC_CMP_AND_SWP} with {@code compare_add = expected, swap = desired}; an FAA one
 * {@code IBV_WR_ATOMIC_FETCH_AND_ADD} with {@code compare_add = delta}. READ and WRITE carry their target in the
 * work request's {@code rdma} part, atomics in its {@code atomic} part (remote address, rkey and operands): the two are
 * a C union, and a DiSNI with atomics support serializes the {@code atomic} part for atomic opcodes. Remote address =
 * region base address + {@link GlobalAddress#offset}; rkey = the rkey of the chunk holding the first byte. Each work
 * request has one scatter/gather element into the staging area {@link RdmaStagingDescriptor} assigns its verb.
 *
 * <h2>Flags</h2>
 * Only the last work request is {@code SIGNALED}: on a reliable connection its completion means all earlier ones
 * completed, so a batch costs one completion. Errors complete whether signaled or not, and carry the failing work
 * request's id. {@code FENCE} makes the NIC wait until every earlier RDMA READ and atomic of the queue pair has
 * completed before starting that work request; the batch contract (each verb sees the effects of the earlier ones) needs
 * it on every work request that follows an atomic, and on every WRITE or atomic that follows a READ (so the READ
 * returns the bytes from before the later write). WRITE-then-anything and READ-then-READ need no fence: a reliable
 * connection executes WRITEs in order and before later requests, and a READ has no effect a later READ could miss.
 * A fence covers everything before it, so the rule only looks back to the previous fenced work request. No INLINE:
 * payloads already sit in registered staging, and DiSNI's endpoint groups create queue pairs with no inline space.
 *
 * <h2>Work request ids</h2>
 * <pre>
 *   63                                32 31                                 0
 *  +------------------------------------+------------------------------------+
 *  |   batch sequence (32 bits)         |   work request index in batch      |
 *  +------------------------------------+------------------------------------+
 * </pre>
 * The sequence finds the in-flight batch a completion belongs to; the index finds the verb an error completion names
 * ({@link Plan#verbOfWorkRequest(int)}). {@link #CONTROL_WORK_REQUEST_ID} (all ones) is kept for the connection
 * set-up messages; no batch produces it, since an index never reaches {@code 0xFFFFFFFF}.
 */
public final class RdmaWorkRequests {
    /** The id of the region exchange SEND and RECV, never a batch's. */
    public static final long CONTROL_WORK_REQUEST_ID = -1L;

    private RdmaWorkRequests() {
    }

    /**
     * A batch checked against the memory node's regions, with its staging layout and how many work requests it
     * becomes.
     *
     * @param batch             the batch (must not change until it completes)
     * @param areaOffsets       per verb the start of its staging area, plus the total at the end
     * @param workRequestCount  work requests the batch becomes
     * @param firstWorkRequest  per verb the index of its first work request (equal to the next verb's when it has none)
     */
    public record Plan(DoorbellBatch batch, int[] areaOffsets, int workRequestCount, int[] firstWorkRequest) {
        /** Staging bytes the batch needs. */
        public int stagingBytes() {
            return areaOffsets[batch.size()];
        }

        /** The verb work request {@code index} belongs to. */
        public int verbOfWorkRequest(int index) {
            int low = 0;
            int high = batch.size() - 1;
            // The last verb whose first work request is <= index (verbs with none share the next one's start).
            while (low < high) {
                int middle = (low + high + 1) >>> 1;
                if (firstWorkRequest[middle] <= index) {
                    low = middle;
                } else {
                    high = middle - 1;
                }
            }
            return low;
        }
    }

    /**
     * Checks every verb of {@code batch} the way the memory node's NIC cannot (it would fault the whole queue pair),
     * with the same rules and messages as the tcp and loopback transports, and lays out its staging.
     *
     * @throws VerbRejectedException naming the first bad verb; nothing is posted
     */
    public static Plan plan(DoorbellBatch batch, RdmaRegionTable regions, FabricLimits limits, int sendQueueDepth) {
        VerbExecutor.validate(regions.memoryNodeId(), regions.regionCount(), id -> {
            RdmaRemoteRegion region = regions.regionOrNull(id);
            return region == null ? VerbExecutor.NO_REGION : region.info().length();
        }, limits, batch);
        int size = batch.size();
        int[] firstWorkRequest = new int[size];
        long workRequests = 0;
        for (int i = 0; i < size; i++) {
            long address = batch.address(i);
            RdmaRemoteRegion region = regions.regionOrNull(GlobalAddress.region(address));
            long offset = GlobalAddress.offset(address);
            int length = batch.length(i);
            firstWorkRequest[i] = (int) Math.min(workRequests, Integer.MAX_VALUE);
            workRequests += workRequestsOf(region, offset, length);
        }
        if (workRequests > sendQueueDepth) {
            throw new VerbRejectedException(-1, VerbRejectedException.Reason.OVERSIZE_BATCH,
                    "work_requests=" + workRequests + " " + RdmaSettings.SEND_QUEUE_DEPTH_PROP_NAME + "=" + sendQueueDepth);
        }
        return new Plan(batch, RdmaStagingDescriptor.areaOffsets(batch), (int) workRequests, firstWorkRequest);
    }

    /** Work requests a verb of {@code length} bytes at {@code offset} becomes: one per chunk it touches. */
    private static long workRequestsOf(RdmaRemoteRegion region, long offset, int length) {
        if (length == 0) {
            return 0;
        }
        return region.chunkOf(offset + length - 1) - region.chunkOf(offset) + 1L;
    }

    /**
     * The work request chain for {@code plan}, in posting order.
     *
     * @param stagingAddress the virtual address of the staging buffer's first byte (area offsets count from it)
     * @param localKey       the lkey of the registration that covers the staging buffer
     * @param sequence       the batch's sequence number, the high half of every work request id
     */
    public static List<IbvSendWR> build(Plan plan, RdmaRegionTable regions, long stagingAddress, int localKey,
                                        int sequence) {
        DoorbellBatch batch = plan.batch();
        List<IbvSendWR> chain = new ArrayList<>(plan.workRequestCount());
        boolean readSinceFence = false;
        boolean atomicSinceFence = false;
        for (int i = 0; i < batch.size(); i++) {
            VerbKind kind = batch.kind(i);
            long address = batch.address(i);
            RdmaRemoteRegion region = regions.regionOrNull(GlobalAddress.region(address));
            long offset = GlobalAddress.offset(address);
            long localAddress = stagingAddress + plan.areaOffsets()[i];
            int remaining = kind.isAtomic() ? Long.BYTES : batch.length(i);
            while (remaining > 0) {
                int chunk = region.chunkOf(offset);
                int pieceLength = kind.isAtomic() ? Long.BYTES : (int) Math.min(remaining, region.chunkEnd(chunk) - offset);
                IbvSendWR request = new IbvSendWR();
                request.setWr_id(workRequestId(sequence, chain.size()));
                request.getSg_list().add(scatterGatherElement(localAddress, pieceLength, localKey));
                request.setNum_sge(1);
                switch (kind) {
                    case READ, WRITE -> {
                        request.setOpcode(kind == VerbKind.READ ? IbvSendWR.IBV_WR_RDMA_READ : IbvSendWR.IBV_WR_RDMA_WRITE);
                        request.getRdma().setRemote_addr(region.remoteAddress(offset));
                        request.getRdma().setRkey(region.rkey(chunk));
                    }
                    case CAS -> {
                        request.setOpcode(IbvSendWR.IBV_WR_ATOMIC_CMP_AND_SWP);
                        setAtomic(request, region, offset, chunk, batch.expected(i), batch.desired(i));
                    }
                    case FAA -> {
                        request.setOpcode(IbvSendWR.IBV_WR_ATOMIC_FETCH_AND_ADD);
                        setAtomic(request, region, offset, chunk, batch.delta(i), 0);
                    }
                }
                boolean fence = atomicSinceFence || (readSinceFence && kind != VerbKind.READ);
                if (fence) {
                    readSinceFence = false;
                    atomicSinceFence = false;
                }
                readSinceFence |= kind == VerbKind.READ;
                atomicSinceFence |= kind.isAtomic();
                request.setSend_flags(fence ? IbvSendWR.IBV_SEND_FENCE : 0);
                chain.add(request);
                offset += pieceLength;
                localAddress += pieceLength;
                remaining -= pieceLength;
            }
        }
        if (chain.size() != plan.workRequestCount()) {
            throw new IllegalStateException("built " + chain.size() + " work requests, planned "
                    + plan.workRequestCount() + " for " + batch);
        }
        if (!chain.isEmpty()) {
            IbvSendWR last = chain.getLast();
            last.setSend_flags(last.getSend_flags() | IbvSendWR.IBV_SEND_SIGNALED);
        }
        return chain;
    }

    private static void setAtomic(IbvSendWR request, RdmaRemoteRegion region, long offset, int chunk,
                                  long compareAdd, long swap) {
        IbvSendWR.Atomic atomic = request.getAtomic();
        atomic.setRemote_addr(region.remoteAddress(offset));
        atomic.setRkey(region.rkey(chunk));
        atomic.setCompare_add(compareAdd);
        atomic.setSwap(swap);
    }

    private static IbvSge scatterGatherElement(long address, int length, int localKey) {
        IbvSge element = new IbvSge();
        element.setAddr(address);
        element.setLength(length);
        element.setLkey(localKey);
        return element;
    }

    /** Copies every WRITE's payload into its staging area; call before posting. */
    public static void copyWritePayloads(Plan plan, MemorySegment staging) {
        DoorbellBatch batch = plan.batch();
        for (int i = 0; i < batch.size(); i++) {
            if (batch.kind(i) == VerbKind.WRITE) {
                MemorySegment payload = batch.payload(i);
                MemorySegment.copy(payload, 0, staging, plan.areaOffsets()[i], payload.byteSize());
            }
        }
    }

    /**
     * The batch's result, read from {@code staging} after the chain completed successfully: a copy of each READ's
     * bytes and each atomic's old value. The NIC stores an atomic's old value in host byte order, which is
     * {@link WordOrder} on the little-endian hosts this store runs on.
     */
    public static BatchResult decode(Plan plan, MemorySegment staging) {
        DoorbellBatch batch = plan.batch();
        int size = batch.size();
        MemorySegment[] readData = new MemorySegment[size];
        long[] oldValues = new long[size];
        for (int i = 0; i < size; i++) {
            int area = plan.areaOffsets()[i];
            switch (batch.kind(i)) {
                case READ -> readData[i] = MemorySegment.ofArray(
                        staging.asSlice(area, batch.length(i)).toArray(ValueLayout.JAVA_BYTE));
                case CAS, FAA -> oldValues[i] = WordOrder.getLong(staging, area);
                case WRITE -> {
                    // Nothing comes back.
                }
            }
        }
        return new BatchResult(batch, readData, oldValues);
    }

    /** The id of work request {@code index} of batch {@code sequence}. */
    public static long workRequestId(int sequence, int index) {
        return ((long) sequence << 32) | (index & 0xFFFF_FFFFL);
    }

    /** The batch sequence a work request id names. */
    public static int sequenceOf(long workRequestId) {
        return (int) (workRequestId >>> 32);
    }

    /** The index in its batch a work request id names. */
    public static int indexOf(long workRequestId) {
        return (int) workRequestId;
    }
}
