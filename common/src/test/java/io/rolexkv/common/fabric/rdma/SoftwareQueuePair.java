package io.rolexkv.common.fabric.rdma;

import com.ibm.disni.verbs.IbvSendWR;
import com.ibm.disni.verbs.IbvSge;
import com.ibm.disni.verbs.IbvWC;
import io.rolexkv.common.fabric.RegionInfo;
import io.rolexkv.common.fabric.RegisteredMemory;
import io.rolexkv.common.fabric.WordOrder;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.VarHandle;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * A software NIC behind {@link RdmaQueuePair}, for tests: it executes the work request chains {@link RdmaConnection}
 * posts against a memory node's {@link RegisteredMemory}, the way a NIC would. It resolves every remote access through
 * the rkey of the chunk the work request names (wrong rkey or a range outside that chunk: a remote access error), every
 * local access through the lkey of a registration (else a local protection error), reads CAS/FAA operands from the
 * work request's atomic part (as an atomics-capable DiSNI serializes them), writes old values in host order, completes
 * only signaled work requests, and after an error flushes everything that follows. One thread executes chains in post
 * order, like one queue pair; it can be paused to hold batches in flight.
 */
final class SoftwareQueuePair implements RdmaQueuePair {
    static final int SUCCESS = IbvWC.IbvWcStatus.IBV_WC_SUCCESS.ordinal();
    static final int REMOTE_ACCESS_ERROR = IbvWC.IbvWcStatus.IBV_WC_REM_ACCESS_ERR.ordinal();
    static final int LOCAL_PROTECTION_ERROR = IbvWC.IbvWcStatus.IBV_WC_LOC_PROT_ERR.ordinal();
    static final int FLUSH_ERROR = IbvWC.IbvWcStatus.IBV_WC_WR_FLUSH_ERR.ordinal();

    private static final VarHandle WORD = ValueLayout.JAVA_LONG.withOrder(WordOrder.ORDER).varHandle();

    /** What a chunk's rkey grants: the chunk's bytes and the remote address of its first byte. */
    private record RemoteChunk(MemorySegment bytes, long address) {
    }

    /** A work request as the NIC copied it at post time. */
    private record Request(long id, int opcode, int flags, long localAddress, int localLength, int localKey,
                           long remoteAddress, int remoteKey, long compareAdd, long swap) {
    }

    private final RdmaRegionTable regionTable;
    private final Map<Integer, RemoteChunk> remoteKeys = new ConcurrentHashMap<>();
    private final Map<Integer, MemorySegment> localKeys = new ConcurrentHashMap<>();
    private final AtomicInteger nextLocalKey = new AtomicInteger(0x100);
    private final ExecutorService engine = Executors.newSingleThreadExecutor(
            Thread.ofPlatform().name("software-nic").daemon().factory());
    private final AtomicInteger posts = new AtomicInteger();
    private final AtomicInteger workRequests = new AtomicInteger();
    private final Object gate = new Object();
    private boolean paused;
    private volatile boolean errorState;
    private volatile boolean closed;
    private volatile Events events;

    /** Registers every region of {@code memory} in chunks of {@code 1 << chunkShift} bytes with distinct rkeys. */
    SoftwareQueuePair(RegisteredMemory memory, int chunkShift) {
        List<RdmaRemoteRegion> regions = new ArrayList<>();
        for (RegionInfo info : memory.regions()) {
            MemorySegment segment = memory.segment(info.id());
            int chunks = RdmaRemoteRegion.chunkCount(info.length(), chunkShift);
            int[] rkeys = new int[chunks];
            for (int chunk = 0; chunk < chunks; chunk++) {
                long start = (long) chunk << chunkShift;
                long length = Math.min(1L << chunkShift, info.length() - start);
                rkeys[chunk] = 0x5000_0000 | (info.id() << 16) | chunk;
                remoteKeys.put(rkeys[chunk], new RemoteChunk(segment.asSlice(start, length), segment.address() + start));
            }
            regions.add(new RdmaRemoteRegion(info, segment.address(), chunkShift, rkeys));
        }
        this.regionTable = new RdmaRegionTable(memory.memoryNodeId(), memory.incarnation(), regions);
    }

    /** What the region exchange would tell a client. */
    RdmaRegionTable regionTable() {
        return regionTable;
    }

    @Override
    public LocalRegistration registerLocal(MemorySegment memory) {
        int localKey = nextLocalKey.getAndIncrement();
        localKeys.put(localKey, memory);
        return new LocalRegistration() {
            @Override
            public int localKey() {
                return localKey;
            }

            @Override
            public void close() {
                localKeys.remove(localKey);
            }
        };
    }

    /** Registrations not yet closed. */
    int liveLocalRegistrations() {
        return localKeys.size();
    }

    @Override
    public void start(Events receiver) {
        this.events = receiver;
    }

