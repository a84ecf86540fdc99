package io.rolexkv.rolex.index;

import io.rolexkv.rolex.layout.TablesDescriptor;

/**
 * One model of a lean index: a line predicting a key's rank among the model's base keys, its error bound, and its
 * block in the tables region: {@code groupCount} group heads of 16 bytes (a {@link io.rolexkv.rolex.layout.GroupWord}
 * and the reference of the group's first delta leaf), the SLT (slot 0 counts the model's delta leaves, slot i names
 * one), then {@code keyCount} base entries of 16 bytes (key, value), keys strictly increasing and never changed while
 * the model lives. Keys inserted since the base was built live in the groups' delta leaves ({@link
 * io.rolexkv.rolex.leaf.Leaf}s chained in key order). Group {@code g} is the base ranks
 * {@code [g * groupSize, (g + 1) * groupSize)}; it owns the keys from its first base key (the model's low key for
 * group 0) up to the next group's first base key.
 *
 * <p>Why a lookup's window holds what it needs: the line is monotone and every base key's rank lies within
 * {@code maxError} of its prediction {@code p}, so a base key equal to the looked-up key has a rank in
 * {@code [floor(p) - maxError, ceil(p) + maxError]}, and for a key not in the base, the rank of the largest base key
 * below it (which names the owning group) is at least {@code floor(p) - maxError - 1}. {@link #window} is that range.
 */
record LeanModel(long lowKey, long anchorKey, double slope, double intercept, int keyCount, long blockOffset,
                 int groupCount, int groupSize, int maxError) {
    static final int BASE_ENTRY_BYTES = 16;

    LeanModel {
        if (keyCount < 1 || groupSize < 1 || groupCount != (keyCount + groupSize - 1) / groupSize || maxError < 0
                || !(slope >= 0)) {
            throw new IllegalArgumentException("bad lean model: keyCount=" + keyCount + " groupSize=" + groupSize
                    + " groupCount=" + groupCount + " maxError=" + maxError + " slope=" + slope);
        }
    }

    double predictRank(long key) {
        return intercept + slope * IndexModel.signedDistance(anchorKey, key);
    }

    /** The base ranks a lookup of {@code key} reads, first in the high 32 bits, last in the low 32. */
    long window(long key) {
        double predicted = predictRank(key);
        double low = Math.floor(predicted) - maxError - 1;
        double high = Math.ceil(predicted) + maxError;
        int first = low <= 0 ? 0 : (int) Math.min(low, keyCount - 1);
        int last = high >= keyCount - 1 ? keyCount - 1 : (int) Math.max(0, high);
        return (long) first << 32 | last;
    }

    static int firstOf(long window) {
        return (int) (window >>> 32);
    }

    static int lastOf(long window) {
        return (int) window;
    }

    /**
     * Whether this is a model of one-fence groups laid down exactly (an empty index's fences, a room for appends),
     * whose entries all start deleted; a compacted model has the configured group size.
     */
    boolean startsDeleted() {
        return groupSize == 1 && maxError == 0;
    }

    /** Bytes of one group's head: its {@link io.rolexkv.rolex.layout.GroupWord} and its first delta leaf's reference. */
    static final int GROUP_HEAD_BYTES = 16;

    /** Offset of group {@code group}'s head (its GroupWord; the delta head reference follows). */
    long groupOffset(int group) {
        return blockOffset + (long) GROUP_HEAD_BYTES * group;
    }

    long synonymTableOffset() {
        return blockOffset + (long) GROUP_HEAD_BYTES * groupCount;
    }

    long baseOffset() {
        return synonymTableOffset() + TablesDescriptor.SYNONYM_TABLE_BYTES;
    }

    long baseEntryOffset(int rank) {
        return baseOffset() + (long) BASE_ENTRY_BYTES * rank;
    }

    /** Bytes of this model's block: group words, SLT, base. */
    long blockBytes() {
        return blockBytes(groupCount, keyCount);
    }

    static long blockBytes(int groupCount, int keyCount) {
        return (long) GROUP_HEAD_BYTES * groupCount + TablesDescriptor.SYNONYM_TABLE_BYTES + (long) BASE_ENTRY_BYTES * keyCount;
    }

    /** The record as stored in a model set (the block's parts where an {@link IndexModel} keeps its tables). */
    IndexModel record() {
        return new IndexModel(lowKey, anchorKey, slope, intercept, keyCount, blockOffset, groupCount, groupSize, maxError,
                synonymTableOffset(), baseOffset());
    }

    static LeanModel of(IndexModel record) {
        return new LeanModel(record.lowKey(), record.anchorKey(), record.slope(), record.intercept(),
                Math.toIntExact(record.keyCount()), record.ltOffset(), record.leafCount(), record.keysPerLeaf(),
                record.maxError());
    }
}
