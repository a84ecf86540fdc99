package io.rolexkv.computenode.value;

import io.rolexkv.common.fabric.BatchResult;
import io.rolexkv.common.fabric.CorruptDataException;
import io.rolexkv.common.fabric.DoorbellBatch;
import io.rolexkv.common.fabric.FabricConnection;
import io.rolexkv.common.fabric.GlobalAddress;
import io.rolexkv.common.fabric.RegionInfo;
import io.rolexkv.common.fabric.WordOrder;

import java.lang.foreign.MemorySegment;

import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.LockSupport;
import java.util.function.LongSupplier;

/**
 * One compute node's allocator of value blocks in one memory node's values region ({@link ValueRegionDescriptor}).
 *
 * <h2>Chunks and size classes</h2>
 * Compute nodes share the region without talking to each other: each claims chunks of {@code chunkBytes} by FAA on
 * the region's {@code usedBytes} counter and cuts blocks from its chunk with a bump pointer, one size class
 * ({@link SizeClasses}) per block. A claim is a round trip, so the allocator keeps a spare chunk: when it starts on its
 * last one it hands the caller a {@link ChunkClaim} to carry as one more FAA verb in a doorbell the caller posts
 * anyway (a put's first doorbell, which already WRITEs the new block), and the FAA's answer becomes the next spare.
 * Only a burst that empties two chunks within one round trip, or the very first allocation, pays a doorbell of its
 * own. The end of a chunk too short for the next block is cut into smaller classes and kept.
 *
 * <h2>Reclamation, and why no reader is handed reused memory as its value</h2>
 * A block is retired by the writer that unlinked it: the put, update or delete whose leaf WRITE replaced the handle
 * (the index returns the replaced word). Each block is unlinked exactly once, under the key's lock, so it is retired
 * exactly once, by one compute node, which then owns its memory. A retired block waits out a grace period
 * ({@code graceNanos}) before it is handed out again, from a free list of its class; each reuse bumps its incarnation.
 *
 * <p>A reader follows a handle in two steps: it READs the leaf (which gives the handle), then READs the block. The
 * danger is that between the two the block is retired and reused, so the second READ returns someone else's bytes,
 * or bytes being written. Two defences, either of which alone covers the common case:
 * <ol>
 *   <li>Grace: a block unlinked at time t is not written again before t + grace. A reader whose leaf READ saw the
 *       handle started that READ before t, so unless the gap between its two READs exceeds the grace period (a
 *       round trip and a little local work against, by default, a second), the block it reads still holds the value
 *       it was linked with.</li>
 *   <li>Validation: the block's header repeats the key, the length and the incarnation the handle carries, and a
 *       CRC32C covers them and the value ({@link ValueBlockDescriptor}). A reader stalled past the grace period meets
 *       either a block reused for another key (key differs), for a later value of the same key (incarnation differs,
 *       and the length most likely too), a WRITE in progress (checksum fails), or the untouched block. In every case
 *       but the last it goes back to the leaf and starts over, so it returns only a value the leaf linked while it
 *       read. To be fooled, the block must have been reused for the same key exactly a multiple of 256 times, each
 *       reuse at least a grace period after the previous, all while one reader stalled between two READs.</li>
 * </ol>
 * A block whose handle never reached a leaf (the put failed before linking it) is {@link #release released} for
 * immediate reuse: no reader can hold its handle. A block whose fate is unknown (the connection broke during the
 * linking doorbell) is neither: it is leaked rather than risked.
 *
 * <h2>Handing space back</h2>
 * Free lists live in this compute node's memory, so {@link #returnAll} hands everything this allocator holds back to
 * the memory node when its engine closes: the unused rest of its chunks, its free blocks, and its retired blocks still
 * in their grace period, as a stack in the region itself ({@link ReturnedSpaceDescriptor}). An allocator whose region
 * has no fresh space left takes from that stack before it gives up ({@link #allocate}); a retired block taken that way
 * waits a whole grace period from the moment it is taken, so handing it over never shortens the wait that protects
 * its readers. A compute node that dies without closing still loses what it held (that needs leases on claims).
 * Thread-safe; operations are short and under one lock, except the rare claim or take that needs doorbells of its
 * own, which runs outside it.
 */
