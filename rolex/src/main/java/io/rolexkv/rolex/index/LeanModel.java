package io.rolexkv.rolex.index;

import io.rolexkv.common.fabric.WordOrder;
import io.rolexkv.rolex.layout.GroupWord;
import io.rolexkv.rolex.layout.ModelRecordDescriptor;
import io.rolexkv.rolex.layout.TablesDescriptor;

import java.lang.foreign.MemorySegment;

/**
 * One model of the index, as stored in a model set ({@link ModelRecordDescriptor}) and cached by compute nodes: a line
 * predicting a key's rank among the model's base keys, its error bound, and its block in the tables region
 * ({@link TablesDescriptor}: group heads, SLT, then {@code keyCount} base entries of (key, value), keys strictly
 * increasing and never changed while the model lives). Keys inserted since the base was built live in the groups'
 * delta leaves ({@link io.rolexkv.rolex.leaf.Leaf}s chained in key order). Group {@code g} is the base ranks
 * {@code [g * groupSize, (g + 1) * groupSize)}; it owns the keys from its first base key (the model's low key for
 * group 0) up to the next group's first base key.
 *
 * <p>Why a lookup's window holds what it needs: the line is monotone and every base key's rank lies within
 * {@code maxError} of its prediction {@code p}, so a base key equal to the looked-up key has a rank in
 * {@code [floor(p) - maxError, ceil(p) + maxError]}, and for a key not in the base, the rank of the largest base key
 * below it (which names the owning group) is at least {@code floor(p) - maxError - 1}. {@link #window} is that range,
 * and {@link #groupOfRank} turns a rank of it into the group that owns it: the one place that maps a key to the base
 * entries and groups it may touch.
 */
