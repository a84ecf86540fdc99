package io.rolexkv.rolex.layout;

/**
 * One model of the index as stored in a model set ({@link ModelSetDescriptor}) and cached by every compute node: a
 * line that predicts a key's rank among the model's base keys, the measured error bound of that line, and where the
 * model's block lies in the tables region ({@link TablesDescriptor}). A compute node caches one record per model, so
 * the record holds only what cannot be derived: the block's inner offsets and its group count follow from
 * {@code blockOffset}, {@code keyCount} and {@code groupSize}.
 *
 * <pre>
 *   0            8            16           24           32           40         44         45                    48
 *  +------------+------------+------------+------------+------------+----------+----------+---------------------+
 *  | lowKey     | anchorKey  | slope      | intercept  | blockOffset| keyCount | groupSize| maxError            |
 *  |  u64       |  u64       |  f64       |  f64       |  u64       |  u32     |  u8      |  u24                |
 *  +------------+------------+------------+------------+------------+----------+----------+---------------------+
 * </pre>
 * {@code groupSize} and {@code maxError} share the u32 at {@link #SHAPE_OFFSET} (groupSize in its low 8 bits).
 *
 * <ul>
 *   <li>{@code lowKey}: the smallest key the model owns; a model owns {@code [lowKey, next model's lowKey - 1]}
 *       (the first model owns from 0, the last up to the largest unsigned key).</li>
 *   <li>{@code anchorKey}, {@code slope}, {@code intercept}: rank(key) = intercept + slope * (key - anchorKey), the
 *       difference taken as a signed distance in unsigned key space.</li>
 *   <li>{@code blockOffset}: where the model's block (group heads, SLT, base) starts in the tables region.</li>
 *   <li>{@code keyCount}: the base entries of the block, ranks {@code [0, keyCount)}.</li>
 *   <li>{@code groupSize}: base entries under one group head (at most {@link GroupWord#MAX_GROUP_SIZE}).</li>
 *   <li>{@code maxError}: the largest |predicted - true rank| over the base keys, measured with this very record
 *       when it was written, so the lookup bound never rests on a trainer's promise.</li>
 * </ul>
 *
 * A model set whose header names another record size (the 80-byte record of releases that stored the grouped
 * layout's leaf-table fields) is refused, never read with this layout.
 */
public final class ModelRecordDescriptor {
    public static final int LOW_KEY_OFFSET = 0;
    public static final int ANCHOR_KEY_OFFSET = 8;
    public static final int SLOPE_OFFSET = 16;
    public static final int INTERCEPT_OFFSET = 24;
    public static final int BLOCK_OFFSET_OFFSET = 32;
    public static final int KEY_COUNT_OFFSET = 40;
    public static final int SHAPE_OFFSET = 44;
    public static final int RECORD_BYTES = 48;

    private static final int GROUP_SIZE_BITS = 8;
    public static final int MAX_GROUP_SIZE = (1 << GROUP_SIZE_BITS) - 1;
    public static final int MAX_ERROR = (1 << (32 - GROUP_SIZE_BITS)) - 1;

    private ModelRecordDescriptor() {
    }

    /** The u32 at {@link #SHAPE_OFFSET}: {@code groupSize} in the low 8 bits, {@code maxError} above. */
    public static int shape(int groupSize, int maxError) {
        if (groupSize < 1 || groupSize > MAX_GROUP_SIZE) {
            throw new IllegalArgumentException("groupSize=" + groupSize + " allowed=[1," + MAX_GROUP_SIZE + "]");
        }
        if (maxError < 0 || maxError > MAX_ERROR) {
            throw new IllegalArgumentException("maxError=" + maxError + " allowed=[0," + MAX_ERROR + "]");
        }
        return maxError << GROUP_SIZE_BITS | groupSize;
    }

    public static int groupSize(int shape) {
        return shape & MAX_GROUP_SIZE;
    }

    public static int maxError(int shape) {
        return shape >>> GROUP_SIZE_BITS;
    }
}