public final class ValueAllocator {
    private static final long NO_DEADLINE = Long.MAX_VALUE;

    private final int memoryNode;
    private final RegionInfo region;
    private final long usableBytes;
    private final long chunkBytes;
    private final long graceNanos;
    private final LongSupplier clock;

    private long cursor;
    private long end;
    private long spareStart;
    private long spareEnd;
    private boolean claimInFlight;
    private boolean regionExhausted;
    private final Map<Integer, ArrayDeque<FreeBlock>> free = new HashMap<>();
    private final ArrayDeque<RetiredBlock> retired = new ArrayDeque<>();
    /** Fresh extents taken back from the region's returned space, bump-allocated once the current chunk is used up. */
    private final ArrayDeque<long[]> freshExtents = new ArrayDeque<>();
    private boolean handedBack;

    private long claimedBytes;
    private long allocatedBytes;
    private long reusedBytes;
    private long retiredBytes;
    private long releasedBytes;
    private long pendingBytes;
    private long freeBytes;
    private long bulkBytes;
    private long returnedBytes;
    private long takenBackBytes;

    private record FreeBlock(long offset, int incarnation) {
    }

    private record RetiredBlock(long offset, int classBytes, int incarnation, long reusableAtNanos) {
    }

    /** A block handed out: the handle to store and where to WRITE the block; and maybe a claim to carry. */
    public record Allocation(long handle, long address, ChunkClaim claim) {
        /** Appends the claim's FAA to {@code batch} if there is one; returns its verb index or -1. */
        public int appendClaim(DoorbellBatch batch) {
            return claim == null ? -1 : claim.appendTo(batch);
        }
    }

    /**
     * @param chunkBytes bytes per claim; at least twice the largest block class the engine will ask for
     * @param graceNanos how long a retired block waits before reuse
     * @param clock      {@link System#nanoTime}, or a test clock
     */
    public ValueAllocator(int memoryNode, RegionInfo region, long chunkBytes, long graceNanos, LongSupplier clock) {
        if (chunkBytes < SizeClasses.MIN_CLASS_BYTES || chunkBytes % ValueWord.BLOCK_ALIGNMENT != 0) {
            throw new IllegalArgumentException("value chunk bytes=" + chunkBytes + " must be a multiple of "
                    + ValueWord.BLOCK_ALIGNMENT + " and at least " + SizeClasses.MIN_CLASS_BYTES);
        }
        if (graceNanos < 0) {
            throw new IllegalArgumentException("grace nanos=" + graceNanos + " must be >= 0");
        }
        this.memoryNode = memoryNode;
        this.region = region;
        this.usableBytes = Math.min(region.length(), ValueWord.MAX_ADDRESSABLE_BYTES);
        this.chunkBytes = chunkBytes;
        this.graceNanos = graceNanos;
        this.clock = clock;
    }

    /** The global address of byte {@code offset} of the values region. */
    public long address(long offset) {
        return GlobalAddress.of(memoryNode, region.id(), offset);
    }

