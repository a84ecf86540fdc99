package io.rolexkv.rolex.layout;

/**
 * Where every byte of the {@code tables} region lives: one block per model, back to back, each holding the model's
 * group heads, its synonym leaf table (SLT) and its dense base. The model record ({@link ModelRecordDescriptor})
 * names the block's start and the counts every other offset here is computed from; nothing else computes them.
 *
 * <pre>
 *  tables region                                              meta.tablesUsed: end of the space handed out
 *  +------------------+------------------+-- ... --+------------------+------------------------------------+
 *  | block of model 0 | block of model 1 |         | block of model n |                free                |
 *  +------------------+------------------+-- ... --+------------------+------------------------------------+
 *  each block starts on a multiple of BLOCK_ALIGNMENT (64) bytes
 *
 *  the block of one model: G = groupCount = ceil(keyCount / groupSize), N = keyCount
 *  blockOffset                     synonymTableOffset = blockOffset + 16 * G        baseOffset = synonymTableOffset + 2 KiB
 *  +-----------+-----------+- ... -+-----------+----------+----------+- ... -+----------+--------+--------+- ... -+----------+
 *  | group 0   | delta     |       | group G-1 | delta    | usedSlots| slot 1|          | slot 255 | key 0  | value 0|       | value N-1|
 *  | GroupWord | head 0    |       | GroupWord | head G-1 | u64 (FAA)| entry |          | entry    |  u64   |  u64   |       |  u64     |
 *  +-----------+-----------+- ... -+-----------+----------+----------+- ... -+----------+--------+--------+- ... -+----------+
 *  |<-------- group heads: 16 B per group (GROUP_HEAD_BYTES) ->|<---- SLT: 8 * 256 = 2 KiB ----->|<-- base: 16 B per entry -->|
 * </pre>
 *
 * <ul>
 *   <li>Group {@code g} covers base ranks {@code [g * groupSize, min((g + 1) * groupSize, N))}. Its head is a
 *       {@link GroupWord} (lock, deleted bits) followed by the reference of its first delta leaf, a
 *       {@link LeafTableEntry}-shaped word (0: no delta leaves). The heads come first so that a lookup reads the heads
 *       its window touches and the window itself as two READs of one doorbell.</li>
 *   <li>SLT slot 0 is the used-slot counter, which compute nodes FAA to claim a slot for a new delta leaf (so the
 *       first claim returns 0 and takes slot 1); slots 1..255 are {@link LeafTableEntry} words naming the model's delta
 *       leaves, so that the memory node's retrainer finds every delta leaf of a model without walking chains. A claim
 *       whose FAA returns {@code >= USABLE_SYNONYM_SLOTS} got nothing: the SLT is full and the counter has run past it.
 *       The retrainer compacts a model well before that (see its policy).</li>
 *   <li>Base entry {@code r}: the key of rank {@code r} and its value word, keys strictly increasing and never changed
 *       while the model lives; only value words (and the group's deleted bits) change, under the group's lock.</li>
 * </ul>
 * A bulk load or create packs the blocks from offset 0 and sets {@code tablesUsed} to their end; retraining claims
 * space for the new models' blocks after it, and reuses the blocks of models it retired once no reader can hold them.
 */
public final class TablesDescriptor {
    /** Bytes of one group head: its {@link GroupWord} and its first delta leaf's reference. */
    public static final int GROUP_HEAD_BYTES = 16;
    /** Offset of the delta head reference within a group head. */
    public static final int DELTA_HEAD_OFFSET = 8;
    /** Bytes of one base entry: key u64, value u64. */
    public static final int BASE_ENTRY_BYTES = 16;
    /** Offset of the value word within a base entry. */
    public static final int BASE_VALUE_OFFSET = 8;
    /** Slots of an SLT, the counter included. */
    public static final int SYNONYM_SLOTS = LeafTableEntry.SYNONYM_SLOTS;
    /** Slots an SLT can hand out (all but the counter's). */
    public static final int USABLE_SYNONYM_SLOTS = SYNONYM_SLOTS - 1;
    public static final int SYNONYM_TABLE_BYTES = SYNONYM_SLOTS * 8;
    /** Blocks start on a cache line. */
    public static final int BLOCK_ALIGNMENT = 64;

    private TablesDescriptor() {
    }

    /** Groups of a model of {@code keyCount} base entries, {@code groupSize} per group. */
    public static int groupCount(int keyCount, int groupSize) {
        return (keyCount + groupSize - 1) / groupSize;
    }

    /** Offset of group {@code group}'s head (its GroupWord; the delta head reference follows). */
    public static long groupHeadOffset(long blockOffset, int group) {
        return blockOffset + (long) GROUP_HEAD_BYTES * group;
    }

    /** Offset of the SLT (its used-slot counter) of a block of {@code groupCount} groups. */
    public static long synonymTableOffset(long blockOffset, int groupCount) {
        return blockOffset + (long) GROUP_HEAD_BYTES * groupCount;
    }

    /** Offset of SLT slot {@code slot} (1..255) from the SLT's start. */
    public static long synonymSlotOffset(int slot) {
        if (slot < 1 || slot >= SYNONYM_SLOTS) {
            throw new IllegalArgumentException("slot=" + slot + " allowed=[1," + (SYNONYM_SLOTS - 1) + "]");
        }
        return 8L * slot;
    }

    /** Offset of base entry {@code rank} of a block of {@code groupCount} groups. */
    public static long baseEntryOffset(long blockOffset, int groupCount, int rank) {
        return synonymTableOffset(blockOffset, groupCount) + SYNONYM_TABLE_BYTES + (long) BASE_ENTRY_BYTES * rank;
    }

    /** Bytes of a block of {@code groupCount} groups and {@code keyCount} base entries, unpadded. */
    public static long blockBytes(int groupCount, int keyCount) {
        return (long) GROUP_HEAD_BYTES * groupCount + SYNONYM_TABLE_BYTES + (long) BASE_ENTRY_BYTES * keyCount;
    }

    /** {@code bytes} rounded up to the next block start. */
    public static long alignedBlockBytes(long bytes) {
        return (bytes + BLOCK_ALIGNMENT - 1) / BLOCK_ALIGNMENT * BLOCK_ALIGNMENT;
    }
}
