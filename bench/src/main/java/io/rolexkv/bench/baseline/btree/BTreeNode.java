package io.rolexkv.bench.baseline.btree;

import io.rolexkv.common.fabric.CorruptDataException;
import io.rolexkv.common.fabric.WordOrder;

import java.lang.foreign.MemorySegment;
import java.util.Arrays;
import java.util.Objects;

import static io.rolexkv.bench.baseline.btree.BTreeNodeDescriptor.ENTRY_BYTES;
import static io.rolexkv.bench.baseline.btree.BTreeNodeDescriptor.ENTRY_CHECK_OFFSET;
import static io.rolexkv.bench.baseline.btree.BTreeNodeDescriptor.ENTRY_KEY_OFFSET;
import static io.rolexkv.bench.baseline.btree.BTreeNodeDescriptor.ENTRY_VALUE_OFFSET;
import static io.rolexkv.bench.baseline.btree.BTreeNodeDescriptor.HEADER_SLOT;

/**
 * A B+tree node decoded on a compute node: what a READ returned, checked for tearing, or new contents about to be
 * written. Mutable and single-threaded; the layout and the torn-read rules are {@link BTreeNodeDescriptor}'s.
 *
 * <p>A leaf's entries sit in any slots (a slot is used or free); an internal node's entries are the sorted prefix
 * {@code [0, count)} of its slots. Keys are unsigned 64-bit values.
 */
final class BTreeNode {
    private static final long MAX_KEY = -1L;

    private final int capacity;
    private final int level;
    private final long[] keys;
    private final long[] values;
    private final boolean[] used;
    private long lowFence;
    private long highFence;
    private long sibling;
    private int version;
    private int count;

    private BTreeNode(int capacity, int level, long lowFence, long highFence, long sibling, int version) {
        if (capacity < BTreeNodeDescriptor.MIN_CAPACITY) {
            throw new IllegalArgumentException("capacity=" + capacity + " must be >= " + BTreeNodeDescriptor.MIN_CAPACITY);
        }
        this.capacity = capacity;
        this.level = level;
        this.keys = new long[capacity];
        this.values = new long[capacity];
        this.used = new boolean[capacity];
        this.lowFence = lowFence;
        this.highFence = highFence;
        this.sibling = sibling;
        this.version = version & BTreeNodeDescriptor.VERSION_MASK;
    }

    /** An empty leaf owning {@code [lowFence, highFence]}. */
    static BTreeNode leaf(int capacity, long lowFence, long highFence, long sibling, int version) {
        return new BTreeNode(capacity, 0, lowFence, highFence, sibling, version);
    }

    /** An internal node at {@code level} (at least 1) owning {@code [lowFence, highFence]}, with no entries yet. */
    static BTreeNode internal(int capacity, int level, long lowFence, long highFence, long sibling, int version) {
        if (level < 1 || level > BTreeRegionDescriptor.MAX_LEVEL) {
            throw new IllegalArgumentException("internal level=" + level + " allowed=[1," + BTreeRegionDescriptor.MAX_LEVEL + "]");
        }
        return new BTreeNode(capacity, level, lowFence, highFence, sibling, version);
    }

    // ------------------------------------------------------------------ codec