    /**
     * A block for a value of {@code length} bytes. Needs a doorbell of its own on {@code connection} only when neither
     * the current nor a spare chunk can serve it.
     *
     * @throws ValueRegionFullException if the region has no room and no retired block of the class will free up
     */
    public Allocation allocate(int length, FabricConnection connection) {
        int classBytes = SizeClasses.classOfValue(length);
        if (classBytes * 2L > chunkBytes) {
            throw new IllegalArgumentException("value length=" + length + " needs blocks of " + classBytes
                    + " bytes but chunks are " + chunkBytes + " bytes (need at least twice the block)");
        }
        boolean triedReturned = false;
        while (true) {
            long waitUntil;
            synchronized (this) {
                if (handedBack) {
                    throw new IllegalStateException("the value allocator of memory node " + memoryNode
                            + " has handed its space back (its engine is closed)");
                }
                Allocation allocation = tryAllocate(length, classBytes);
                if (allocation != null) {
                    return allocation;
                }
                if (!regionExhausted) {
                    waitUntil = -1;
                } else if (!triedReturned) {
                    waitUntil = -2;
                } else {
                    waitUntil = earliestReuse(classBytes);
                    if (waitUntil == NO_DEADLINE) {
                        throw new ValueRegionFullException("values region of memory node " + memoryNode + " is full: "
                                + "region bytes=" + region.length() + " claimed=" + claimedBytes + " no free or retired block of "
                                + classBytes + " bytes for a value of " + length + " bytes; nothing was stored");
                    }
                }
            }
            if (waitUntil == -1) {
                claimNow(connection);
            } else if (waitUntil == -2) {
                // Nothing fresh left in the region: take what closed compute nodes handed back, one node per try.
                triedReturned = !takeReturned(connection);
            } else {
                LockSupport.parkNanos(Math.max(1, waitUntil - clock.getAsLong()));
            }
        }
    }

    private Allocation tryAllocate(int length, int classBytes) {
        reclaimExpired();
        long offset;
        int incarnation;
        ArrayDeque<FreeBlock> list = free.get(classBytes);
        if (list != null && !list.isEmpty()) {
            FreeBlock block = list.pollFirst();
            offset = block.offset();
            incarnation = block.incarnation();
            reusedBytes += classBytes;
            freeBytes -= classBytes;
        } else {
            if (end - cursor < classBytes) {
                long[] extent = freshExtents.peekFirst();
                if (extent != null && extent[1] - extent[0] >= classBytes) {
                    freshExtents.pollFirst();
                    keepTail();
                    cursor = extent[0];
                    end = extent[1];
                } else if (spareEnd - spareStart >= classBytes) {
                    keepTail();
                    cursor = spareStart;
                    end = spareEnd;
                    spareStart = spareEnd = 0;
                } else if (extent != null) {
                    // A returned extent too short for this class: keep it as free blocks and look at the next one.
                    freshExtents.pollFirst();
                    keepTail();
                    cursor = extent[0];
                    end = extent[1];
                    keepTail();
                    return tryAllocate(length, classBytes);
                } else {
                    return null;
                }
            }
            offset = cursor;
            cursor += classBytes;
            incarnation = 0;
        }
        allocatedBytes += classBytes;
        ChunkClaim claim = null;
        if (spareEnd == spareStart && !claimInFlight && !regionExhausted) {
            claimInFlight = true;
            claim = new ChunkClaim(true);
        }
        return new Allocation(ValueWord.ofHandle(offset, length, incarnation), address(offset), claim);
    }

    /** Cuts what is left of the current chunk into the largest classes that fit and files them as free. */
    private void keepTail() {
        while (end - cursor >= SizeClasses.MIN_CLASS_BYTES) {
            int piece = SizeClasses.largestClassWithin(end - cursor);
            free.computeIfAbsent(piece, k -> new ArrayDeque<>()).addLast(new FreeBlock(cursor, 0));
            freeBytes += piece;
            cursor += piece;
        }
        cursor = end;
    }

    private void reclaimExpired() {
        long now = clock.getAsLong();
        while (!retired.isEmpty() && retired.peekFirst().reusableAtNanos() - now <= 0) {
            RetiredBlock block = retired.pollFirst();
            free.computeIfAbsent(block.classBytes(), k -> new ArrayDeque<>())
                    .addLast(new FreeBlock(block.offset(), block.incarnation()));
            pendingBytes -= block.classBytes();
            freeBytes += block.classBytes();
        }
    }

