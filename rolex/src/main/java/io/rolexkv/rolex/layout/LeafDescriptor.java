package io.rolexkv.rolex.layout;

import io.rolexkv.common.fabric.WordOrder;

/**
 * Where every byte of a leaf lives. A leaf is fixed size, never moves once placed, and holds up to
 * {@code capacity} key/value pairs with keys sorted (unsigned) in {@code [0, count)}.
 *
 * <pre>
 *   0          8           16          24          32          40       42       44          48
 *  +----------+-----------+-----------+-----------+-----------+--------+--------+-----------+
 *  | version  | lowFence  | highFence | nextLeaf  | epoch     | count  | capac. | checksum  |
 *  |  u64     |   u64     |   u64     |  u64      |  u64      |  u16   |  u16   |  u32      |
 *  +----------+-----------+-----------+-----------+-----------+--------+--------+-----------+
 *  48: keys[capacity]   (u64 each, unsigned, sorted in [0, count), zero beyond)
 *  48 + 8*capacity: values[capacity]  (u64 each; the value or a value-block handle)
 *  padded to a multiple of 64 bytes (a cache line)
 * </pre>
 *
 * <ul>
 *   <li>{@code version}: bumped by every write of the leaf; lets a reader tell two consistent states apart.</li>
 *   <li>{@code lowFence}, {@code highFence}: the inclusive unsigned key range this leaf owns. The delta leaves of one
 *       group ({@link TablesDescriptor}) own disjoint ranges, ascending along the chain, within the group's keys.
 *       Fences change only when a full leaf splits, under the group's lock.</li>
 *   <li>{@code nextLeaf}: the next leaf of the chain, as a {@link LeafTableEntry}-shaped word whose leafRegion and
 *       leafNumber name that leaf and whose synonymSlot is the SLT slot it occupies; 0 when this leaf is the last.
 *       A reader whose cached chain is stale follows it, so no key is ever out of reach.</li>
 *   <li>{@code epoch}: at least the model epoch under which the leaf was written; a leaf recycled after a compaction
 *       carries the epoch that freed it, so a reader whose cached models are older learns from it that it must
 *       refresh them.</li>
 *   <li>{@code checksum}: CRC32C of the whole leaf with this field read as zero. A READ that overlapped a WRITE
 *       (torn, see the fabric's per-word atomicity) or a leaf never written (all zero) fails the check, and the
 *       reader reads again.</li>
 * </ul>
 */
public final class LeafDescriptor {
    public static final int VERSION_OFFSET = 0;
    public static final int LOW_FENCE_OFFSET = 8;
    public static final int HIGH_FENCE_OFFSET = 16;
    public static final int NEXT_LEAF_OFFSET = 24;
    public static final int EPOCH_OFFSET = 32;
    public static final int COUNT_OFFSET = 40;
    public static final int CAPACITY_OFFSET = 42;
    public static final int CHECKSUM_OFFSET = 44;
    public static final int HEADER_BYTES = 48;
    public static final int KEYS_OFFSET = HEADER_BYTES;
    public static final int ALIGNMENT = 64;
    /** Capacity is a u16 in the header; far more than any sensible leaf. */
    public static final int MAX_CAPACITY = 4096;
    public static final int MIN_CAPACITY = 2;

    private LeafDescriptor() {
    }

    /** Bytes one leaf of {@code capacity} entries takes, padded to a cache line. */
    public static int leafBytes(int capacity) {
        checkCapacity(capacity);
        int raw = HEADER_BYTES + 16 * capacity;
        return (raw + ALIGNMENT - 1) / ALIGNMENT * ALIGNMENT;
    }

    public static long version(byte[] leaf) {
        return WordOrder.getLong(leaf, VERSION_OFFSET);
    }

    public static long lowFence(byte[] leaf) {
        return WordOrder.getLong(leaf, LOW_FENCE_OFFSET);
    }

    public static long highFence(byte[] leaf) {
        return WordOrder.getLong(leaf, HIGH_FENCE_OFFSET);
    }

    public static long nextLeaf(byte[] leaf) {
        return WordOrder.getLong(leaf, NEXT_LEAF_OFFSET);
    }

    public static long epoch(byte[] leaf) {
        return WordOrder.getLong(leaf, EPOCH_OFFSET);
    }

    /** Keys held, unchecked (see {@code Leaf.checkedCount}). */
    public static int count(byte[] leaf) {
        return (int) (WordOrder.getLong(leaf, COUNT_OFFSET) & 0xFFFF);
    }

    public static int capacity(byte[] leaf) {
        return (int) (WordOrder.getLong(leaf, COUNT_OFFSET) >>> 16 & 0xFFFF);
    }

    public static int checksum(byte[] leaf) {
        return (int) (WordOrder.getLong(leaf, COUNT_OFFSET) >>> 32);
    }

    /**
     * Writes the word at {@link #COUNT_OFFSET}: count, capacity and checksum share one aligned 8-byte word, so a write
     * that changes the count and the checksum changes them at once.
     */
    public static void putCountWord(byte[] leaf, int count, int capacity, int checksum) {
        WordOrder.putLong(leaf, COUNT_OFFSET, (count & 0xFFFFL) | (capacity & 0xFFFFL) << 16 | (long) checksum << 32);
    }

    public static long key(byte[] leaf, int index) {
        return WordOrder.getLong(leaf, keyOffset(index));
    }

    public static long value(byte[] leaf, int capacity, int index) {
        return WordOrder.getLong(leaf, valueOffset(capacity, index));
    }

    public static int keyOffset(int index) {
        return KEYS_OFFSET + 8 * index;
    }

    public static int valueOffset(int capacity, int index) {
        return KEYS_OFFSET + 8 * capacity + 8 * index;
    }

    public static void checkCapacity(int capacity) {
        if (capacity < MIN_CAPACITY || capacity > MAX_CAPACITY) {
            throw new IllegalArgumentException("leaf_capacity=" + capacity + " allowed=[" + MIN_CAPACITY + "," + MAX_CAPACITY + "]");
        }
    }
}