    /**
     * Decodes the bytes a READ of node {@code node} returned, or returns {@code null} if they are not one consistent
     * state of the node (a read torn by a concurrent write, or a node never written): the caller reads again. Bytes
     * that are consistent but break the layout's rules are corruption and throw.
     */
    static BTreeNode decodeOrNull(MemorySegment bytes, long node, int capacity) {
        int nodeBytes = BTreeNodeDescriptor.HEADER_BYTES + capacity * ENTRY_BYTES;
        if (bytes.byteSize() < nodeBytes) {
            throw new IllegalArgumentException("node bytes=" + bytes.byteSize() + " expected at least " + nodeBytes);
        }
        long low = WordOrder.getLong(bytes, BTreeNodeDescriptor.LOW_FENCE_OFFSET);
        long high = WordOrder.getLong(bytes, BTreeNodeDescriptor.HIGH_FENCE_OFFSET);
        long sibling = WordOrder.getLong(bytes, BTreeNodeDescriptor.SIBLING_OFFSET);
        long levelWord = WordOrder.getLong(bytes, BTreeNodeDescriptor.LEVEL_OFFSET);
        long headerCheck = WordOrder.getLong(bytes, BTreeNodeDescriptor.HEADER_CHECK_OFFSET);
        if (!BTreeNodeDescriptor.used(headerCheck)
                || !BTreeNodeDescriptor.checks(headerCheck, node, HEADER_SLOT, low, high, sibling, levelWord)) {
            return null;
        }
        int version = BTreeNodeDescriptor.version(headerCheck);
        for (int slot = 0; slot < capacity; slot++) {
            int offset = BTreeNodeDescriptor.entryOffset(slot);
            long check = WordOrder.getLong(bytes, offset + ENTRY_CHECK_OFFSET);
            if (BTreeNodeDescriptor.version(check) != version) {
                return null;
            }
        }
        if (levelWord < 0 || levelWord > BTreeRegionDescriptor.MAX_LEVEL) {
            throw corrupt(node, "level word=" + levelWord);
        }
        BTreeNode decoded = new BTreeNode(capacity, (int) levelWord, low, high, sibling, version);
        for (int slot = 0; slot < capacity; slot++) {
            int offset = BTreeNodeDescriptor.entryOffset(slot);
            long key = WordOrder.getLong(bytes, offset + ENTRY_KEY_OFFSET);
            long value = WordOrder.getLong(bytes, offset + ENTRY_VALUE_OFFSET);
            long check = WordOrder.getLong(bytes, offset + ENTRY_CHECK_OFFSET);
            if (!BTreeNodeDescriptor.checks(check, node, slot, key, value, 0, 0)) {
                return null;
            }
            if (BTreeNodeDescriptor.used(check)) {
                decoded.keys[slot] = key;
                decoded.values[slot] = value;
                decoded.used[slot] = true;
                decoded.count++;
            }
        }
        decoded.checkStructure(node);
        return decoded;
    }

    /** The whole node as one WRITE would place it, with the lock word free. */
    byte[] encode(long node) {
        byte[] data = new byte[BTreeNodeDescriptor.HEADER_BYTES + capacity * ENTRY_BYTES];
        long levelWord = level;
        WordOrder.putLong(data, BTreeNodeDescriptor.LOCK_OFFSET, 0);
        WordOrder.putLong(data, BTreeNodeDescriptor.LOW_FENCE_OFFSET, lowFence);
        WordOrder.putLong(data, BTreeNodeDescriptor.HIGH_FENCE_OFFSET, highFence);
        WordOrder.putLong(data, BTreeNodeDescriptor.SIBLING_OFFSET, sibling);
        WordOrder.putLong(data, BTreeNodeDescriptor.LEVEL_OFFSET, levelWord);
        WordOrder.putLong(data, BTreeNodeDescriptor.HEADER_CHECK_OFFSET, BTreeNodeDescriptor.checkWord(true, version, node,
                HEADER_SLOT, lowFence, highFence, sibling, levelWord));
        for (int slot = 0; slot < capacity; slot++) {
            putEntry(data, BTreeNodeDescriptor.entryOffset(slot), node, slot);
        }
        return data;
    }

    /** Entry {@code slot} as an in-place WRITE at {@link BTreeNodeDescriptor#entryOffset} would place it. */
    byte[] encodeEntry(long node, int slot) {
        Objects.checkIndex(slot, capacity);
        byte[] data = new byte[ENTRY_BYTES];
        putEntry(data, 0, node, slot);
        return data;
    }

    private void putEntry(byte[] data, int offset, long node, int slot) {
        long key = used[slot] ? keys[slot] : 0;
        long value = used[slot] ? values[slot] : 0;
        WordOrder.putLong(data, offset + ENTRY_KEY_OFFSET, key);
        WordOrder.putLong(data, offset + ENTRY_VALUE_OFFSET, value);
        WordOrder.putLong(data, offset + ENTRY_CHECK_OFFSET,
                BTreeNodeDescriptor.checkWord(used[slot], version, node, slot, key, value, 0, 0));
    }

