package io.rolexkv.rolex.layout;

/**
 * One model of the index as stored in the models region and cached by compute nodes: a line that predicts a key's
 * rank among the model's keys at training time, the measured error bound of that line, and where the model's leaf
 * table (LT) and synonym leaf table (SLT) live.
 *
 * <pre>
 *   0            8            16           24           32           40           48
 *  +------------+------------+------------+------------+------------+------------+
 *  | lowKey     | anchorKey  | slope f64  | intercept  | keyCount   | ltOffset   |
 *  +------------+------------+------------+------------+------------+------------+
 *  48           52           56           60           64           72
 *  +------------+------------+------------+------------+------------+-----------------+
 *  | leafCount  | keysPerLeaf| maxError   | reserved   | sltOffset  | directoryOffset |
 *  |  u32       |  u32       |  u32       |  u32       |  u64       |  u64 (or -1)    |
 *  +------------+------------+------------+------------+------------+-----------------+  80 bytes
 * </pre>
 *
 * <ul>
 *   <li>{@code lowKey}: the smallest key the model owns; a model owns {@code [lowKey, next model's lowKey - 1]}
 *       (the first model owns from 0, the last up to the largest unsigned key).</li>
 *   <li>{@code anchorKey}, {@code slope}, {@code intercept}: rank(key) = intercept + slope * (key - anchorKey), the
 *       difference taken as a signed distance in unsigned key space.</li>
 *   <li>{@code keyCount}: ranks at training run over {@code [0, keyCount)}; leaf {@code i} of the model got ranks
 *       {@code [i * keysPerLeaf, (i + 1) * keysPerLeaf)}.</li>
 *   <li>{@code maxError}: the largest |predicted - true rank| over the training keys, measured with this very record
 *       when it was written, so the lookup bound never rests on a trainer's promise.</li>
 *   <li>{@code ltOffset}, {@code sltOffset}: byte offsets in the tables region of the model's LT ({@code leafCount}
 *       entries) and SLT ({@link TablesDescriptor#SYNONYM_SLOTS} entries).</li>
 *   <li>{@code directoryOffset}: -1 when every leaf got {@code keysPerLeaf} ranks (a bulk-loaded or empty model);
 *       otherwise the offset in the tables region of {@code leafCount} u32 words, the first rank of each leaf (a
 *       retrained model, whose leaves hold what they held, not a fixed count). A leaf that held no key has the same
 *       first rank as the leaf after it.</li>
 * </ul>
 */
public final class ModelRecordDescriptor {
    public static final int LOW_KEY_OFFSET = 0;
    public static final int ANCHOR_KEY_OFFSET = 8;
    public static final int SLOPE_OFFSET = 16;
    public static final int INTERCEPT_OFFSET = 24;
    public static final int KEY_COUNT_OFFSET = 32;
    public static final int LT_OFFSET_OFFSET = 40;
    public static final int LEAF_COUNT_OFFSET = 48;
    public static final int KEYS_PER_LEAF_OFFSET = 52;
    public static final int MAX_ERROR_OFFSET = 56;
    public static final int SLT_OFFSET_OFFSET = 64;
    public static final int DIRECTORY_OFFSET_OFFSET = 72;
    public static final int RECORD_BYTES = 80;
    public static final long NO_DIRECTORY = -1;

    private ModelRecordDescriptor() {
    }
}
