package io.rolexkv.rolex.layout;

/**
 * The first of the two 8-byte words that head one group of a lean model: its lock and which of its base entries are
 * deleted (the second word is the reference of the group's first delta leaf, 0 for none, shaped as a
 * {@link LeafTableEntry}). One class fixes the bit positions.
 *
 * <pre>
 *   63  62  61                    48 47                                                  0
 *  +---+---+---+--------------------+----------------------------------------------------+
 *  | L | U | F |       unused       |                deleted (bit i: base entry i)       |
 *  | 1 | 1 | 1 |       13 bits      |                      48 bits                       |
 *  +---+---+---+--------------------+----------------------------------------------------+
 * </pre>
 *
 * <ul>
 *   <li>{@code L}: set by CAS while a compute node (or the retrainer) changes the group: its base values, its deleted
 *       bits or its delta chain. Readers never take it.</li>
 *   <li>{@code U} and {@code F}: set with the lock by the retrainer, in a new model's words until it opens them
 *       ({@link #UNOPENED_BIT}) and in a model's words it froze to compact ({@link #FROZEN_BIT}). A writer that finds
 *       either waits about as long as a compaction takes before it tries again, rather than retrying a lock a
 *       compute node would give back within a round trip.</li>
 *   <li>{@code deleted}: bit {@code i} set means base entry {@code groupStart + i} is deleted: its key stays (base keys
 *       never change while the model lives) but the map holds no value for it. A put of that key clears the bit after
 *       writing the value word, so a reader that sees the bit clear sees the new value or a later one.</li>
 * </ul>
 * The word written over a retired model's groups is {@link #RETIRED}: locked, so no writer takes it.
 */
public final class GroupWord {
    public static final long LOCK_BIT = 1L << 63;
    /**
     * Set, with the lock, in the words of a model the retrainer has written but not opened: no CAS a compute node
     * meant for a word that was there before (its space reused) can match it, nor undo it.
     */
    public static final long UNOPENED_BIT = 1L << 62;
    /** Set, with the lock, in the words of a model the retrainer froze to compact it. */
    public static final long FROZEN_BIT = 1L << 61;
    /** Base entries one group can hold: one deleted bit each. */
    public static final int MAX_GROUP_SIZE = 48;
    public static final long DELETED_MASK = (1L << MAX_GROUP_SIZE) - 1;
    public static final long RETIRED = -1L;
    /** An unlocked group with nothing deleted. */
    public static final long EMPTY = 0;

    private GroupWord() {
    }

    /** The word of a new model's group before the retrainer opens it: locked, marked unopened. */
    public static long unopened(long word) {
        return word | LOCK_BIT | UNOPENED_BIT;
    }

    /** The word a retrainer CASes in to freeze a group that held {@code word}: locked, marked frozen. */
    public static long frozen(long word) {
        return word | LOCK_BIT | FROZEN_BIT;
    }

    /** Whether the retrainer holds this (locked) word: a model it froze, or one it has not opened yet. */
    public static boolean isHeldByRetrainer(long word) {
        return isLocked(word) && word != RETIRED && (word & (FROZEN_BIT | UNOPENED_BIT)) != 0;
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
        return "GroupWord[locked=" + isLocked(word) + " deleted="
                + Long.toBinaryString(word & DELETED_MASK) + "]";
    }
}
