package io.rolexkv.common.fabric;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.Arrays;

/**
 * A doorbell's completion written into memory its caller owns and reuses ({@link FabricConnection#execute(DoorbellBatch,
 * CompletionBuffer)}): the bytes each READ returned, back to back in verb order in one array, and the old word each CAS
 * and FAA saw. It holds the same answers a {@link BatchResult} would, but a hot path that keeps one buffer (and one
 * {@link DoorbellBatch}) per caller allocates nothing per call once the buffer has grown to its batches, where a
 * {@link BatchResult} is a new object per doorbell.
 *
 * <p>Not thread-safe, and one completion at a time: it holds the completion it was last filled with until the next
 * fill, and the batch that completion belongs to must not change meanwhile ({@link #casSucceeded} reads its expected
 * words). After a failed fill (the call threw) what it holds is unspecified.
 *
 * <p>Two sides: a transport fills it ({@link #reset}, then {@link #sink()} in verb order or {@link #putRead} /
 * {@link #putOldValue} by verb, or {@link #copyOf} a whole result); its owner reads it with the accessors, which take
 * the verb indices the batch builder returned, as {@link BatchResult}'s do.
 */
public final class CompletionBuffer {
    private static final int INITIAL_VERBS = 4;
    private static final int INITIAL_READ_BYTES = 512;

    private DoorbellBatch batch;
    private int size;
    /** Per verb: where its READ bytes start in {@link #reads} (READs only). */
    private int[] readOffsets = new int[INITIAL_VERBS];
    /** Per verb: the word a CAS or FAA saw (0 for other kinds). */
    private long[] oldValues = new long[INITIAL_VERBS];
    private byte[] reads = new byte[INITIAL_READ_BYTES];
    /** {@link #reads} as a segment, made again only when the array grows. */
    private MemorySegment readSegment = MemorySegment.ofArray(reads);
    private final PackingVerbSink sink = new PackingVerbSink();

    public CompletionBuffer() {
        sink.target(reads, oldValues);
    }

    // ------------------------------------------------------------------ filling, by a transport

    /**
     * Makes room for the completion of {@code batch} and lays its READs out back to back in verb order; old values read
     * 0 until put. Grows the buffer if it must (so a caller whose batches stay the same size stops allocating).
     */
    public void reset(DoorbellBatch batch) {
        int verbs = batch.size();
        if (readOffsets.length < verbs) {
            int capacity = Math.max(verbs, readOffsets.length * 2);
            readOffsets = new int[capacity];
            oldValues = new long[capacity];
        } else {
            Arrays.fill(oldValues, 0, verbs, 0);
        }
        int bytes = Math.toIntExact(batch.bytesToRead());
        if (reads.length < bytes) {
            reads = new byte[Math.max(bytes, reads.length * 2)];
            readSegment = MemorySegment.ofArray(reads);
        }
        int offset = 0;
        for (int verb = 0; verb < verbs; verb++) {
            if (batch.kind(verb) == VerbKind.READ) {
                readOffsets[verb] = offset;
                offset += batch.length(verb);
            }
        }
        this.batch = batch;
        this.size = verbs;
        sink.target(reads, oldValues);
    }

    /**
     * Where {@link VerbExecutor#apply} writes the batch {@link #reset} was given, in verb order: READ bytes one after
     * another from the first READ's start, old values by verb. The same object every time.
     */
    public VerbSink sink() {
        return sink;
    }

    /** Puts READ {@code verb}'s bytes: as many as the verb read, copied from {@code source} at {@code sourceOffset}. */
    public void putRead(int verb, MemorySegment source, long sourceOffset) {
        requireKind(verb, VerbKind.READ);
        MemorySegment.copy(source, sourceOffset, readSegment, readOffsets[verb], batch.length(verb));
    }

    /**
     * Puts READ {@code verb}'s bytes: as many as the verb read, copied from {@code source} at {@code sourceOffset} (a
     * completion frame a transport read into an array of its own).
     */
    public void putRead(int verb, byte[] source, int sourceOffset) {
        requireKind(verb, VerbKind.READ);
        System.arraycopy(source, sourceOffset, reads, readOffsets[verb], batch.length(verb));
    }

