package io.rolexkv.rolex.layout;

/**
 * Where every byte of the {@code tables} region lives: per model, its leaf table (LT), its synonym leaf table (SLT)
 * and, for a retrained model, its leaf rank directory, back to back in one block. The model record
 * ({@link ModelRecordDescriptor}) holds the block's offsets ({@code ltOffset}, {@code sltOffset},
 * {@code directoryOffset}); the words in the LT and SLT are {@link LeafTableEntry} words.
 *
 * <pre>
 *  tables region                                              meta.tablesUsed: end of the space handed out
 *  +------------------+------------------+-- ... --+------------------+------------------------------------+
 *  | block of model 0 | block of model 1 |         | block of model n |                free                |
 *  +------------------+------------------+-- ... --+------------------+------------------------------------+
 *
 *  the block of one model (offsets in its model record)
 *  ltOffset                        sltOffset = ltOffset + 8 * leafCount           directoryOffset (or -1)
 *  +----------+-- ... --+----------+-----------+----------+-- ... --+----------+-------------- ... ---------+
 *  | LT       |         | LT entry | usedSlots | slot 1   |         | slot 255 | firstRank[0..leafCount)  |
 *  | entry 0  |         | leafCnt-1| u64 (FAA) | entry    |         | entry    | u32 each, padded to 8    |
 *  +----------+-- ... --+----------+-----------+----------+-- ... --+----------+-------------- ... ---------+
 *  |<------ LT: 8 * leafCount ---->|<--------- SLT: 8 * 256 = 2 KiB --------->|<-- retrained models -->|
 * </pre>
 *
 * <ul>
 *   <li>LT entry {@code i} heads leaf group {@code i}: it names the group's first leaf (which never changes within a
 *       model epoch), carries the group's lock bit, and its synonymSlot names the first synonym leaf (0: none).</li>
 *   <li>SLT slot 0 is the used-slot counter, which compute nodes FAA to claim a slot (so the first claim returns 0
 *       and takes slot 1); slots 1..255 name synonym leaves and chain them through their synonymSlot field. A claim
 *       whose FAA returns {@code >= USABLE_SYNONYM_SLOTS} got nothing: the SLT is full and the counter has run past
 *       it. Retraining watches the counter: it starts on a model when {@link #RETRAIN_FREE_SLOTS} or fewer remain.</li>
 *   <li>The directory holds each leaf's first rank at training ({@link ModelRecordDescriptor}); bulk-loaded and empty
 *       models have none, every leaf got {@code keysPerLeaf} ranks.</li>
 * </ul>
 * A bulk load or create packs the blocks from offset 0 and sets {@code tablesUsed} to their end; retraining claims
 * space for the new models' blocks after it, and reuses the blocks of models it retired once no reader can hold them.
 */
public final class TablesDescriptor {
    /** Slots of an SLT, the counter included. */
    public static final int SYNONYM_SLOTS = LeafTableEntry.SYNONYM_SLOTS;
    /** Slots an SLT can hand out (all but the counter's). */
    public static final int USABLE_SYNONYM_SLOTS = SYNONYM_SLOTS - 1;
    public static final int SYNONYM_USED_SLOTS_OFFSET = 0;
    public static final int SYNONYM_TABLE_BYTES = SYNONYM_SLOTS * 8;
    /** The paper starts retraining when 2^7 - 1 slots are left. */
    public static final int RETRAIN_FREE_SLOTS = (1 << 7) - 1;

    private TablesDescriptor() {
    }

    /** Bytes of an LT of {@code leafCount} entries. */
    public static long leafTableBytes(int leafCount) {
        return 8L * leafCount;
    }

    /** Offset of LT entry {@code leaf} from the LT's start. */
    public static long leafTableEntryOffset(int leaf) {
        return 8L * leaf;
    }

    /** Offset of SLT slot {@code slot} (1..255) from the SLT's start. */
    public static long synonymSlotOffset(int slot) {
        if (slot < 1 || slot >= SYNONYM_SLOTS) {
            throw new IllegalArgumentException("slot=" + slot + " allowed=[1," + (SYNONYM_SLOTS - 1) + "]");
        }
        return 8L * slot;
    }

    /** Bytes of a leaf rank directory of {@code leafCount} u32 words, padded to a word. */
    public static long directoryBytes(int leafCount) {
        return (4L * leafCount + 7) / 8 * 8;
    }
}