    private long earliestReuse(int classBytes) {
        for (Iterator<RetiredBlock> it = retired.iterator(); it.hasNext(); ) {
            RetiredBlock block = it.next();
            if (block.classBytes() == classBytes) {
                return block.reusableAtNanos();
            }
        }
        return NO_DEADLINE;
    }

    /**
     * A claim of one chunk for the caller to carry in a doorbell of its own choosing, for example the doorbell an
     * engine posts when it opens the store, so its first writes find chunks ready.
     */
    public ChunkClaim newClaim() {
        return new ChunkClaim(false);
    }

    /** Claims a chunk with a doorbell of its own. */
    private void claimNow(FabricConnection connection) {
        ChunkClaim claim = new ChunkClaim(false);
        DoorbellBatch batch = new DoorbellBatch();
        int verb = claim.appendTo(batch);
        BatchResult result;
        try {
            result = connection.execute(batch);
        } catch (RuntimeException e) {
            claim.abandon();
            throw e;
        }
        claim.complete(result.oldValue(verb));
    }

    /** Takes in a claimed range, clamped to the region. */
    private synchronized void install(long used, long bytes) {
        long start = ValueRegionDescriptor.claimStart(used);
        long stop = Math.min(start + bytes, usableBytes);
        if (stop - start < chunkBytes) {
            regionExhausted = true;
        }
        if (stop <= start) {
            return;
        }
        claimedBytes += stop - start;
        if (spareEnd == spareStart) {
            spareStart = start;
            spareEnd = stop;
        } else {
            // Two claims came back at once: the older spare becomes current, the new one the spare.
            keepTail();
            cursor = spareStart;
            end = spareEnd;
            spareStart = start;
            spareEnd = stop;
        }
    }

    /**
     * A claim of one chunk, to be carried as a FAA in a doorbell: {@link #appendTo} it, then {@link #complete} it with
     * the FAA's old value, or {@link #abandon} it if the doorbell did not run. Completing or abandoning twice is a no-op.
     */
    public final class ChunkClaim {
        private final boolean prefetch;
        private boolean done;

        private ChunkClaim(boolean prefetch) {
            this.prefetch = prefetch;
        }

        /** Appends the FAA on {@code usedBytes}; returns its verb index. */
        public int appendTo(DoorbellBatch batch) {
            return batch.fetchAndAdd(address(ValueRegionDescriptor.USED_BYTES_OFFSET), chunkBytes);
        }

        /** Takes in the chunk whose claim FAA returned {@code used}. */
        public void complete(long used) {
            synchronized (ValueAllocator.this) {
                if (done) {
                    return;
                }
                done = true;
                if (prefetch) {
                    claimInFlight = false;
                }
                install(used, chunkBytes);
            }
        }

        /** The FAA never ran, or its answer was lost: a later allocation claims again. */
        public void abandon() {
            synchronized (ValueAllocator.this) {
                if (done) {
                    return;
                }
                done = true;
                if (prefetch) {
                    claimInFlight = false;
                }
            }
        }
    }

    /**
     * Retires a block whose handle a write just unlinked from its leaf: it is reused after the grace period.
     */
    public synchronized void retire(long handle) {
        RetiredBlock block = new RetiredBlock(checkedOffset(handle), SizeClasses.classOfValue(ValueWord.length(handle)),
                ValueWord.nextIncarnation(ValueWord.incarnation(handle)), clock.getAsLong() + graceNanos);
        retired.addLast(block);
        retiredBytes += block.classBytes();
        pendingBytes += block.classBytes();
    }

    /** Returns a block whose handle never reached any leaf: reusable at once. */
    public synchronized void release(long handle) {
        int classBytes = SizeClasses.classOfValue(ValueWord.length(handle));
        free.computeIfAbsent(classBytes, k -> new ArrayDeque<>())
                .addFirst(new FreeBlock(checkedOffset(handle), ValueWord.nextIncarnation(ValueWord.incarnation(handle))));
        releasedBytes += classBytes;
        freeBytes += classBytes;
        allocatedBytes -= classBytes;
    }

