package io.rolexkv.common.fabric;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.VarHandle;

/**
 * What the memory node's NIC does with a doorbell batch, and nothing more: check every verb, then apply them in order
 * to registered memory. The loopback transport calls it in the caller's thread, the tcp transport's server handler
 * in its event loop; no index logic ever runs here.
 *
 * <p>Memory semantics, matching RDMA: CAS and FAA are atomic read-modify-writes of an aligned 8-byte word. READ and
 * WRITE move aligned 8-byte words one at a time (each word atomic, the verb as a whole not), so a READ that overlaps
 * a concurrent WRITE may see a mix of old and new words: data structures must detect torn reads themselves. Each word
 * a WRITE stores is a release store and each word a READ loads an acquire load, so verbs of one batch, and batches
 * ordered by completion, are seen in order by everyone.
 *
 * <p>Validation comes first and covers the whole batch, so a refused batch leaves memory untouched.
 */
public final class VerbExecutor {
    /** Aligned little-endian word access; coordinates (segment, offset). */
    private static final VarHandle WORD = ValueLayout.JAVA_LONG.withOrder(WordOrder.ORDER).varHandle();

    private VerbExecutor() {
    }

    /**
     * Checks then applies {@code batch} to {@code memory}, and returns what it returned: READ data in one array the
     * result's segments share (one allocation per batch, not per verb). For in-process callers; a server that sends
     * results on uses {@link #apply} with a sink of its own.
     *
     * @throws VerbRejectedException naming the first bad verb; nothing was applied
     */
    public static BatchResult execute(RegisteredMemory memory, FabricLimits limits, DoorbellBatch batch) {
        validate(memory, limits, batch);
        byte[] reads = new byte[Math.toIntExact(batch.bytesToRead())];
        long[] oldValues = new long[batch.size()];
        PackingVerbSink sink = new PackingVerbSink();
        sink.target(reads, oldValues);
        apply(memory, batch, sink);
        return BatchResult.ofPackedReads(batch, reads, oldValues);
    }

    /**
     * Checks then applies {@code batch} to {@code memory}, and writes what it returned into {@code into}: the in-process
     * form that allocates nothing (see {@link FabricConnection#execute(DoorbellBatch, CompletionBuffer)}).
     *
     * @throws VerbRejectedException naming the first bad verb; nothing was applied and {@code into} is unchanged
     */
    public static void execute(RegisteredMemory memory, FabricLimits limits, DoorbellBatch batch, CompletionBuffer into) {
        validate(memory, limits, batch);
        into.reset(batch);
        apply(memory, batch, into.sink());
    }

    /**
     * Applies an already {@link #validate validated} {@code batch} to {@code memory}, handing what each verb returns
     * to {@code sink} as it goes, in verb order. Allocates nothing.
     */
    public static void apply(RegisteredMemory memory, DoorbellBatch batch, VerbSink sink) {
        int size = batch.size();
        boolean wrote = false;
        for (int i = 0; i < size; i++) {
            long address = batch.address(i);
            MemorySegment region = memory.segmentOrNull(GlobalAddress.region(address));
            long offset = GlobalAddress.offset(address);
            switch (batch.kind(i)) {
                case READ -> readWords(region, offset, batch.length(i), sink);
                case WRITE -> {
                    if (batch.isInlineWord(i)) {
                        writeWord(region, offset, batch.inlineWord(i));
                    } else {
                        writeWords(region, offset, batch.payload(i));
                    }
                    wrote = true;
                }
                case CAS -> {
                    sink.oldValue(i, (long) WORD.compareAndExchange(region, offset, batch.expected(i), batch.desired(i)));
                    wrote = true;
                }
                case FAA -> {
                    sink.oldValue(i, (long) WORD.getAndAdd(region, offset, batch.delta(i)));
                    wrote = true;
                }
            }
        }
        if (wrote) {
            memory.countWriteBatch(); // after the last store, so whoever sees the count sees the stores
        }
    }

    /** Throws for the first verb of {@code batch} this memory node would refuse. */
    public static void validate(RegisteredMemory memory, FabricLimits limits, DoorbellBatch batch) {
        validate(memory.memoryNodeId(), memory.regionCount(), memory.regionLengths, limits, batch);
    }

    /** What a {@link RegionLengths} lookup answers for a region number the node does not have. */
    public static final long NO_REGION = -1;

    /** The length of each region of a memory node, by region number, or {@link #NO_REGION}. */
    @FunctionalInterface
    public interface RegionLengths {
        long length(int region);
    }