    private void checkStructure(long node) {
        if (Long.compareUnsigned(lowFence, highFence) > 0) {
            throw corrupt(node, "fences [" + Long.toUnsignedString(lowFence) + "," + Long.toUnsignedString(highFence) + "]");
        }
        if ((highFence == MAX_KEY) != (sibling == 0)) {
            throw corrupt(node, "highFence=" + Long.toUnsignedString(highFence) + " with sibling=" + sibling
                    + ": only the rightmost node of a level owns the top key, and only it has no sibling");
        }
        for (int slot = 0; slot < capacity; slot++) {
            if (used[slot] && !covers(keys[slot])) {
                throw corrupt(node, "key=" + Long.toUnsignedString(keys[slot]) + " in slot=" + slot + " outside fences");
            }
        }
        if (level > 0) {
            if (count < 1 || keys[0] != lowFence) {
                throw corrupt(node, "internal node's first entry must route its low fence, count=" + count);
            }
            for (int slot = 0; slot < capacity; slot++) {
                if (used[slot] != slot < count) {
                    throw corrupt(node, "internal entries are not a prefix at slot=" + slot);
                }
                if (slot < count && (values[slot] <= 0
                        || slot > 0 && Long.compareUnsigned(keys[slot - 1], keys[slot]) >= 0)) {
                    throw corrupt(node, "internal entry slot=" + slot + " unsorted or without a child");
                }
            }
        }
    }

    private static CorruptDataException corrupt(long node, String detail) {
        return new CorruptDataException("corrupt btree node=" + node + ": " + detail);
    }

    // ------------------------------------------------------------------ shape

    int capacity() {
        return capacity;
    }

    int level() {
        return level;
    }

    boolean isLeaf() {
        return level == 0;
    }

    long lowFence() {
        return lowFence;
    }

    long highFence() {
        return highFence;
    }

    long sibling() {
        return sibling;
    }

    int version() {
        return version;
    }

    /** Marks a whole-node rewrite: every unit gets the new version, so a read mixing old and new is caught. */
    void bumpVersion() {
        version = (version + 1) & BTreeNodeDescriptor.VERSION_MASK;
    }

    boolean covers(long key) {
        return Long.compareUnsigned(key, lowFence) >= 0 && Long.compareUnsigned(key, highFence) <= 0;
    }

    /** Only a node that never split owns every key, and only the root can have never split. */
    boolean coversWholeKeySpace() {
        return lowFence == 0 && highFence == MAX_KEY;
    }

    /** Used slots (a leaf) or entries (an internal node). */
    int count() {
        return count;
    }

    boolean isFull() {
        return count == capacity;
    }

    boolean used(int slot) {
        return used[slot];
    }

    long key(int slot) {
        checkUsed(slot);
        return keys[slot];
    }

    long value(int slot) {
        checkUsed(slot);
        return values[slot];
    }

    private void checkUsed(int slot) {
        Objects.checkIndex(slot, capacity);
        if (!used[slot]) {
            throw new IllegalArgumentException("slot=" + slot + " is free");
        }
    }

    // ------------------------------------------------------------------ leaf entries

    /** The slot holding {@code key}, or -1. */
    int findSlot(long key) {
        if (level > 0) {
            int index = Arrays.binarySearch(flipped(), key ^ Long.MIN_VALUE);
            return index >= 0 ? index : -1;
        }
        for (int slot = 0; slot < capacity; slot++) {
            if (used[slot] && keys[slot] == key) {
                return slot;
            }
        }
        return -1;
    }

    /** A free slot of this leaf, or -1 when it is full. */
    int freeSlot() {
        for (int slot = 0; slot < capacity; slot++) {
            if (!used[slot]) {
                return slot;
            }
        }
        return -1;
    }

    /** Puts {@code key -> value} into leaf slot {@code slot}; the leaf must own the key. */
    void setEntry(int slot, long key, long value) {
        Objects.checkIndex(slot, capacity);
        if (level > 0) {
            throw new IllegalStateException("setEntry on an internal node");
        }
        checkCovers(key);
        if (!used[slot]) {
            used[slot] = true;
            count++;
        }
        keys[slot] = key;
        values[slot] = value;
    }

    void clearEntry(int slot) {
        checkUsed(slot);
        used[slot] = false;
        keys[slot] = 0;
        values[slot] = 0;
        count--;
    }

    private void checkCovers(long key) {
        if (!covers(key)) {
            throw new IllegalArgumentException("key=" + Long.toUnsignedString(key) + " outside node fences ["
                    + Long.toUnsignedString(lowFence) + "," + Long.toUnsignedString(highFence) + "]");
        }
    }

    // ------------------------------------------------------------------ internal entries

    /** The child that routes {@code key}: the last entry whose key is at most {@code key}. */
    long childFor(long key) {
        return values[indexFor(key)];
    }

    /** Index of the last entry whose key is at most {@code key} (the key must be at least the low fence). */
    int indexFor(long key) {
        int index = Arrays.binarySearch(flipped(), key ^ Long.MIN_VALUE);
        return index >= 0 ? index : -index - 2;
    }

