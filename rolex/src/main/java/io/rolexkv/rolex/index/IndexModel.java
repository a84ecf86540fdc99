package io.rolexkv.rolex.index;

import io.rolexkv.common.fabric.WordOrder;
import io.rolexkv.rolex.layout.ModelRecordDescriptor;

import java.lang.foreign.MemorySegment;

/**
 * One model of the index as cached on a compute node (decoded {@link ModelRecordDescriptor}): a line predicting a
 * key's rank at training time, the measured error of that line, and where its leaf tables live.
 *
 * <p>Why a lookup finds its leaf: leaf {@code i} of the model owns the keys from the key at rank
 * {@code i * keysPerLeaf} up to the next leaf's first key. A key {@code k} not in the training set lies between training
 * keys at ranks {@code r} and {@code r + 1}; the line is monotone, so its prediction for {@code k} lies within
 * {@code maxError} of one of them, and a range of {@code maxError + 1} around the prediction holds both ranks, hence
 * the leaf that owns {@code k}. Keys outside the training range clamp to the first or last rank. So
 * {@link #candidateLeaves} always includes the leaf whose fences hold the key.
 *
 * <p>A retrained model's leaves hold varying numbers of keys; its leaf rank directory (each leaf's first rank) maps
 * ranks to leaves instead of {@code keysPerLeaf}. A leaf that held no key at training owns keys between two training
 * keys at ranks {@code r} and {@code r + 1} and has first rank {@code r + 1}; the range above holds {@code r + 1}, and
 * the last leaf whose first rank is at most the range's top is at or after that leaf, so it is still a candidate.
 * Ends clamp to the first and last leaf, so leaves before the first key or after the last one are candidates too.
 * The range is symmetric about the prediction, so its middle leaf is the one the line points at.
 */
