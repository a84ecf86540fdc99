package io.rolexkv.computenode.value;

/**
 * The values region of a memory node ({@value #REGION_NAME}): a header, then value blocks. Compute nodes carve the
 * region up among themselves by FAA on {@code usedBytes} and sub-allocate the chunks they get locally
 * ({@link ValueAllocator}); the memory node's CPU never touches it. The header is also where the compute nodes of
 * one store agree on its value format, on who builds a missing index, on space handed back, and (on the cluster's
 * home node, the one with the lowest memory node id) on which node owns which keys, since it is the engine's own region.
 *
 * <pre>
 *   0               8               16              24              32              40              48        64
 *  +---------------+---------------+---------------+---------------+---------------+---------------+---------+
 *  | format        | usedBytes     | indexBuilder  | returnedSpace | cluster       | shardMapEpoch | ranges  |
 *  |  u64 (CAS)    |  u64 (FAA)    |  u64 (CAS)    |  u64 (CAS)    |  u64 (CAS)    |  u64          |  u64    |
 *  +---------------+---------------+---------------+---------------+---------------+---------------+---------+
 *  64:   shard map first keys, u64 x 256 (range i owns [firstKey[i], firstKey[i+1]-1], the last up to 2^64-1)
 *  2112: shard map memory node ids, u8 x 256 (which node holds range i)
 *  2368: reserved up to 4096
 *  4096: value blocks, 16-byte aligned, in chunks handed out in claim order
 * </pre>
 *
 * <ul>
 *   <li>{@code format}: 0 in a region never used; else {@link #formatWord}: the bytes "ROLXVA2" ({@link #FORMAT_MAGIC})
 *       followed by the store's {@link ValueFormat#code()} in the eighth byte. The first compute node to open the store sets it by CAS from 0;
 *       every other one checks it matches its own setting.</li>
 *   <li>{@code usedBytes}: bytes handed out past the header. A FAA of {@code n} that returns {@code old} claims
 *       {@code [HEADER_BYTES + old, HEADER_BYTES + old + n)}, clamped to the region's end; a claim that starts at or
 *       beyond the end got nothing (the counter may run past the end; readers clamp).</li>
 *   <li>{@code indexBuilder}: 0, or the token of the compute node that won the CAS to build the index of a memory
 *       node that has none. Others wait for the index to appear; the builder writes 0 back when done.</li>
 *   <li>{@code returnedSpace}: the top of a stack of space compute nodes handed back when they closed
 *       ({@link ReturnedSpaceDescriptor}), 0 when empty.</li>
 *   <li>{@code cluster}, {@code shardMapEpoch}, {@code ranges} and the shard map: read and written by the engine's shard
 *       map on the home node only (see {@code io.rolexkv.computenode.engine.ShardMap}); zero on other nodes.</li>
 * </ul>
 */
public final class ValueRegionDescriptor {
    public static final String REGION_NAME = "values";

    public static final int FORMAT_OFFSET = 0;
    public static final int USED_BYTES_OFFSET = 8;
    public static final int INDEX_BUILDER_OFFSET = 16;
    public static final int RETURNED_SPACE_OFFSET = 24;
    public static final int CLUSTER_OFFSET = 32;
    public static final int SHARD_MAP_EPOCH_OFFSET = 40;
    public static final int SHARD_MAP_RANGES_OFFSET = 48;
    public static final int SHARD_MAP_FIRST_KEYS_OFFSET = 64;
    public static final int SHARD_MAP_MAX_RANGES = 256;
    public static final int SHARD_MAP_NODE_IDS_OFFSET = SHARD_MAP_FIRST_KEYS_OFFSET + 8 * SHARD_MAP_MAX_RANGES;
    /** Bytes from {@link #SHARD_MAP_EPOCH_OFFSET} to the end of the node ids: one READ gets the whole map. */
    public static final int SHARD_MAP_BYTES = SHARD_MAP_NODE_IDS_OFFSET + SHARD_MAP_MAX_RANGES - SHARD_MAP_EPOCH_OFFSET;
    public static final int HEADER_BYTES = 4096;

    /**
     * The bytes "ROLXVA2" read as a little-endian word; the format code goes in the top byte. (A region written with
     * the first, 64-byte header says "ROLXVAL" and is refused rather than misread.)
     */
    public static final long FORMAT_MAGIC = 0x0032_4156_584C_4F52L;

    private static final int FORMAT_CODE_SHIFT = 56;

    private ValueRegionDescriptor() {
    }

    public static long formatWord(ValueFormat format) {
        return FORMAT_MAGIC | ((long) format.code() << FORMAT_CODE_SHIFT);
    }

    /** The format a header word names, or {@code null} if the word is not a format word at all. */
    public static ValueFormat formatOf(long formatWord) {
        if ((formatWord & ((1L << FORMAT_CODE_SHIFT) - 1)) != FORMAT_MAGIC) {
            return null;
        }
        return ValueFormat.ofCode((int) (formatWord >>> FORMAT_CODE_SHIFT));
    }

    /** The first region offset of the bytes a claim got when the FAA on {@code usedBytes} returned {@code used}. */
    public static long claimStart(long used) {
        return HEADER_BYTES + used;
    }
}