    private long checkedOffset(long handle) {
        long offset = ValueWord.blockOffset(handle);
        if (offset < ValueRegionDescriptor.HEADER_BYTES || offset >= usableBytes) {
            throw new IllegalArgumentException("handle outside the values region of memory node " + memoryNode + ": "
                    + ValueWord.toString(handle) + " region bytes=" + usableBytes);
        }
        return offset;
    }

    /**
     * Claims {@code bytes} in one contiguous run, with a doorbell of its own, for a bulk load that lays blocks back to
     * back; returns the run's first offset.
     *
     * @throws ValueRegionFullException if the region cannot hold the run (the counter has moved past it; the space is
     *                                  lost to this store until it is rebuilt)
     */
    public long claimRun(long bytes, FabricConnection connection) {
        if (bytes % ValueWord.BLOCK_ALIGNMENT != 0) {
            throw new IllegalArgumentException("run bytes=" + bytes + " must be a multiple of " + ValueWord.BLOCK_ALIGNMENT);
        }
        DoorbellBatch batch = new DoorbellBatch();
        int verb = batch.fetchAndAdd(address(ValueRegionDescriptor.USED_BYTES_OFFSET), bytes);
        long start = ValueRegionDescriptor.claimStart(connection.execute(batch).oldValue(verb));
        if (start + bytes > usableBytes) {
            synchronized (this) {
                regionExhausted = true;
            }
            throw new ValueRegionFullException("values region of memory node " + memoryNode + " cannot hold a bulk load of "
                    + bytes + " bytes: region bytes=" + region.length() + " run start=" + start + "; nothing was stored");
        }
        synchronized (this) {
            claimedBytes += bytes;
            allocatedBytes += bytes;
            bulkBytes += bytes;
        }
        return start;
    }

    /**
     * Hands everything this allocator holds back to the values region, for whichever compute node runs out of fresh
     * space next: the unused rest of its current and spare chunks and of extents it took back, its free blocks, and
     * its retired blocks (marked as still in their grace period where they are). Call once, when the engine closes and
     * no operation is in flight; the allocator allocates nothing afterwards. The list is written into space being
     * handed back; retired blocks in their grace period are kept (leaked, and counted in nothing) only when this
     * allocator holds no free space at all to write their list in.
     *
     * @return bytes handed back (the list nodes' own bytes included)
     */
    public long returnAll(FabricConnection connection) {
        List<ReturnedSpaceDescriptor.Extent> extents = new ArrayList<>();
        synchronized (this) {
            if (handedBack) {
                return 0;
            }
            handedBack = true;
            reclaimExpired();
            long now = clock.getAsLong();
            addFresh(extents, cursor, end);
            addFresh(extents, spareStart, spareEnd);
            for (long[] extent : freshExtents) {
                addFresh(extents, extent[0], extent[1]);
            }
            for (Map.Entry<Integer, ArrayDeque<FreeBlock>> list : free.entrySet()) {
                for (FreeBlock block : list.getValue()) {
                    extents.add(new ReturnedSpaceDescriptor.Extent(block.offset(), list.getKey(),
                            ReturnedSpaceDescriptor.FREE, block.incarnation()));
                }
            }
            for (RetiredBlock block : retired) {
                extents.add(new ReturnedSpaceDescriptor.Extent(block.offset(), block.classBytes(),
                        block.reusableAtNanos() - now <= 0 ? ReturnedSpaceDescriptor.FREE : ReturnedSpaceDescriptor.PENDING,
                        block.incarnation()));
            }
            cursor = end = spareStart = spareEnd = 0;
            freshExtents.clear();
            free.clear();
            retired.clear();
            freeBytes = 0;
            pendingBytes = 0;
        }
        List<byte[]> nodeBytes = new ArrayList<>();
        List<Long> nodeOffsets = new ArrayList<>();
        long bytes = packNodes(extents, nodeBytes, nodeOffsets);
        if (nodeBytes.isEmpty()) {
            return 0;
        }
        DoorbellBatch writes = new DoorbellBatch();
        long writeBytes = 0;
        for (int i = 0; i < nodeBytes.size(); i++) {
            if (writeBytes + nodeBytes.get(i).length > RETURN_WRITE_BYTES && !writes.isEmpty()) {
                connection.execute(writes);
                writes = new DoorbellBatch();
                writeBytes = 0;
            }
            writes.write(address(nodeOffsets.get(i)), nodeBytes.get(i));
            writeBytes += nodeBytes.get(i).length;
        }
        if (!writes.isEmpty()) {
            connection.execute(writes);
        }
        long topAddress = address(ValueRegionDescriptor.RETURNED_SPACE_OFFSET);
        long lastNext = address(nodeOffsets.getLast() + ReturnedSpaceDescriptor.NEXT_OFFSET);
        while (true) {
            DoorbellBatch read = new DoorbellBatch();
            int topRead = read.read(topAddress, 8);
            long top = connection.execute(read).readLong(topRead, 0);
            DoorbellBatch push = new DoorbellBatch();
            byte[] next = new byte[8];
            WordOrder.putLong(next, 0, ReturnedSpaceDescriptor.topOffset(top));
            push.write(lastNext, next);
            int cas = push.compareAndSwap(topAddress, top, ReturnedSpaceDescriptor.nextTop(top, nodeOffsets.getFirst()));
            if (connection.execute(push).casSucceeded(cas)) {
                break;
            }
        }
        synchronized (this) {
            returnedBytes += bytes;
        }
        return bytes;
    }