    @Override
    public void postSend(List<IbvSendWR> chain) {
        List<Request> requests = new ArrayList<>(chain.size());
        for (IbvSendWR request : chain) {
            if (request.getNum_sge() != 1) {
                throw new IllegalArgumentException("expected one scatter/gather element, got " + request.getNum_sge());
            }
            IbvSge element = request.getSge(0);
            boolean atomic = request.getOpcode() >= IbvSendWR.IBV_WR_ATOMIC_CMP_AND_SWP;
            requests.add(new Request(request.getWr_id(), request.getOpcode(), request.getSend_flags(),
                    element.getAddr(), element.getLength(), element.getLkey(),
                    atomic ? request.getAtomic().getRemote_addr() : request.getRdma().getRemote_addr(),
                    atomic ? request.getAtomic().getRkey() : request.getRdma().getRkey(),
                    request.getAtomic().getCompare_add(), request.getAtomic().getSwap()));
        }
        posts.incrementAndGet();
        workRequests.addAndGet(requests.size());
        engine.execute(() -> execute(requests));
    }

    private void execute(List<Request> chain) {
        synchronized (gate) {
            while (paused && !closed) {
                try {
                    gate.wait();
                } catch (InterruptedException e) {
                    return;
                }
            }
        }
        for (Request request : chain) {
            if (closed) {
                return;
            }
            if (errorState) {
                events.onCompletion(request.id(), FLUSH_ERROR, 0);
                continue;
            }
            int status = apply(request);
            if (status != SUCCESS) {
                errorState = true;
                events.onCompletion(request.id(), status, 0x42);
            } else if ((request.flags() & IbvSendWR.IBV_SEND_SIGNALED) != 0) {
                events.onCompletion(request.id(), SUCCESS, 0);
            }
        }
    }

    private int apply(Request request) {
        MemorySegment local = resolveLocal(request);
        if (local == null) {
            return LOCAL_PROTECTION_ERROR;
        }
        MemorySegment remote = resolveRemote(request);
        if (remote == null) {
            return REMOTE_ACCESS_ERROR;
        }
        switch (request.opcode()) {
            case IbvSendWR.IBV_WR_RDMA_READ -> MemorySegment.copy(remote, 0, local, 0, request.localLength());
            case IbvSendWR.IBV_WR_RDMA_WRITE -> MemorySegment.copy(local, 0, remote, 0, request.localLength());
            case IbvSendWR.IBV_WR_ATOMIC_CMP_AND_SWP -> {
                if (request.localLength() != 8) {
                    return LOCAL_PROTECTION_ERROR;
                }
                long old = (long) WORD.compareAndExchange(remote, 0L, request.compareAdd(), request.swap());
                WordOrder.putLong(local, 0, old);
            }
            case IbvSendWR.IBV_WR_ATOMIC_FETCH_AND_ADD -> {
                if (request.localLength() != 8) {
                    return LOCAL_PROTECTION_ERROR;
                }
                long old = (long) WORD.getAndAdd(remote, 0L, request.compareAdd());
                WordOrder.putLong(local, 0, old);
            }
            default -> {
                return REMOTE_ACCESS_ERROR;
            }
        }
        return SUCCESS;
    }

    private MemorySegment resolveLocal(Request request) {
        MemorySegment registered = localKeys.get(request.localKey());
        if (registered == null) {
            return null;
        }
        long offset = request.localAddress() - registered.address();
        if (offset < 0 || offset + request.localLength() > registered.byteSize()) {
            return null;
        }
        return registered.asSlice(offset, request.localLength());
    }

    private MemorySegment resolveRemote(Request request) {
        RemoteChunk chunk = remoteKeys.get(request.remoteKey());
        if (chunk == null) {
            return null;
        }
        long offset = request.remoteAddress() - chunk.address();
        if (offset < 0 || offset + request.localLength() > chunk.bytes().byteSize()) {
            return null;
        }
        boolean atomic = request.opcode() >= IbvSendWR.IBV_WR_ATOMIC_CMP_AND_SWP;
        if (atomic && (request.remoteAddress() & 7) != 0) {
            return null;
        }
        return chunk.bytes().asSlice(offset, request.localLength());
    }

    /** Chains posted so far. */
    int posts() {
        return posts.get();
    }

    /** Work requests posted so far. */
    int workRequests() {
        return workRequests.get();
    }

    /** Holds every chain posted from now on until {@link #resume()}. */
    void pause() {
        synchronized (gate) {
            paused = true;
        }
    }

    void resume() {
        synchronized (gate) {
            paused = false;
            gate.notifyAll();
        }
    }

    /** The memory node deregistered its regions: every later remote access fails. */
    void revokeRemoteAccess() {
        remoteKeys.clear();
    }

    /** The peer went away: the connection manager reports it, the queue pair stops executing. */
    void disconnect(String reason) {
        errorState = true;
        events.onDisconnected(reason);
    }

    boolean isClosed() {
        return closed;
    }

    /** Like destroying a queue pair: returns once the NIC no longer touches any memory. */
    @Override
    public void close() {
        closed = true;
        resume();
        engine.shutdown();
        try {
            if (!engine.awaitTermination(10, TimeUnit.SECONDS)) {
                throw new IllegalStateException("software NIC did not stop");
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