    /**
     * The memory node's checks, for a node known only by its id and region lengths: the rdma client runs them before
     * posting, since a NIC cannot refuse one bad verb (it faults the whole queue pair), and must refuse exactly what
     * this node would, with the same reasons and messages.
     *
     * @throws VerbRejectedException naming the first bad verb
     */
    public static void validate(int memoryNodeId, int regionCount, RegionLengths regionLengths, FabricLimits limits,
                                DoorbellBatch batch) {
        validateSize(limits, batch);
        for (int i = 0; i < batch.size(); i++) {
            long address = batch.address(i);
            if (GlobalAddress.memoryNode(address) != memoryNodeId) {
                throw new VerbRejectedException(i, VerbRejectedException.Reason.WRONG_MEMORY_NODE,
                        batch.describe(i) + " memory_node=" + memoryNodeId);
            }
            long regionLength = regionLengths.length(GlobalAddress.region(address));
            if (regionLength == NO_REGION) {
                throw new VerbRejectedException(i, VerbRejectedException.Reason.UNKNOWN_REGION,
                        batch.describe(i) + " regions=" + regionCount);
            }
            int length = batch.length(i);
            if (length < 0) {
                throw new VerbRejectedException(i, VerbRejectedException.Reason.BAD_LENGTH, batch.describe(i));
            }
            long offset = GlobalAddress.offset(address);
            if (offset + length > regionLength) {
                throw new VerbRejectedException(i, VerbRejectedException.Reason.OUT_OF_BOUNDS,
                        batch.describe(i) + " region_length=" + regionLength);
            }
            if (batch.kind(i).isAtomic() && (offset & (Long.BYTES - 1)) != 0) {
                throw new VerbRejectedException(i, VerbRejectedException.Reason.UNALIGNED_ATOMIC,
                        batch.describe(i) + " alignment=8");
            }
        }
    }

    /**
     * Throws if {@code batch} as a whole is over {@code limits} (verbs, or bytes read plus written): the batch-level
     * part of {@link #validate}, which a client may also run before sending a batch too big to put on the wire.
     */
    public static void validateSize(FabricLimits limits, DoorbellBatch batch) {
        if (batch.size() > limits.maxVerbsPerBatch()) {
            throw new VerbRejectedException(-1, VerbRejectedException.Reason.OVERSIZE_BATCH,
                    "verbs=" + batch.size() + " max_verbs_per_batch=" + limits.maxVerbsPerBatch());
        }
        long bytes = batch.bytesToRead() + batch.bytesToWrite();
        if (bytes > limits.maxBytesPerBatch()) {
            throw new VerbRejectedException(-1, VerbRejectedException.Reason.OVERSIZE_BATCH,
                    "bytes=" + bytes + " max_bytes_per_batch=" + limits.maxBytesPerBatch());
        }
    }

    private static void readWords(MemorySegment region, long offset, int length, VerbSink sink) {
        int position = 0;
        // Unaligned head and tail bytes: no atomicity promised below a word, as on a NIC.
        while (position < length && ((offset + position) & 7) != 0) {
            sink.readByte(region.get(ValueLayout.JAVA_BYTE, offset + position));
            position++;
        }
        for (; position + Long.BYTES <= length; position += Long.BYTES) {
            sink.readWord((long) WORD.getAcquire(region, offset + position));
        }
        VarHandle.acquireFence();
        for (; position < length; position++) {
            sink.readByte(region.get(ValueLayout.JAVA_BYTE, offset + position));
        }
    }

    /** An 8-byte WRITE of {@code word}: one release store where aligned, as a NIC would, else byte by byte. */
    private static void writeWord(MemorySegment region, long offset, long word) {
        VarHandle.releaseFence();
        if ((offset & 7) == 0) {
            WORD.setRelease(region, offset, word);
        } else {
            region.set(WordOrder.LONG_UNALIGNED, offset, word);
        }
        VarHandle.releaseFence();
    }

    private static void writeWords(MemorySegment region, long offset, MemorySegment source) {
        long length = source.byteSize();
        long position = 0;
        VarHandle.releaseFence();
        while (position < length && ((offset + position) & 7) != 0) {
            region.set(ValueLayout.JAVA_BYTE, offset + position, source.get(ValueLayout.JAVA_BYTE, position));
            position++;
        }
        for (; position + Long.BYTES <= length; position += Long.BYTES) {
            WORD.setRelease(region, offset + position, source.get(WordOrder.LONG_UNALIGNED, position));
        }
        for (; position < length; position++) {
            region.set(ValueLayout.JAVA_BYTE, offset + position, source.get(ValueLayout.JAVA_BYTE, position));
        }
        VarHandle.releaseFence();
    }
}