    /** Bytes per doorbell when {@link #returnAll} writes its list nodes. */
    static final int RETURN_WRITE_BYTES = 512 << 10;

    private static void addFresh(List<ReturnedSpaceDescriptor.Extent> extents, long start, long stop) {
        if (stop - start >= SizeClasses.MIN_CLASS_BYTES) {
            extents.add(new ReturnedSpaceDescriptor.Extent(start, stop - start, ReturnedSpaceDescriptor.FRESH, 0));
        }
    }

    /**
     * Lays {@code extents} out as list nodes, each written into one of the extents (fresh ones first, then the largest
     * free blocks); fills the nodes' bytes and offsets, chained in order (the last one's next is set at the push).
     * Returns the bytes handed back.
     */
    private static long packNodes(List<ReturnedSpaceDescriptor.Extent> extents, List<byte[]> nodeBytes,
                                  List<Long> nodeOffsets) {
        List<ReturnedSpaceDescriptor.Extent> entries = new ArrayList<>(extents);
        List<ReturnedSpaceDescriptor.Extent> hosts = new ArrayList<>();
        entries.sort((a, b) -> {
            int byKind = Integer.compare(hostRank(a), hostRank(b));
            return byKind != 0 ? byKind : Long.compare(b.bytes(), a.bytes());
        });
        long capacity = 0;
        while (capacity < entries.size() && !entries.isEmpty() && hostRank(entries.getFirst()) < 2) {
            ReturnedSpaceDescriptor.Extent host = entries.removeFirst();
            if (host.kind() == ReturnedSpaceDescriptor.FRESH && host.bytes() > ReturnedSpaceDescriptor.NODE_MAX_BYTES) {
                long rest = host.bytes() - ReturnedSpaceDescriptor.NODE_MAX_BYTES;
                host = new ReturnedSpaceDescriptor.Extent(host.offset(), ReturnedSpaceDescriptor.NODE_MAX_BYTES,
                        ReturnedSpaceDescriptor.FRESH, 0);
                entries.addFirst(new ReturnedSpaceDescriptor.Extent(host.offset() + ReturnedSpaceDescriptor.NODE_MAX_BYTES,
                        rest, ReturnedSpaceDescriptor.FRESH, 0));
            }
            hosts.add(host);
            capacity += ReturnedSpaceDescriptor.capacity(host.bytes());
        }
        if (hosts.isEmpty()) {
            return 0;
        }
        // Entries that found no room (only blocks in their grace period, when nothing else was left) stay leaked.
        long bytes = 0;
        int next = 0;
        for (int i = 0; i < hosts.size(); i++) {
            ReturnedSpaceDescriptor.Extent host = hosts.get(i);
            int take = Math.min(ReturnedSpaceDescriptor.capacity(host.bytes()), entries.size() - next);
            List<ReturnedSpaceDescriptor.Extent> part = entries.subList(next, next + take);
            next += take;
            long following = i + 1 < hosts.size() ? hosts.get(i + 1).offset() : 0;
            nodeBytes.add(ReturnedSpaceDescriptor.encode(following, host, part));
            nodeOffsets.add(host.offset());
            bytes += host.bytes();
            for (ReturnedSpaceDescriptor.Extent extent : part) {
                bytes += extent.bytes();
            }
        }
        return bytes;
    }

