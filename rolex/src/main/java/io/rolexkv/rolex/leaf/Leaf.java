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
    /** What {@link #decodedImage} returns. */
    private byte[] image;

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
     * capacity, keys unsorted) is corruption, not tearing, and throws {@link CorruptDataException}. The leaf keeps a
     * copy of the bytes ({@link #decodedImage}), so that a write can send only the words it changed.
     */
    public static Leaf decodeOrNull(MemorySegment bytes, int capacity) {
        return decodeOrNull(bytes, capacity, new CRC32C());
    }

    /** {@link #decodeOrNull(MemorySegment, int)} with a checksum engine the caller reuses across leaves. */
    public static Leaf decodeOrNull(MemorySegment bytes, int capacity, CRC32C crc) {
        int leafBytes = LeafDescriptor.leafBytes(capacity);
        if (bytes.byteSize() < leafBytes) {
            throw new IllegalArgumentException("leaf bytes=" + bytes.byteSize() + " expected=" + leafBytes);
        }
        byte[] image = new byte[leafBytes];
        MemorySegment.copy(bytes, ValueLayout.JAVA_BYTE, 0, image, 0, leafBytes);
        if (!isIntact(image, leafBytes, crc)) {
            return null;
        }
        int count = checkedCount(image, capacity);
        Leaf leaf = new Leaf(capacity);
        leaf.version = LeafDescriptor.version(image);
        leaf.lowFence = LeafDescriptor.lowFence(image);
        leaf.highFence = LeafDescriptor.highFence(image);
        leaf.nextLeaf = LeafDescriptor.nextLeaf(image);
        leaf.epoch = LeafDescriptor.epoch(image);
        leaf.count = count;
        for (int i = 0; i < count; i++) {
            leaf.keys[i] = LeafDescriptor.key(image, i);
            leaf.values[i] = LeafDescriptor.value(image, capacity, i);
        }
        leaf.image = image;
        return leaf;
    }

    /**
     * Whether the leaf bytes {@code image[0, leafBytes)} pass their checksum: false for a READ torn by a concurrent
     * WRITE and for memory never written. {@code crc} is reset and used; the caller reuses it across leaves.
     */
    public static boolean isIntact(byte[] image, int leafBytes, CRC32C crc) {
        return LeafDescriptor.checksum(image) == checksum(image, leafBytes, crc);
    }

    /**
     * The count of an intact leaf image, checked against the layout: a leaf that passed its checksum but holds more
     * keys than its capacity, another capacity than the index's, or keys out of order, is corruption, not tearing.
     */
    public static int checkedCount(byte[] image, int capacity) {
        int storedCapacity = LeafDescriptor.capacity(image);
        int count = LeafDescriptor.count(image);
        if (storedCapacity != capacity || count > capacity) {
            throw new CorruptDataException("corrupt leaf: capacity=" + storedCapacity + " expected=" + capacity + " count=" + count);
        }
        for (int i = 1; i < count; i++) {
            if (Long.compareUnsigned(LeafDescriptor.key(image, i - 1), LeafDescriptor.key(image, i)) >= 0) {
                throw new CorruptDataException("corrupt leaf: keys unsorted at index=" + i);
            }
        }
        return count;
    }

    /**
     * Searches an intact leaf image in place: the index of {@code key} among its {@code count} sorted keys, or
     * {@code -(insertionPoint + 1)}. No decoding, no allocation.
     */
    public static int find(byte[] image, int count, long key) {
        int low = 0;
        int high = count - 1;
        while (low <= high) {
            int middle = (low + high) >>> 1;
            int order = Long.compareUnsigned(LeafDescriptor.key(image, middle), key);
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

    /** The leaf's bytes, checksum included, ready for one WRITE. */
    public byte[] encode() {
        int leafBytes = LeafDescriptor.leafBytes(capacity);
        byte[] data = new byte[leafBytes];
        WordOrder.putLong(data, LeafDescriptor.VERSION_OFFSET, version);
        WordOrder.putLong(data, LeafDescriptor.LOW_FENCE_OFFSET, lowFence);
        WordOrder.putLong(data, LeafDescriptor.HIGH_FENCE_OFFSET, highFence);
        WordOrder.putLong(data, LeafDescriptor.NEXT_LEAF_OFFSET, nextLeaf);
        WordOrder.putLong(data, LeafDescriptor.EPOCH_OFFSET, epoch);
        for (int i = 0; i < count; i++) {
            WordOrder.putLong(data, LeafDescriptor.keyOffset(i), keys[i]);
            WordOrder.putLong(data, LeafDescriptor.valueOffset(capacity, i), values[i]);
        }
        LeafDescriptor.putCountWord(data, count, capacity, 0); // the checksum covers count and capacity
        LeafDescriptor.putCountWord(data, count, capacity, checksum(data, leafBytes, new CRC32C()));
        return data;
    }

    /**
     * The bytes this leaf was decoded from (its own copy), or {@code null} for a leaf built here: what the memory node
     * holds as long as the caller holds the leaf's lock, so a write need only send the words that differ.
     */
    public byte[] decodedImage() {
        return image;
    }

    /**
     * The 8-byte words in which {@code after} differs from {@code before} (two images of one leaf), as runs: each
     * {@code long} holds a run's first byte offset in its high 32 bits and its length in bytes in the low 32. A leaf
     * update that changes one value yields three one-word runs (version, value, and the count word that holds the
     * checksum), an insert or delete the shifted part of the key and value arrays and the same two header words.
     */
    public static long[] changedWordRuns(byte[] before, byte[] after) {
        if (before.length != after.length) {
            throw new IllegalArgumentException("leaf images differ in length: before=" + before.length + " after=" + after.length);
        }
        long[] runs = new long[4];
        int size = 0;
        int start = -1;
        for (int offset = 0; offset <= after.length; offset += Long.BYTES) {
            boolean changed = offset < after.length && WordOrder.getLong(before, offset) != WordOrder.getLong(after, offset);
            if (changed && start < 0) {
                start = offset;
            } else if (!changed && start >= 0) {
                if (size == runs.length) {
                    runs = Arrays.copyOf(runs, size * 2);
                }
                runs[size++] = ((long) start << 32) | (offset - start);
                start = -1;
            }
        }
        return Arrays.copyOf(runs, size);
    }

    /** Checksum of a leaf image, its checksum field read as zero, mixed so that memory never written always fails. */
    private static int checksum(byte[] image, int leafBytes, CRC32C crc) {
        crc.reset();
        crc.update(image, 0, LeafDescriptor.CHECKSUM_OFFSET);
        crc.update(ZERO_CHECKSUM, 0, ZERO_CHECKSUM.length);
        crc.update(image, LeafDescriptor.HEADER_BYTES, leafBytes - LeafDescriptor.HEADER_BYTES);
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