public record LeanModel(long lowKey, long anchorKey, double slope, double intercept, int keyCount, long blockOffset,
                        int groupSize, int maxError) {

    public LeanModel {
        if (keyCount < 1 || groupSize < 1 || groupSize > GroupWord.MAX_GROUP_SIZE || maxError < 0
                || maxError > ModelRecordDescriptor.MAX_ERROR || blockOffset < 0 || !(slope >= 0)
                || Double.isNaN(intercept)) {
            throw new IllegalArgumentException("bad model: keyCount=" + keyCount + " groupSize=" + groupSize
                    + " allowed=[1," + GroupWord.MAX_GROUP_SIZE + "] maxError=" + maxError + " allowed=[0,"
                    + ModelRecordDescriptor.MAX_ERROR + "] blockOffset=" + blockOffset + " slope=" + slope
                    + " intercept=" + intercept);
        }
    }

    /** The line's predicted rank for {@code key}, not clamped. */
    public double predictRank(long key) {
        return intercept + slope * signedDistance(anchorKey, key);
    }

    /** Absolute error of the prediction for a key whose true rank is {@code rank}. */
    public double error(long key, long rank) {
        return Math.abs(predictRank(key) - rank);
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

    /**
     * The base ranks a lookup of {@code key} reads, first in the high 32 bits, last in the low 32 (read them with
     * {@link #firstOf} and {@link #lastOf}); packed so that the lookup path allocates nothing.
     */
    public long window(long key) {
        double predicted = predictRank(key);
        double low = Math.floor(predicted) - maxError - 1;
        double high = Math.ceil(predicted) + maxError;
        int first = low <= 0 ? 0 : (int) Math.min(low, keyCount - 1);
        int last = high >= keyCount - 1 ? keyCount - 1 : (int) Math.max(0, high);
        return (long) first << 32 | last;
    }

    public static int firstOf(long window) {
        return (int) (window >>> 32);
    }

    public static int lastOf(long window) {
        return (int) window;
    }

    /**
     * The group that holds base rank {@code rank}, or that owns a key whose largest base key below it has that rank;
     * rank -1 (a key below every base key) belongs to group 0, which owns from the model's low key.
     */
    public int groupOfRank(int rank) {
        return Math.max(0, rank) / groupSize;
    }

    /**
     * On an exact model ({@code maxError == 0}), the group that owns {@code key}: that of the largest base key at or
     * below it, found by the prediction rounded down, not to nearest (a key in the upper half between two fences
     * belongs to the lower one), with the bound's tolerance so that a key on a fence is not put below it by rounding.
     * A guess: a key within the tolerance below a fence is guessed one too high, and a writer then locks the right
     * group as well.
     */
    int ownerGroupOnExactModel(long key) {
        double rank = Math.floor(predictRank(key) + LeanIndex.MAX_ERROR_TOLERANCE);
        return groupOfRank((int) Math.max(0, Math.min(keyCount - 1, rank)));
    }

    /** The first base rank of group {@code group}. */
    public int groupFirstRank(int group) {
        return group * groupSize;
    }

    /** One past the last base rank of group {@code group}. */
    public int groupEndRank(int group) {
        return Math.min(keyCount, (group + 1) * groupSize);
    }

    /**
     * Whether this is a model of one-fence groups laid down exactly (an empty index's fences, a room for appends),
     * whose entries all start deleted; a compacted model has the configured group size.
     */
    boolean startsDeleted() {
        return groupSize == 1 && maxError == 0;
    }

    public int groupCount() {
        return TablesDescriptor.groupCount(keyCount, groupSize);
    }

    /** Offset of group {@code group}'s head (its GroupWord; the delta head reference follows). */
    public long groupOffset(int group) {
        return TablesDescriptor.groupHeadOffset(blockOffset, group);
    }

    public long synonymTableOffset() {
        return TablesDescriptor.synonymTableOffset(blockOffset, groupCount());
    }

    public long baseOffset() {
        return baseEntryOffset(0);
    }

    public long baseEntryOffset(int rank) {
        return TablesDescriptor.baseEntryOffset(blockOffset, groupCount(), rank);
    }

    /** Bytes of this model's block: group heads, SLT, base. */
    public long blockBytes() {
        return TablesDescriptor.blockBytes(groupCount(), keyCount);
    }

    public void encode(MemorySegment target, long offset) {
        WordOrder.putLong(target, offset + ModelRecordDescriptor.LOW_KEY_OFFSET, lowKey);
        WordOrder.putLong(target, offset + ModelRecordDescriptor.ANCHOR_KEY_OFFSET, anchorKey);
        WordOrder.putLong(target, offset + ModelRecordDescriptor.SLOPE_OFFSET, Double.doubleToRawLongBits(slope));
        WordOrder.putLong(target, offset + ModelRecordDescriptor.INTERCEPT_OFFSET, Double.doubleToRawLongBits(intercept));
        WordOrder.putLong(target, offset + ModelRecordDescriptor.BLOCK_OFFSET_OFFSET, blockOffset);
        target.set(WordOrder.INT_UNALIGNED, offset + ModelRecordDescriptor.KEY_COUNT_OFFSET, keyCount);
        target.set(WordOrder.INT_UNALIGNED, offset + ModelRecordDescriptor.SHAPE_OFFSET,
                ModelRecordDescriptor.shape(groupSize, maxError));
    }

    /** The record at {@code offset}; throws {@link IllegalArgumentException} if its fields are out of range. */
    public static LeanModel decode(MemorySegment source, long offset) {
        int shape = source.get(WordOrder.INT_UNALIGNED, offset + ModelRecordDescriptor.SHAPE_OFFSET);
        return new LeanModel(
                WordOrder.getLong(source, offset + ModelRecordDescriptor.LOW_KEY_OFFSET),
                WordOrder.getLong(source, offset + ModelRecordDescriptor.ANCHOR_KEY_OFFSET),
                Double.longBitsToDouble(WordOrder.getLong(source, offset + ModelRecordDescriptor.SLOPE_OFFSET)),
                Double.longBitsToDouble(WordOrder.getLong(source, offset + ModelRecordDescriptor.INTERCEPT_OFFSET)),
                source.get(WordOrder.INT_UNALIGNED, offset + ModelRecordDescriptor.KEY_COUNT_OFFSET),
                WordOrder.getLong(source, offset + ModelRecordDescriptor.BLOCK_OFFSET_OFFSET),
                ModelRecordDescriptor.groupSize(shape),
                ModelRecordDescriptor.maxError(shape));
    }
}
