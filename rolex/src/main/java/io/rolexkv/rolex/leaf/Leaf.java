package io.rolexkv.rolex.leaf;

import io.rolexkv.common.fabric.CorruptDataException;
import io.rolexkv.common.fabric.WordOrder;
import io.rolexkv.rolex.layout.LeafDescriptor;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.Arrays;
import java.util.Objects;
import java.util.zip.CRC32C;

/**
 * A leaf decoded on a compute node: what a READ of a leaf returned, checked, or the new contents about to be written.
 * Mutable and single-threaded; the layout is {@link LeafDescriptor}'s.
 *
 * <p>Keys are unsigned 64-bit values kept sorted (by {@link Long#compareUnsigned}) in {@code [0, count)}; every key
 * lies in {@code [lowFence, highFence]}.
 */
public final class Leaf {
    private final int capacity;
    private final long[] keys;
    private final long[] values;
    private long version;
    private long lowFence;
    private long highFence;
    private long nextLeaf;
    private long epoch;
    private int count;

    public Leaf(int capacity) {
        LeafDescriptor.checkCapacity(capacity);
        this.capacity = capacity;
        this.keys = new long[capacity];
        this.values = new long[capacity];
    }

    /** An empty leaf owning the key range {@code [lowFence, highFence]}. */
    public static Leaf empty(int capacity, long lowFence, long highFence) {
        Leaf leaf = new Leaf(capacity);
        leaf.lowFence = lowFence;
        leaf.highFence = highFence;
        return leaf;
    }

    /**
     * Decodes the bytes a READ returned, or returns {@code null} if they fail the checksum (a torn read, or memory
     * never written): the caller reads again. A leaf that checks out but breaks the layout's rules (count above
     * capacity, keys unsorted) is corruption, not tearing, and throws {@link CorruptDataException}.
     */
    public static Leaf decodeOrNull(MemorySegment bytes, int capacity) {
        int leafBytes = LeafDescriptor.leafBytes(capacity);
        if (bytes.byteSize() < leafBytes) {
            throw new IllegalArgumentException("leaf bytes=" + bytes.byteSize() + " expected=" + leafBytes);
        }
        int stored = bytes.get(WordOrder.INT_UNALIGNED, LeafDescriptor.CHECKSUM_OFFSET);
        if (stored != checksum(bytes, leafBytes)) {
            return null;
        }
        int storedCapacity = Short.toUnsignedInt(bytes.get(WordOrder.SHORT_UNALIGNED, LeafDescriptor.CAPACITY_OFFSET));
        int count = Short.toUnsignedInt(bytes.get(WordOrder.SHORT_UNALIGNED, LeafDescriptor.COUNT_OFFSET));
        if (storedCapacity != capacity || count > capacity) {
            throw new CorruptDataException("corrupt leaf: capacity=" + storedCapacity + " expected=" + capacity + " count=" + count);
        }
        Leaf leaf = new Leaf(capacity);
        leaf.version = WordOrder.getLong(bytes, LeafDescriptor.VERSION_OFFSET);
        leaf.lowFence = WordOrder.getLong(bytes, LeafDescriptor.LOW_FENCE_OFFSET);
        leaf.highFence = WordOrder.getLong(bytes, LeafDescriptor.HIGH_FENCE_OFFSET);
        leaf.nextLeaf = WordOrder.getLong(bytes, LeafDescriptor.NEXT_LEAF_OFFSET);
        leaf.epoch = WordOrder.getLong(bytes, LeafDescriptor.EPOCH_OFFSET);
        leaf.count = count;
        for (int i = 0; i < count; i++) {
            leaf.keys[i] = WordOrder.getLong(bytes, LeafDescriptor.keyOffset(i));
            leaf.values[i] = WordOrder.getLong(bytes, LeafDescriptor.valueOffset(capacity, i));
            if (i > 0 && Long.compareUnsigned(leaf.keys[i - 1], leaf.keys[i]) >= 0) {
                throw new CorruptDataException("corrupt leaf: keys unsorted at index=" + i);
            }
        }
        return leaf;
    }

    /** The leaf's bytes, checksum included, ready for one WRITE. */
    public byte[] encode() {
        int leafBytes = LeafDescriptor.leafBytes(capacity);
        byte[] data = new byte[leafBytes];
        MemorySegment bytes = MemorySegment.ofArray(data);
        WordOrder.putLong(bytes, LeafDescriptor.VERSION_OFFSET, version);
        WordOrder.putLong(bytes, LeafDescriptor.LOW_FENCE_OFFSET, lowFence);
        WordOrder.putLong(bytes, LeafDescriptor.HIGH_FENCE_OFFSET, highFence);
        WordOrder.putLong(bytes, LeafDescriptor.NEXT_LEAF_OFFSET, nextLeaf);
        WordOrder.putLong(bytes, LeafDescriptor.EPOCH_OFFSET, epoch);
        bytes.set(WordOrder.SHORT_UNALIGNED, LeafDescriptor.COUNT_OFFSET, (short) count);
        bytes.set(WordOrder.SHORT_UNALIGNED, LeafDescriptor.CAPACITY_OFFSET, (short) capacity);
        for (int i = 0; i < count; i++) {
            WordOrder.putLong(bytes, LeafDescriptor.keyOffset(i), keys[i]);
            WordOrder.putLong(bytes, LeafDescriptor.valueOffset(capacity, i), values[i]);
        }
        bytes.set(WordOrder.INT_UNALIGNED, LeafDescriptor.CHECKSUM_OFFSET, checksum(bytes, leafBytes));
        return data;
    }

