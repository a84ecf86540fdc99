package io.rolexkv.rolex.index;

import io.rolexkv.rolex.layout.TablesDescriptor;

/**
 * One model of a lean index: a line predicting a key's rank among the model's base keys, its error bound, and its
 * block in the tables region: {@code groupCount} group words, the SLT, then {@code keyCount} base entries of 16 bytes
 * (key, value), keys strictly increasing and never changed while the model lives. Group {@code g} is the base ranks
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

    long groupWordsOffset() {
        return blockOffset;
    }

    long synonymTableOffset() {
        return blockOffset + 8L * groupCount;
    }

    long baseOffset() {
        return synonymTableOffset() + TablesDescriptor.SYNONYM_TABLE_BYTES;
    }

    long baseEntryOffset(int rank) {
        return baseOffset() + (long) BASE_ENTRY_BYTES * rank;
    }

    /** Bytes of this model's block: group words, SLT, base. */
    long blockBytes() {
        return 8L * groupCount + TablesDescriptor.SYNONYM_TABLE_BYTES + (long) BASE_ENTRY_BYTES * keyCount;
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
