package io.rolexkv.rolex.layout;

/**
 * The 8-byte word that heads one group of a lean model: its lock, its delta chain and which of its base entries are
 * deleted. One class fixes the bit positions.
 *
 * <pre>
 *   63  62       56 55            48 47                                                  0
 *  +---+-----------+----------------+----------------------------------------------------+
 *  | L |  unused   | deltaSlot      |                deleted (bit i: base entry i)       |
 *  | 1 |  7 bits   |    8 bits      |                      48 bits                       |
 *  +---+-----------+----------------+----------------------------------------------------+
 * </pre>
 *
 * <ul>
 *   <li>{@code L}: set by CAS while a compute node (or the retrainer) changes the group: its base values, its deleted
 *       bits or its delta chain. Readers never take it.</li>
 *   <li>{@code deltaSlot}: the SLT slot of the group's first delta leaf, 0 for none. The lock bit and this field sit
 *       where {@link io.rolexkv.rolex.layout.LeafTableEntry} has them.</li>
 *   <li>{@code deleted}: bit {@code i} set means base entry {@code groupStart + i} is deleted: its key stays (base keys
 *       never change while the model lives) but the map holds no value for it. A put of that key clears the bit after
 *       writing the value word, so a reader that sees the bit clear sees the new value or a later one.</li>
 * </ul>
 * The word written over a retired model's groups is {@link #RETIRED}: locked, so no writer takes it.
 */
public final class GroupWord {
    public static final long LOCK_BIT = 1L << 63;
    public static final int DELTA_SLOT_SHIFT = 48;
    public static final int DELTA_SLOTS = 256;
    /** Base entries one group can hold: one deleted bit each. */
    public static final int MAX_GROUP_SIZE = 48;
    public static final long DELETED_MASK = (1L << MAX_GROUP_SIZE) - 1;
    public static final long RETIRED = -1L;
    /** An unlocked group with no delta leaf and nothing deleted. */
    public static final long EMPTY = 0;

    private GroupWord() {
    }

    public static boolean isLocked(long word) {
        return (word & LOCK_BIT) != 0;
    }

    public static long withLock(long word) {
        return word | LOCK_BIT;
    }

    public static long withoutLock(long word) {
        return word & ~LOCK_BIT;
    }

    public static int deltaSlot(long word) {
        return (int) (word >>> DELTA_SLOT_SHIFT) & (DELTA_SLOTS - 1);
    }

    public static long withDeltaSlot(long word, int slot) {
        if (slot < 0 || slot >= DELTA_SLOTS) {
            throw new IllegalArgumentException("deltaSlot=" + slot + " allowed=[0," + (DELTA_SLOTS - 1) + "]");
        }
        return (word & ~((long) (DELTA_SLOTS - 1) << DELTA_SLOT_SHIFT)) | (long) slot << DELTA_SLOT_SHIFT;
    }

    /** Whether base entry {@code index} (0-based within the group) is deleted. */
    public static boolean isDeleted(long word, int index) {
        return (word >>> index & 1) != 0;
    }

    public static long withDeleted(long word, int index, boolean deleted) {
        if (index < 0 || index >= MAX_GROUP_SIZE) {
            throw new IllegalArgumentException("index=" + index + " allowed=[0," + (MAX_GROUP_SIZE - 1) + "]");
        }
        return deleted ? word | 1L << index : word & ~(1L << index);
    }

    /** A word with the first {@code entries} base entries deleted (the fence keys of an empty model). */
    public static long allDeleted(int entries) {
        return entries == MAX_GROUP_SIZE ? DELETED_MASK : (1L << entries) - 1;
    }

    public static String toString(long word) {
        return "GroupWord[locked=" + isLocked(word) + " deltaSlot=" + deltaSlot(word) + " deleted="
                + Long.toBinaryString(word & DELETED_MASK) + "]";
    }
}
