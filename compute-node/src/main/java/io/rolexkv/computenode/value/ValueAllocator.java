package io.rolexkv.computenode.value;

import io.rolexkv.common.fabric.BatchResult;
import io.rolexkv.common.fabric.DoorbellBatch;
import io.rolexkv.common.fabric.FabricConnection;
import io.rolexkv.common.fabric.GlobalAddress;
import io.rolexkv.common.fabric.RegionInfo;

import java.util.ArrayDeque;
import java.util.HashMap;
import java.util.Iterator;
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
 * <p>Free lists live in this compute node's memory: a node that stops loses the blocks it had retired but not reused
 * (they stay allocated in the region). Thread-safe; operations are short and under one lock, except the rare claim
 * that needs its own doorbell, which runs outside it.
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

    private long claimedBytes;
    private long allocatedBytes;
    private long reusedBytes;
    private long retiredBytes;
    private long releasedBytes;
    private long pendingBytes;
    private long freeBytes;
    private long bulkBytes;

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
        while (true) {
            long waitUntil;
            synchronized (this) {
                Allocation allocation = tryAllocate(length, classBytes);
                if (allocation != null) {
                    return allocation;
                }
                if (!regionExhausted) {
                    waitUntil = -1;
                } else {
                    waitUntil = earliestReuse(classBytes);
                    if (waitUntil == NO_DEADLINE) {
                        throw new ValueRegionFullException("values region of memory node " + memoryNode + " is full: "
                                + "region bytes=" + region.length() + " claimed=" + claimedBytes + " no free or retired block of "
                                + classBytes + " bytes for a value of " + length + " bytes; nothing was stored");
                    }
                }
            }
            if (waitUntil < 0) {
                claimNow(connection);
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
                if (spareEnd - spareStart < classBytes) {
                    return null;
                }
                keepTail();
                cursor = spareStart;
                end = spareEnd;
                spareStart = spareEnd = 0;
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

    /** How the space of this allocator is used, in bytes (whole size classes). */
    public synchronized ValueSpace space() {
        return new ValueSpace(claimedBytes, allocatedBytes, bulkBytes, retiredBytes, releasedBytes, reusedBytes,
                pendingBytes, freeBytes);
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
     */
    public record ValueSpace(long claimedBytes, long allocatedBytes, long bulkBytes, long retiredBytes, long releasedBytes,
                             long reusedBytes, long pendingBytes, long freeBytes) {
        public static final ValueSpace ZERO = new ValueSpace(0, 0, 0, 0, 0, 0, 0, 0);

        public ValueSpace plus(ValueSpace other) {
            return new ValueSpace(claimedBytes + other.claimedBytes, allocatedBytes + other.allocatedBytes,
                    bulkBytes + other.bulkBytes, retiredBytes + other.retiredBytes, releasedBytes + other.releasedBytes,
                    reusedBytes + other.reusedBytes, pendingBytes + other.pendingBytes, freeBytes + other.freeBytes);
        }
    }

    /** The grace period, for messages and docs. */
    public long graceMillis() {
        return TimeUnit.NANOSECONDS.toMillis(graceNanos);
    }
}