    private long[] flipped() {
        long[] flipped = new long[count];
        for (int i = 0; i < count; i++) {
            flipped[i] = keys[i] ^ Long.MIN_VALUE;
        }
        return flipped;
    }

    /** Adds {@code separator -> child} to this internal node in key order; there must be room and no such key. */
    void insertSeparator(long separator, long child) {
        if (level == 0) {
            throw new IllegalStateException("insertSeparator on a leaf");
        }
        checkCovers(separator);
        if (isFull()) {
            throw new IllegalStateException("internal node full: capacity=" + capacity);
        }
        int position = count == 0 ? 0 : indexFor(separator) + 1;
        if (position > 0 && keys[position - 1] == separator) {
            throw new IllegalStateException("separator=" + Long.toUnsignedString(separator) + " already routed");
        }
        System.arraycopy(keys, position, keys, position + 1, count - position);
        System.arraycopy(values, position, values, position + 1, count - position);
        keys[position] = separator;
        values[position] = child;
        used[count] = true;
        count++;
    }

    // ------------------------------------------------------------------ split

    /**
     * The two halves of a full node and the key that separates them: {@code left} keeps this node's number, low fence
     * and the lower half, {@code right} is a new node owning {@code [separator, old highFence]}.
     */
    record Split(BTreeNode left, BTreeNode right, long separator) {
    }

    /**
     * Splits this full node together with one more entry ({@code key -> value}: a new leaf key, or a separator and its
     * child) into two halves. The left half links to {@code rightNode}, which links to this node's old sibling. Both
     * halves carry the next version, so a reader that mixes the old and the new left node sees two versions. This node
     * is left unchanged.
     */
    Split splitWith(long key, long value, long rightNode) {
        checkCovers(key);
        int total = count + 1;
        long[] allKeys = new long[total];
        long[] allValues = new long[total];
        int next = 0;
        for (int slot = 0; slot < capacity; slot++) {
            if (used[slot]) {
                if (keys[slot] == key) {
                    throw new IllegalStateException("split with key=" + Long.toUnsignedString(key) + " already present");
                }
                allKeys[next] = keys[slot];
                allValues[next] = values[slot];
                next++;
            }
        }
        allKeys[next] = key;
        allValues[next] = value;
        sortUnsigned(allKeys, allValues);
        int leftCount = total / 2;
        long separator = allKeys[leftCount];
        int nextVersion = (version + 1) & BTreeNodeDescriptor.VERSION_MASK;
        BTreeNode left = new BTreeNode(capacity, level, lowFence, separator - 1, rightNode, nextVersion);
        BTreeNode right = new BTreeNode(capacity, level, separator, highFence, sibling, nextVersion);
        for (int i = 0; i < total; i++) {
            BTreeNode half = i < leftCount ? left : right;
            int slot = half.count++;
            half.keys[slot] = allKeys[i];
            half.values[slot] = allValues[i];
            half.used[slot] = true;
        }
        return new Split(left, right, separator);
    }

    /** Sorts {@code keys} (unsigned) carrying {@code values} along; splits are rare, a simple insertion sort does. */
    private static void sortUnsigned(long[] keys, long[] values) {
        for (int i = 1; i < keys.length; i++) {
            long key = keys[i];
            long value = values[i];
            int j = i - 1;
            while (j >= 0 && Long.compareUnsigned(keys[j], key) > 0) {
                keys[j + 1] = keys[j];
                values[j + 1] = values[j];
                j--;
            }
            keys[j + 1] = key;
            values[j + 1] = value;
        }
    }

    /** The used entries' keys in unsigned order with their values: {@code [keys, values]}. */
    long[][] sortedEntries() {
        long[] sortedKeys = new long[count];
        long[] sortedValues = new long[count];
        int next = 0;
        for (int slot = 0; slot < capacity; slot++) {
            if (used[slot]) {
                sortedKeys[next] = keys[slot];
                sortedValues[next] = values[slot];
                next++;
            }
        }
        sortUnsigned(sortedKeys, sortedValues);
        return new long[][] {sortedKeys, sortedValues};
    }

    @Override
    public String toString() {
        return "BTreeNode[level=" + level + " version=" + version + " fences=[" + Long.toUnsignedString(lowFence) + ","
                + Long.toUnsignedString(highFence) + "] sibling=" + sibling + " count=" + count + "/" + capacity + "]";
    }
}