    private static int checksum(MemorySegment bytes, int leafBytes) {
        CRC32C crc = new CRC32C();
        crc.update(bytes.asSlice(0, LeafDescriptor.CHECKSUM_OFFSET).asByteBuffer());
        crc.update(ZERO_CHECKSUM);
        crc.update(bytes.asSlice(LeafDescriptor.HEADER_BYTES, leafBytes - LeafDescriptor.HEADER_BYTES).asByteBuffer());
        // Mixed with a constant so that memory never written (all zero, stored checksum 0) always fails.
        return (int) crc.getValue() ^ 0x5EAF_C0DE;
    }

    private static final byte[] ZERO_CHECKSUM = new byte[4];

    /** Index of {@code key} in {@code [0, count)}, or {@code -(insertionPoint + 1)}. */
    public int find(long key) {
        int low = 0;
        int high = count - 1;
        while (low <= high) {
            int middle = (low + high) >>> 1;
            int order = Long.compareUnsigned(keys[middle], key);
            if (order < 0) {
                low = middle + 1;
            } else if (order > 0) {
                high = middle - 1;
            } else {
                return middle;
            }
        }
        return -(low + 1);
    }

    public boolean owns(long key) {
        return Long.compareUnsigned(key, lowFence) >= 0 && Long.compareUnsigned(key, highFence) <= 0;
    }

    public boolean isFull() {
        return count == capacity;
    }

    /** Sets the value of an existing key, or inserts it in order; the leaf must own the key and not be full if new. */
    public void put(long key, long value) {
        if (!owns(key)) {
            throw new IllegalArgumentException("key=" + Long.toUnsignedString(key) + " outside leaf fences ["
                    + Long.toUnsignedString(lowFence) + "," + Long.toUnsignedString(highFence) + "]");
        }
        int index = find(key);
        if (index >= 0) {
            values[index] = value;
            return;
        }
        if (isFull()) {
            throw new IllegalStateException("leaf full: capacity=" + capacity);
        }
        int insertion = -(index + 1);
        System.arraycopy(keys, insertion, keys, insertion + 1, count - insertion);
        System.arraycopy(values, insertion, values, insertion + 1, count - insertion);
        keys[insertion] = key;
        values[insertion] = value;
        count++;
    }

    /** Removes {@code key} if present, without moving any key to another leaf; returns whether it was there. */
    public boolean remove(long key) {
        int index = find(key);
        if (index < 0) {
            return false;
        }
        System.arraycopy(keys, index + 1, keys, index, count - index - 1);
        System.arraycopy(values, index + 1, values, index, count - index - 1);
        count--;
        keys[count] = 0;
        values[count] = 0;
        return true;
    }

    /**
     * Moves the upper half of this full leaf's keys into {@code right}, an empty leaf that takes over the range above
     * the split key and this leaf's place in the chain (the caller links {@code this.nextLeaf} to it). Afterwards this
     * leaf owns {@code [lowFence, splitKey - 1]} and {@code right} owns {@code [splitKey, old highFence]}.
     */
    public void splitInto(Leaf right) {
        if (count < 2) {
            throw new IllegalStateException("cannot split a leaf of count=" + count);
        }
        int keep = count / 2;
        long splitKey = keys[keep];
        right.count = 0;
        right.lowFence = splitKey;
        right.highFence = highFence;
        right.nextLeaf = nextLeaf;
        right.epoch = epoch;
        for (int i = keep; i < count; i++) {
            right.keys[right.count] = keys[i];
            right.values[right.count] = values[i];
            right.count++;
            keys[i] = 0;
            values[i] = 0;
        }
        count = keep;
        highFence = splitKey - 1;
    }

    public int capacity() {
        return capacity;
    }

    public int count() {
        return count;
    }

    public long key(int index) {
        Objects.checkIndex(index, count);
        return keys[index];
    }

    public long value(int index) {
        Objects.checkIndex(index, count);
        return values[index];
    }

    public long version() {
        return version;
    }

    /** Marks a new state to be written: readers can tell it from the old one. */
    public void bumpVersion() {
        version++;
    }

    public long lowFence() {
        return lowFence;
    }

    public long highFence() {
        return highFence;
    }

    public long nextLeaf() {
        return nextLeaf;
    }

    public void setNextLeaf(long nextLeaf) {
        this.nextLeaf = nextLeaf;
    }

    /** The model epoch under which this leaf's links were laid out (see {@link LeafDescriptor}). */
    public long epoch() {
        return epoch;
    }

    public void setEpoch(long epoch) {
        this.epoch = epoch;
    }

    @Override
    public String toString() {
        return "Leaf[version=" + version + " fences=[" + Long.toUnsignedString(lowFence) + "," + Long.toUnsignedString(highFence)
                + "] epoch=" + epoch + " count=" + count + "/" + capacity + " next=" + nextLeaf + " keys=" + Arrays.toString(Arrays.copyOf(keys, count)) + "]";
    }
}
