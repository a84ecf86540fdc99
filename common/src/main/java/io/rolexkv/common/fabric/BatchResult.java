package io.rolexkv.common.fabric;

import java.lang.foreign.MemorySegment;

/**
 * The completion of a {@link DoorbellBatch}: the bytes each READ returned and the old word each CAS/FAA saw.
 * Indexed by the verb index the batch builder returned. Immutable once built.
 */
public final class BatchResult {
    private final DoorbellBatch batch;
    private final MemorySegment[] readData;
    private final long[] oldValues;

    /**
     * @param batch     the batch this completes (kept for {@link #casSucceeded(int)}); must not change meanwhile
     * @param readData  per verb: the bytes a READ returned, {@code null} for other kinds
     * @param oldValues per verb: the word a CAS/FAA saw, 0 for other kinds
     */
    public BatchResult(DoorbellBatch batch, MemorySegment[] readData, long[] oldValues) {
        if (readData.length < batch.size() || oldValues.length < batch.size()) {
            throw new IllegalArgumentException("result arrays shorter than batch size=" + batch.size());
        }
        this.batch = batch;
        this.readData = readData;
        this.oldValues = oldValues;
    }

    /**
     * The result of {@code batch} whose READs returned, back to back in verb order, the bytes of {@code reads}
     * (exactly {@link DoorbellBatch#bytesToRead()} of them); the READ segments are views of that one array.
     */
    public static BatchResult ofPackedReads(DoorbellBatch batch, byte[] reads, long[] oldValues) {
        if (reads.length != batch.bytesToRead()) {
            throw new IllegalArgumentException("read_bytes=" + reads.length + " batch_bytes_to_read=" + batch.bytesToRead());
        }
        MemorySegment all = MemorySegment.ofArray(reads);
        MemorySegment[] readData = new MemorySegment[batch.size()];
        long offset = 0;
        for (int i = 0; i < batch.size(); i++) {
            if (batch.kind(i) == VerbKind.READ) {
                readData[i] = all.asSlice(offset, batch.length(i));
                offset += batch.length(i);
            }
        }
        return new BatchResult(batch, readData, oldValues);
    }

    public int size() {
        return batch.size();
    }

    /** The bytes READ {@code index} returned, read-only. */
    public MemorySegment read(int index) {
        requireKind(index, VerbKind.READ);
        return readData[index].asReadOnly();
    }

    /** A copy of the bytes READ {@code index} returned. */
    public byte[] readBytes(int index) {
        requireKind(index, VerbKind.READ);
        return readData[index].toArray(java.lang.foreign.ValueLayout.JAVA_BYTE);
    }

    /**
     * Copies the first {@code length} bytes READ {@code index} returned into {@code target}: for a hot path that
     * checks and searches them in a buffer of its own, with no view made.
     */
    public void copyRead(int index, byte[] target, int length) {
        copyRead(index, target, 0, length);
    }

    /** Copies the first {@code length} bytes READ {@code index} returned into {@code target} from {@code targetOffset}. */
    public void copyRead(int index, byte[] target, int targetOffset, int length) {
        requireKind(index, VerbKind.READ);
        MemorySegment.copy(readData[index], java.lang.foreign.ValueLayout.JAVA_BYTE, 0, target, targetOffset, length);
    }

    /** The little-endian word at {@code offset} of READ {@code index}'s bytes. */
    public long readLong(int index, long offset) {
        requireKind(index, VerbKind.READ);
        return WordOrder.getLong(readData[index], offset);
    }

    /** The word CAS or FAA {@code index} found before it acted. */
    public long oldValue(int index) {
        VerbKind kind = batch.kind(index);
        if (!kind.isAtomic()) {
            throw new IllegalArgumentException("verb=" + index + " is a " + kind + ", it has no old value");
        }
        return oldValues[index];
    }

    /** Whether CAS {@code index} swapped: the old value equalled the expected one. */
    public boolean casSucceeded(int index) {
        requireKind(index, VerbKind.CAS);
        return oldValues[index] == batch.expected(index);
    }

    private void requireKind(int index, VerbKind kind) {
        if (batch.kind(index) != kind) {
            throw new IllegalArgumentException("verb=" + index + " is a " + batch.kind(index) + ", not a " + kind);
        }
    }
}