    /** Which extents may hold a list node, best first: fresh space, then free blocks; never a block in its grace. */
    private static int hostRank(ReturnedSpaceDescriptor.Extent extent) {
        return switch (extent.kind()) {
            case ReturnedSpaceDescriptor.FRESH -> 0;
            case ReturnedSpaceDescriptor.FREE -> 1;
            default -> 2;
        };
    }

    /**
     * Takes one list node of space closed compute nodes handed back, with doorbells of its own (a READ of the top, a
     * READ of the node, a CAS), and files its extents. Returns whether it took anything.
     */
    private boolean takeReturned(FabricConnection connection) {
        long topAddress = address(ValueRegionDescriptor.RETURNED_SPACE_OFFSET);
        while (true) {
            DoorbellBatch readTop = new DoorbellBatch();
            int topVerb = readTop.read(topAddress, 8);
            long top = connection.execute(readTop).readLong(topVerb, 0);
            long nodeOffset = ReturnedSpaceDescriptor.topOffset(top);
            if (nodeOffset == 0) {
                return false;
            }
            if (nodeOffset < ValueRegionDescriptor.HEADER_BYTES || nodeOffset % ValueWord.BLOCK_ALIGNMENT != 0
                    || nodeOffset >= usableBytes) {
                throw new CorruptDataException("returned space of memory node " + memoryNode + " names a list node at offset="
                        + nodeOffset + " outside the region's blocks: region bytes=" + usableBytes);
            }
            DoorbellBatch take = new DoorbellBatch();
            int nodeVerb = take.read(address(nodeOffset),
                    (int) Math.min(ReturnedSpaceDescriptor.NODE_MAX_BYTES, usableBytes - nodeOffset));
            MemorySegment read = connection.execute(take).read(nodeVerb);
            long next = WordOrder.getLong(read, ReturnedSpaceDescriptor.NEXT_OFFSET);
            DoorbellBatch pop = new DoorbellBatch();
            int cas = pop.compareAndSwap(topAddress, top, ReturnedSpaceDescriptor.nextTop(top, next));
            if (!connection.execute(pop).casSucceeded(cas)) {
                continue;
            }
            ReturnedSpaceDescriptor.Node node;
            try {
                node = ReturnedSpaceDescriptor.decode(read, nodeOffset);
            } catch (IllegalStateException e) {
                throw new CorruptDataException("returned space of memory node " + memoryNode + " is damaged: " + e.getMessage());
            }
            synchronized (this) {
                file(node.own());
                for (ReturnedSpaceDescriptor.Extent extent : node.entries()) {
                    file(extent);
                }
            }
            return true;
        }
    }

