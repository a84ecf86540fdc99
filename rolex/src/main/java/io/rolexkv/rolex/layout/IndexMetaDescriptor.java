package io.rolexkv.rolex.layout;

/**
 * The index's superblock, at offset 0 of the memory node's {@code meta} region: what a compute node reads first to
 * find everything else, and the bump counters that hand out space in the tables and models regions.
 *
 * <pre>
 *   0            8            16               24              32            40              44
 *  +------------+------------+----------------+---------------+-------------+---------------+-------------+
 *  | magic      | state      | modelSetOffset | modelSetBytes | modelEpoch  | leafCapacity  | groupSize   |
 *  |  u64       |  u64       |  u64           |  u64          |  u64        |  u32          |  u32        |
 *  +------------+------------+----------------+---------------+-------------+---------------+-------------+
 *   48           56           64          72            80            88          96          104          112          120         128
 *  +------------+------------+-----------+-------------+-------------+-----------+-----------+------------+------------+-----------+
 *  | tablesUsed | modelsUsed | epsilon   | retrains    | retrainNanos| buildId   | layout    | reuseFloor | recycled   | recycled  |
 *  |  u64 (FAA) |  u64 (ring)|  u32      |  u64 (FAA)  |  u64 (FAA)  |  u64      |  u64      |  u64       | taken (CAS)| published |
 *  +------------+------------+-----------+-------------+-------------+-----------+-----------+------------+------------+-----------+
 * </pre>
 *
 * {@code state} is {@link #STATE_EMPTY} until an index is created or bulk loaded, and is written {@link #STATE_READY}
 * last, after every leaf, table and model it names, so a reader that sees READY finds them all. The model set
 * ({@link ModelSetDescriptor}) lives at {@code modelSetOffset} of the models region; {@code modelEpoch} changes
 * whenever a new model set is published.
 *
 * <p>The models region is the circular queue of models (CirQ): each publication writes a whole new model set after
 * the previous one ({@code modelsUsed} is the write cursor) and wraps to the start when the region's end is near, so
 * a set is overwritten only long after it was superseded; a reader that raced a wrap finds a bad checksum or epoch and
 * reads the meta region again. {@code retrains} and {@code retrainNanos} count the memory node's retraining for
 * everyone to read; {@code buildId} changes with every bulk load or create, so the retrainer knows its free table
 * space belongs to a dead build. {@code layout} says how the tables region is laid out: {@link #LAYOUT_LEAN}, a
 * block per model of group heads, SLT and dense base ({@link TablesDescriptor}), is the only layout this release
 * reads or writes. Any other value (0 was the grouped layout of earlier releases: leaf tables naming whole leaves) is
 * refused by compute nodes and left alone by the retrainer; such an index must be bulk loaded or created again.
 * {@code leafCapacity} is the entries of a delta leaf, {@code groupSize} the base entries under one group word. {@code reuseFloor}: the newest epoch that retired tables space
 * since handed out again; a reader whose models are older than it may hold a reused block and must refresh.
 */
public final class IndexMetaDescriptor {
    public static final long MAGIC = 0x3158_4449_584C_4F52L; // "ROLXIDX1" little-endian
    public static final long STATE_EMPTY = 0;
    public static final long STATE_READY = 2;

    public static final int MAGIC_OFFSET = 0;
    public static final int STATE_OFFSET = 8;
    public static final int MODEL_SET_OFFSET_OFFSET = 16;
    public static final int MODEL_SET_BYTES_OFFSET = 24;
    public static final int MODEL_EPOCH_OFFSET = 32;
    public static final int LEAF_CAPACITY_OFFSET = 40;
    public static final int GROUP_SIZE_OFFSET = 44;
    public static final int TABLES_USED_OFFSET = 48;
    public static final int MODELS_USED_OFFSET = 56;
    public static final int EPSILON_OFFSET = 64;
    public static final int RETRAINS_OFFSET = 72;
    public static final int RETRAIN_NANOS_OFFSET = 80;
    public static final int BUILD_ID_OFFSET = 88;
    public static final int LAYOUT_OFFSET = 96;
    public static final int REUSE_FLOOR_OFFSET = 104;
    /**
     * Past the superblock (lean layout): where the latest publications' patches lie in the models region, slot
     * {@code epoch % PATCH_SLOTS} of {@link #PATCH_SLOT_BYTES} each (offset u64, bytes u64), so that a compute node a
     * few epochs behind reads what changed instead of the whole model set. Only where the meta region is that large.
     */
    public static final int PATCH_DIRECTORY_OFFSET = 1024;
    public static final int PATCH_SLOTS = 64;
    public static final int PATCH_SLOT_BYTES = 16;
    public static final int PATCH_DIRECTORY_END = PATCH_DIRECTORY_OFFSET + PATCH_SLOTS * PATCH_SLOT_BYTES;
    /**
     * The lean layout's recycled leaves: delta leaves a compaction freed, handed back to compute nodes through a ring
     * of {@link #RECYCLE_SLOT_BYTES}-byte slots (leaf number u64, the epoch that freed it u64) from
     * {@link #RECYCLE_RING_OFFSET} to the meta region's end (at most {@link #RECYCLE_MAX_SLOTS}). The retrainer alone
     * writes slots and then raises {@code recycledPublished}; a compute node claims a run of slots by CAS on
     * {@code recycledTaken} (never past the published count) and reads them in the same doorbell.
     */
    public static final int RECYCLED_TAKEN_OFFSET = 112;
    public static final int RECYCLED_PUBLISHED_OFFSET = 120;
    public static final int RECYCLE_RING_OFFSET = PATCH_DIRECTORY_END;
    public static final int RECYCLE_SLOT_BYTES = 16;
    public static final int RECYCLE_MAX_SLOTS = 4096;

    /** Slots of the recycled-leaf ring a meta region of {@code metaBytes} holds (0: no ring, leaves are not reused). */
    public static int recycleSlots(long metaBytes) {
        return (int) Math.max(0, Math.min(RECYCLE_MAX_SLOTS, (metaBytes - RECYCLE_RING_OFFSET) / RECYCLE_SLOT_BYTES));
    }
    /** Per model: group heads, an SLT and a dense base array; inserted keys in delta leaves. */
    public static final long LAYOUT_LEAN = 1;
    public static final int META_BYTES = 128;

    private IndexMetaDescriptor() {
    }
}
