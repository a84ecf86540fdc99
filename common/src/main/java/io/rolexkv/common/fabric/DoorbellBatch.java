package io.rolexkv.common.fabric;

import java.lang.foreign.MemorySegment;
import java.util.Arrays;

/**
 * A list of one-sided verbs bound for one memory node, posted at once, executed in order and completed together:
 * one network round trip (one doorbell ring on an RDMA NIC). Each {@code read}/{@code write}/{@code compareAndSwap}/
 * {@code fetchAndAdd} call appends a verb and returns its index in the batch, which the caller uses to pick the
 * verb's outcome out of the {@link BatchResult}.
 *
 * <p>Semantics on every transport: verbs run in the order they were added, each later verb sees the effects of
 * the earlier ones (as if every verb carried the RDMA fence flag). A batch that holds a bad verb (unknown region,
 * out of bounds, unaligned atomic, another node's address) is rejected whole before any verb runs.
 *
 * <p>A batch is a plain builder: not thread-safe, and a WRITE's source is not copied, so the caller must leave it
 * alone until the batch completes. A batch may be posted again (for example to re-read a torn leaf).
 */
public final class DoorbellBatch {
    private static final int INITIAL_CAPACITY = 4;

    private VerbKind[] kinds = new VerbKind[INITIAL_CAPACITY];
    private long[] addresses = new long[INITIAL_CAPACITY];
    private int[] lengths = new int[INITIAL_CAPACITY];
    /** CAS: expected value; FAA: delta; a {@link #writeLong} WRITE: its word. */
    private long[] firstOperands = new long[INITIAL_CAPACITY];
    /** CAS: desired value. */
    private long[] secondOperands = new long[INITIAL_CAPACITY];
    private MemorySegment[] payloads = new MemorySegment[INITIAL_CAPACITY];
    private int size;
    private long bytesToRead;
    private long bytesToWrite;

    public DoorbellBatch() {
    }

    /** Appends a READ of {@code length} bytes at {@code address}; the result holds the bytes. */
    public int read(long address, int length) {
        if (length < 0) {
            throw new IllegalArgumentException("READ length=" + length + " must be >= 0 at " + GlobalAddress.toString(address));
        }
        int index = append(VerbKind.READ, address, length, 0, 0, null);
        bytesToRead += length;
        return index;
    }

    /** Appends a WRITE of all of {@code source}'s bytes to {@code address}. {@code source} is not copied. */
    public int write(long address, MemorySegment source) {
        if (source.byteSize() > Integer.MAX_VALUE) {
            throw new IllegalArgumentException("WRITE length=" + source.byteSize() + " exceeds " + Integer.MAX_VALUE);
        }
        int index = append(VerbKind.WRITE, address, (int) source.byteSize(), 0, 0, source);
        bytesToWrite += source.byteSize();
        return index;
    }

    /** Appends a WRITE of {@code data}. The array is not copied. */
    public int write(long address, byte[] data) {
        return write(address, MemorySegment.ofArray(data));
    }

    /** Appends a WRITE of {@code data[offset, offset+length)}. The array is not copied. */
    public int write(long address, byte[] data, int offset, int length) {
        return write(address, MemorySegment.ofArray(data).asSlice(offset, length));
    }

    /**
     * Appends an 8-byte WRITE of {@code value} (little-endian, as every word in a region is stored). The word is kept
     * in the batch itself ({@link #isInlineWord}), so this allocates nothing.
     */
    public int writeLong(long address, long value) {
        int index = append(VerbKind.WRITE, address, Long.BYTES, value, 0, null);
        bytesToWrite += Long.BYTES;
        return index;
    }

    /**
     * Appends an 8-byte compare-and-swap: if the word at {@code address} equals {@code expected} it becomes
     * {@code desired}. The result's {@link BatchResult#oldValue(int)} is the word before; the swap happened iff it
     * equals {@code expected} ({@link BatchResult#casSucceeded(int)}).
     */
    public int compareAndSwap(long address, long expected, long desired) {
        return append(VerbKind.CAS, address, Long.BYTES, expected, desired, null);
    }