    /** Files one extent taken back: fresh space to bump from, a free block, or a block that waits a grace period. */
    private void file(ReturnedSpaceDescriptor.Extent extent) {
        long stop = extent.offset() + extent.bytes();
        if (extent.offset() < ValueRegionDescriptor.HEADER_BYTES || stop > usableBytes
                || extent.offset() % ValueWord.BLOCK_ALIGNMENT != 0 || extent.bytes() % ValueWord.BLOCK_ALIGNMENT != 0) {
            throw new CorruptDataException("returned space of memory node " + memoryNode + " holds an extent outside the"
                    + " region's blocks: offset=" + extent.offset() + " bytes=" + extent.bytes() + " region bytes=" + usableBytes);
        }
        takenBackBytes += extent.bytes();
        switch (extent.kind()) {
            case ReturnedSpaceDescriptor.FRESH -> freshExtents.addLast(new long[]{extent.offset(), stop});
            case ReturnedSpaceDescriptor.FREE -> {
                int classBytes = checkedClass(extent);
                free.computeIfAbsent(classBytes, k -> new ArrayDeque<>())
                        .addLast(new FreeBlock(extent.offset(), extent.incarnation()));
                freeBytes += classBytes;
            }
            default -> {
                int classBytes = checkedClass(extent);
                retired.addLast(new RetiredBlock(extent.offset(), classBytes, extent.incarnation(),
                        clock.getAsLong() + graceNanos));
                pendingBytes += classBytes;
            }
        }
    }

    private int checkedClass(ReturnedSpaceDescriptor.Extent extent) {
        if (extent.bytes() > Integer.MAX_VALUE || SizeClasses.classBytes((int) extent.bytes()) != extent.bytes()) {
            throw new CorruptDataException("returned space of memory node " + memoryNode + " holds a block of bytes="
                    + extent.bytes() + " at offset=" + extent.offset() + ", not a size class");
        }
        return (int) extent.bytes();
    }

    /** How the space of this allocator is used, in bytes (whole size classes). */
    public synchronized ValueSpace space() {
        return new ValueSpace(claimedBytes, allocatedBytes, bulkBytes, retiredBytes, releasedBytes, reusedBytes,
                pendingBytes, freeBytes, returnedBytes, takenBackBytes);
    }

    /**
     * Bytes of the values region as one compute node's allocator sees them.
     *
     * @param claimedBytes   taken from the region by FAA (chunks and bulk runs)
     * @param allocatedBytes handed out as blocks, net of releases (new and reused, bulk runs included)
     * @param bulkBytes      of those, laid out by bulk loads
     * @param retiredBytes   of blocks unlinked by this node's writes: freed, reusable after the grace period
     * @param releasedBytes  of blocks that never got linked and went straight back
     * @param reusedBytes    allocations served from free lists rather than fresh chunk space
     * @param pendingBytes   retired and still in their grace period
     * @param freeBytes      ready for reuse (retired past grace, released, and chunk tails)
     * @param returnedBytes  handed back to the region when the engine closed ({@link #returnAll})
     * @param takenBackBytes taken from what closed compute nodes handed back
     */
    public record ValueSpace(long claimedBytes, long allocatedBytes, long bulkBytes, long retiredBytes, long releasedBytes,
                             long reusedBytes, long pendingBytes, long freeBytes, long returnedBytes, long takenBackBytes) {
        public static final ValueSpace ZERO = new ValueSpace(0, 0, 0, 0, 0, 0, 0, 0, 0, 0);

        public ValueSpace plus(ValueSpace other) {
            return new ValueSpace(claimedBytes + other.claimedBytes, allocatedBytes + other.allocatedBytes,
                    bulkBytes + other.bulkBytes, retiredBytes + other.retiredBytes, releasedBytes + other.releasedBytes,
                    reusedBytes + other.reusedBytes, pendingBytes + other.pendingBytes, freeBytes + other.freeBytes,
                    returnedBytes + other.returnedBytes, takenBackBytes + other.takenBackBytes);
        }
    }

    /** The grace period, for messages and docs. */
    public long graceMillis() {
        return TimeUnit.NANOSECONDS.toMillis(graceNanos);
    }
}
