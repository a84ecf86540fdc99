package io.rolexkv.rolex.layout;

/**
 * A model's synonym leaf table (SLT): {@link #SLOTS} 8-byte entries. Slot 0 is the used-slot counter, which compute
 * nodes FAA to claim a slot (so the first claim returns 0 and takes slot 1); slots 1..255 are
 * {@link LeafTableEntry} words naming synonym leaves and chaining them through their synonymSlot field.
 *
 * <pre>
 *   0                8                16                      8*255         8*256
 *  +----------------+----------------+---------- ... ---------+-------------+
 *  | usedSlots (FAA)| slot 1 entry   | slot 2 entry           | slot 255    |
 *  +----------------+----------------+---------- ... ---------+-------------+
 * </pre>
 *
 * A claim whose FAA returns {@code >= USABLE_SLOTS} got nothing: the SLT is full and the counter has run past it.
 * Retraining watches {@code usedSlots}: it starts on a model when they exceed a share of the model's leaves, and at the
 * latest when {@link #RETRAIN_FREE_SLOTS} or fewer remain (see {@code Retrainer.Policy}).
 */
public final class SynonymTableDescriptor {
    public static final int SLOTS = LeafTableEntry.SYNONYM_SLOTS;
    public static final int USABLE_SLOTS = SLOTS - 1;
    public static final int USED_SLOTS_OFFSET = 0;
    public static final int TABLE_BYTES = SLOTS * 8;
    /** The paper starts retraining when 2^7 - 1 slots are left. */
    public static final int RETRAIN_FREE_SLOTS = (1 << 7) - 1;

    private SynonymTableDescriptor() {
    }

    public static long slotOffset(int slot) {
        if (slot < 1 || slot >= SLOTS) {
            throw new IllegalArgumentException("slot=" + slot + " allowed=[1," + (SLOTS - 1) + "]");
        }
        return 8L * slot;
    }
}
