package io.rolexkv.rolex.layout;

/**
 * The 8-byte entry of a leaf table (LT) and of a synonym leaf table (SLT), as the ROLEX paper defines it. One class
 * fixes the bit positions; everything that builds or reads an entry goes through it.
 *
 * <pre>
 *   63  62         56 55            48 47                                                  0
 *  +---+-------------+----------------+----------------------------------------------------+
 *  | L | leafRegion  | synonymSlot    |                    leafNumber                      |
 *  | 1 |   7 bits    |    8 bits      |                      48 bits                       |
 *  +---+-------------+----------------+----------------------------------------------------+
 * </pre>
 *
 * <ul>
 *   <li>{@code L}, the lock bit: set by CAS while a compute node changes the leaf group this LT entry heads (the
 *       leaf and its synonym chain). Always clear in SLT entries and in the copies stored in leaf headers.</li>
 *   <li>{@code leafRegion}: which leaf region holds the leaf, an index into the index's leaf region directory.</li>
 *   <li>{@code synonymSlot}: the SLT slot of the next leaf in the chain (the first synonym leaf for an LT entry, the
 *       next synonym for an SLT entry); 0 means none, since SLT slot 0 is the used-slot counter.</li>
 *   <li>{@code leafNumber}: the leaf's number inside its region.</li>
 * </ul>
 *
 * The lock is the top bit so that the unlocked entry is the same number with or without a lock-free copy: an
 * unlock is a plain WRITE of {@code withoutLock(entry)}.
 */
public final class LeafTableEntry {
    public static final long LOCK_BIT = 1L << 63;
    public static final int LEAF_REGION_BITS = 7;
    public static final int SYNONYM_SLOT_BITS = 8;
    public static final int LEAF_NUMBER_BITS = 48;
    public static final int MAX_LEAF_REGIONS = 1 << LEAF_REGION_BITS;
    public static final int SYNONYM_SLOTS = 1 << SYNONYM_SLOT_BITS;
    public static final long MAX_LEAF_NUMBER = (1L << LEAF_NUMBER_BITS) - 1;
    /**
     * What retraining leaves in the LT entries of a model it replaced: locked, and naming no leaf that can exist (leaf
     * number all ones). A writer whose CAS meets it knows its cached models are out of date.
     */
    public static final long RETIRED = -1L;
    /** Means "no next leaf" in {@link #synonymSlot(long)}. */
    public static final int NO_SYNONYM = 0;

    private static final int LEAF_REGION_SHIFT = 56;
    private static final int SYNONYM_SLOT_SHIFT = 48;

    private LeafTableEntry() {
    }

    /** An unlocked entry. */
    public static long of(int leafRegion, int synonymSlot, long leafNumber) {
        if (leafRegion < 0 || leafRegion >= MAX_LEAF_REGIONS) {
            throw new IllegalArgumentException("leafRegion=" + leafRegion + " allowed=[0," + (MAX_LEAF_REGIONS - 1) + "]");
        }
        if (synonymSlot < 0 || synonymSlot >= SYNONYM_SLOTS) {
            throw new IllegalArgumentException("synonymSlot=" + synonymSlot + " allowed=[0," + (SYNONYM_SLOTS - 1) + "]");
        }
        if (leafNumber < 0 || leafNumber > MAX_LEAF_NUMBER) {
            throw new IllegalArgumentException("leafNumber=" + leafNumber + " allowed=[0," + MAX_LEAF_NUMBER + "]");
        }
        return ((long) leafRegion << LEAF_REGION_SHIFT) | ((long) synonymSlot << SYNONYM_SLOT_SHIFT) | leafNumber;
    }

    public static boolean isLocked(long entry) {
        return (entry & LOCK_BIT) != 0;
    }

    public static long withLock(long entry) {
        return entry | LOCK_BIT;
    }

    public static long withoutLock(long entry) {
        return entry & ~LOCK_BIT;
    }

    public static int leafRegion(long entry) {
        return (int) (entry >>> LEAF_REGION_SHIFT) & (MAX_LEAF_REGIONS - 1);
    }

    public static int synonymSlot(long entry) {
        return (int) (entry >>> SYNONYM_SLOT_SHIFT) & (SYNONYM_SLOTS - 1);
    }

    public static long leafNumber(long entry) {
        return entry & MAX_LEAF_NUMBER;
    }

    /** The same entry pointing at a different next leaf. */
    public static long withSynonymSlot(long entry, int synonymSlot) {
        if (synonymSlot < 0 || synonymSlot >= SYNONYM_SLOTS) {
            throw new IllegalArgumentException("synonymSlot=" + synonymSlot + " allowed=[0," + (SYNONYM_SLOTS - 1) + "]");
        }
        return (entry & ~(((long) SYNONYM_SLOTS - 1) << SYNONYM_SLOT_SHIFT)) | ((long) synonymSlot << SYNONYM_SLOT_SHIFT);
    }

    /** Whether two entries name the same leaf (region and number), whatever their lock and synonym fields. */
    public static boolean sameLeaf(long a, long b) {
        return leafRegion(a) == leafRegion(b) && leafNumber(a) == leafNumber(b);
    }

    public static String toString(long entry) {
        return "LeafTableEntry[locked=" + isLocked(entry) + " leafRegion=" + leafRegion(entry) + " synonymSlot="
                + synonymSlot(entry) + " leafNumber=" + leafNumber(entry) + "]";
    }
}