    /** Appends an 8-byte fetch-and-add of {@code delta}; the result's old value is the word before the add. */
    public int fetchAndAdd(long address, long delta) {
        return append(VerbKind.FAA, address, Long.BYTES, delta, 0, null);
    }

    private int append(VerbKind kind, long address, int length, long first, long second, MemorySegment payload) {
        if (size == kinds.length) {
            int capacity = size * 2;
            kinds = Arrays.copyOf(kinds, capacity);
            addresses = Arrays.copyOf(addresses, capacity);
            lengths = Arrays.copyOf(lengths, capacity);
            firstOperands = Arrays.copyOf(firstOperands, capacity);
            secondOperands = Arrays.copyOf(secondOperands, capacity);
            payloads = Arrays.copyOf(payloads, capacity);
        }
        kinds[size] = kind;
        addresses[size] = address;
        lengths[size] = length;
        firstOperands[size] = first;
        secondOperands[size] = second;
        payloads[size] = payload;
        return size++;
    }

    /** Removes every verb so the builder can be reused. */
    public void clear() {
        Arrays.fill(payloads, 0, size, null);
        size = 0;
        bytesToRead = 0;
        bytesToWrite = 0;
    }

    public int size() {
        return size;
    }

    public boolean isEmpty() {
        return size == 0;
    }

    public VerbKind kind(int index) {
        checkIndex(index);
        return kinds[index];
    }

    public long address(int index) {
        checkIndex(index);
        return addresses[index];
    }

    /** Bytes the verb moves: READ and WRITE their length, CAS and FAA 8. */
    public int length(int index) {
        checkIndex(index);
        return lengths[index];
    }

    /** CAS: the expected value. */
    public long expected(int index) {
        checkKind(index, VerbKind.CAS);
        return firstOperands[index];
    }

    /** CAS: the desired value. */
    public long desired(int index) {
        checkKind(index, VerbKind.CAS);
        return secondOperands[index];
    }

    /** FAA: the delta. */
    public long delta(int index) {
        checkKind(index, VerbKind.FAA);
        return firstOperands[index];
    }

    /** WRITE: the source bytes (for a {@link #writeLong} word, a fresh 8-byte copy of it). */
    public MemorySegment payload(int index) {
        checkKind(index, VerbKind.WRITE);
        MemorySegment payload = payloads[index];
        if (payload == null) {
            byte[] word = new byte[Long.BYTES];
            WordOrder.putLong(word, 0, firstOperands[index]);
            return MemorySegment.ofArray(word);
        }
        return payload;
    }

    /** WRITE: whether it was added by {@link #writeLong}, its word kept in the batch ({@link #inlineWord}). */
    public boolean isInlineWord(int index) {
        checkKind(index, VerbKind.WRITE);
        return payloads[index] == null;
    }

    /** A {@link #writeLong} WRITE's word. */
    public long inlineWord(int index) {
        if (!isInlineWord(index)) {
            throw new IllegalArgumentException("verb=" + index + " is a WRITE of a segment, not of a word");
        }
        return firstOperands[index];
    }

    /** Sum of READ lengths: what the completion will carry back. */
    public long bytesToRead() {
        return bytesToRead;
    }

    /** Sum of WRITE lengths: what the request carries out. */
    public long bytesToWrite() {
        return bytesToWrite;
    }

    /** A short description of verb {@code index} for error messages: {@code verb=3 kind=CAS address=node0/region1+16}. */
    public String describe(int index) {
        checkIndex(index);
        return "verb=" + index + " kind=" + kinds[index] + " address=" + GlobalAddress.toString(addresses[index])
                + " length=" + lengths[index];
    }

    private void checkKind(int index, VerbKind expected) {
        checkIndex(index);
        if (kinds[index] != expected) {
            throw new IllegalArgumentException("verb=" + index + " is a " + kinds[index] + ", not a " + expected);
        }
    }

    private void checkIndex(int index) {
        if (index < 0 || index >= size) {
            throw new IndexOutOfBoundsException("verb=" + index + " size=" + size);
        }
    }

    @Override
    public String toString() {
        return "DoorbellBatch[size=" + size + " bytesToRead=" + bytesToRead + " bytesToWrite=" + bytesToWrite + "]";
    }
}