public record IndexModel(long lowKey, long anchorKey, double slope, double intercept, long keyCount, long ltOffset,
                         int leafCount, int keysPerLeaf, int maxError, long sltOffset, long directoryOffset) {

    public IndexModel {
        if (keyCount < 0 || leafCount < 1 || keysPerLeaf < 1 || maxError < 0 || !(slope >= 0) || Double.isNaN(intercept)) {
            throw new IllegalArgumentException("bad model: keyCount=" + keyCount + " leafCount=" + leafCount
                    + " keysPerLeaf=" + keysPerLeaf + " maxError=" + maxError + " slope=" + slope + " intercept=" + intercept);
        }
    }

    /** The line's predicted rank for {@code key}, not clamped. */
    public double predictRank(long key) {
        return intercept + slope * signedDistance(anchorKey, key);
    }

    /** {@code key - anchor} in unsigned key space, as a double (negative below the anchor). */
    static double signedDistance(long anchor, long key) {
        if (Long.compareUnsigned(key, anchor) >= 0) {
            return unsignedToDouble(key - anchor);
        }
        return -unsignedToDouble(anchor - key);
    }

    static double unsignedToDouble(long value) {
        double high = (double) (value >>> 1) * 2.0;
        return high + (value & 1);
    }

    public boolean hasDirectory() {
        return directoryOffset != ModelRecordDescriptor.NO_DIRECTORY;
    }

    /**
     * The leaves that may hold {@code key}, from one prediction: the first in the high 32 bits, the last in the low
     * 32 bits (read them with {@link #firstOf} and {@link #lastOf}). Packed into a long so that the lookup hot path
     * allocates nothing. The one place that turns a prediction into a candidate range.
     *
     * @param leafFirstRanks the model's leaf rank directory, or {@code null} if it has none
     */
    public long candidateLeaves(long key, int[] leafFirstRanks) {
        double predicted = predictRank(key);
        double lowRank = Math.floor(predicted) - maxError - 1;
        int first;
        if (lowRank <= 0) {
            first = 0;
        } else {
            long low = (long) Math.min(lowRank, (double) Math.max(0, keyCount - 1));
            first = leafOfRank(low, leafFirstRanks);
        }
        double highRank = Math.ceil(predicted) + maxError + 1;
        int last = highRank >= keyCount - 1 ? leafCount - 1 : leafOfRank((long) Math.max(0, highRank), leafFirstRanks);
        return (long) first << 32 | last;
    }

    /** The first leaf of a {@link #candidateLeaves} range. */
    public static int firstOf(long candidateLeaves) {
        return (int) (candidateLeaves >>> 32);
    }

    /** The last leaf of a {@link #candidateLeaves} range. */
    public static int lastOf(long candidateLeaves) {
        return (int) candidateLeaves;
    }

    private int leafOfRank(long rank, int[] leafFirstRanks) {
        return leafFirstRanks == null ? (int) Math.min(leafCount - 1, rank / keysPerLeaf) : lastLeafStartingAtOrBefore(leafFirstRanks, rank);
    }

    private static int lastLeafStartingAtOrBefore(int[] leafFirstRanks, long rank) {
        int low = 0;
        int high = leafFirstRanks.length - 1;
        while (low < high) {
            int middle = (low + high + 1) >>> 1;
            if (Integer.toUnsignedLong(leafFirstRanks[middle]) <= rank) {
                low = middle;
            } else {
                high = middle - 1;
            }
        }
        return low;
    }

    /** Absolute error of the prediction for a key whose true rank is {@code rank}. */
    public double error(long key, long rank) {
        return Math.abs(predictRank(key) - rank);
    }

    public void encode(MemorySegment target, long offset) {
        WordOrder.putLong(target, offset + ModelRecordDescriptor.LOW_KEY_OFFSET, lowKey);
        WordOrder.putLong(target, offset + ModelRecordDescriptor.ANCHOR_KEY_OFFSET, anchorKey);
        WordOrder.putLong(target, offset + ModelRecordDescriptor.SLOPE_OFFSET, Double.doubleToRawLongBits(slope));
        WordOrder.putLong(target, offset + ModelRecordDescriptor.INTERCEPT_OFFSET, Double.doubleToRawLongBits(intercept));
        WordOrder.putLong(target, offset + ModelRecordDescriptor.KEY_COUNT_OFFSET, keyCount);
        WordOrder.putLong(target, offset + ModelRecordDescriptor.LT_OFFSET_OFFSET, ltOffset);
        target.set(WordOrder.INT_UNALIGNED, offset + ModelRecordDescriptor.LEAF_COUNT_OFFSET, leafCount);
        target.set(WordOrder.INT_UNALIGNED, offset + ModelRecordDescriptor.KEYS_PER_LEAF_OFFSET, keysPerLeaf);
        target.set(WordOrder.INT_UNALIGNED, offset + ModelRecordDescriptor.MAX_ERROR_OFFSET, maxError);
        WordOrder.putLong(target, offset + ModelRecordDescriptor.SLT_OFFSET_OFFSET, sltOffset);
        WordOrder.putLong(target, offset + ModelRecordDescriptor.DIRECTORY_OFFSET_OFFSET, directoryOffset);
    }

    public static IndexModel decode(MemorySegment source, long offset) {
        return new IndexModel(
                WordOrder.getLong(source, offset + ModelRecordDescriptor.LOW_KEY_OFFSET),
                WordOrder.getLong(source, offset + ModelRecordDescriptor.ANCHOR_KEY_OFFSET),
                Double.longBitsToDouble(WordOrder.getLong(source, offset + ModelRecordDescriptor.SLOPE_OFFSET)),
                Double.longBitsToDouble(WordOrder.getLong(source, offset + ModelRecordDescriptor.INTERCEPT_OFFSET)),
                WordOrder.getLong(source, offset + ModelRecordDescriptor.KEY_COUNT_OFFSET),
                WordOrder.getLong(source, offset + ModelRecordDescriptor.LT_OFFSET_OFFSET),
                source.get(WordOrder.INT_UNALIGNED, offset + ModelRecordDescriptor.LEAF_COUNT_OFFSET),
                source.get(WordOrder.INT_UNALIGNED, offset + ModelRecordDescriptor.KEYS_PER_LEAF_OFFSET),
                source.get(WordOrder.INT_UNALIGNED, offset + ModelRecordDescriptor.MAX_ERROR_OFFSET),
                WordOrder.getLong(source, offset + ModelRecordDescriptor.SLT_OFFSET_OFFSET),
                WordOrder.getLong(source, offset + ModelRecordDescriptor.DIRECTORY_OFFSET_OFFSET));
    }
}