    /** Puts the word CAS or FAA {@code verb} found before it acted. */
    public void putOldValue(int verb, long value) {
        checkIndex(verb);
        if (!batch.kind(verb).isAtomic()) {
            throw new IllegalArgumentException("verb=" + verb + " is a " + batch.kind(verb) + ", it has no old value");
        }
        oldValues[verb] = value;
    }

    /** Fills this buffer with {@code result}, the completion of {@code batch}: what a transport that has one does. */
    public void copyOf(DoorbellBatch batch, BatchResult result) {
        if (result.size() != batch.size()) {
            throw new IllegalArgumentException("result size=" + result.size() + " batch size=" + batch.size());
        }
        reset(batch);
        for (int verb = 0; verb < size; verb++) {
            switch (batch.kind(verb)) {
                case READ -> result.copyRead(verb, reads, readOffsets[verb], batch.length(verb));
                case CAS, FAA -> oldValues[verb] = result.oldValue(verb);
                case WRITE -> {
                }
            }
        }
    }

    // ------------------------------------------------------------------ reading, by the owner

    /** Verbs of the completion held. */
    public int size() {
        return size;
    }

    /** The little-endian word at {@code offset} of READ {@code verb}'s bytes. */
    public long readLong(int verb, long offset) {
        requireKind(verb, VerbKind.READ);
        if (offset < 0 || offset + Long.BYTES > batch.length(verb)) {
            throw new IndexOutOfBoundsException("verb=" + verb + " offset=" + offset + " length=" + batch.length(verb));
        }
        return WordOrder.getLong(readSegment, readOffsets[verb] + offset);
    }

    /**
     * Every READ's bytes, back to back: READ {@code verb}'s are {@link #readLength} bytes from {@link #readOffset}. For
     * a hot path that searches them in place; valid until the next fill (a fill may put a new array in its place).
     */
    public MemorySegment readBytes() {
        return readSegment;
    }

    /** Where READ {@code verb}'s bytes start in {@link #readBytes()}. */
    public long readOffset(int verb) {
        requireKind(verb, VerbKind.READ);
        return readOffsets[verb];
    }

    /** How many bytes READ {@code verb} returned. */
    public int readLength(int verb) {
        requireKind(verb, VerbKind.READ);
        return batch.length(verb);
    }

    /** READ {@code verb}'s bytes as a read-only view (one small object; the hot path uses {@link #readLong}). */
    public MemorySegment read(int verb) {
        requireKind(verb, VerbKind.READ);
        return readSegment.asSlice(readOffsets[verb], batch.length(verb)).asReadOnly();
    }

    /** The word CAS or FAA {@code verb} found before it acted. */
    public long oldValue(int verb) {
        checkIndex(verb);
        if (!batch.kind(verb).isAtomic()) {
            throw new IllegalArgumentException("verb=" + verb + " is a " + batch.kind(verb) + ", it has no old value");
        }
        return oldValues[verb];
    }

    /** Whether CAS {@code verb} swapped: the old value equalled the expected one. */
    public boolean casSucceeded(int verb) {
        requireKind(verb, VerbKind.CAS);
        return oldValues[verb] == batch.expected(verb);
    }

    private void requireKind(int verb, VerbKind kind) {
        checkIndex(verb);
        if (batch.kind(verb) != kind) {
            throw new IllegalArgumentException("verb=" + verb + " is a " + batch.kind(verb) + ", not a " + kind);
        }
    }

    private void checkIndex(int verb) {
        if (verb < 0 || verb >= size) {
            throw new IndexOutOfBoundsException("verb=" + verb + " size=" + size);
        }
    }

    @Override
    public String toString() {
        return "CompletionBuffer[size=" + size + " readBytes=" + (batch == null ? 0 : batch.bytesToRead()) + "]";
    }
}
