package io.rolexkv.rolex.layout;

/**
 * The 8-byte word that names a delta leaf: an entry of a model's synonym leaf table (SLT) and a reference to a leaf
 * from a group head or a leaf's {@code nextLeaf}. The bit layout is the ROLEX paper's LT/SLT entry; the lean layout has
 * no leaf table, so the lock bit stays clear (group locks live in {@link GroupWord}s). One class fixes the bit
 * positions; everything that builds or reads such a word goes through it.
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
 *   <li>{@code L}: always clear; a set bit in a stored reference means corruption (the index checker reports it).</li>
 *   <li>{@code leafRegion}: which leaf region holds the leaf, an index into the index's leaf region directory.</li>
 *   <li>{@code synonymSlot}: in a reference (a group's delta head, a leaf's {@code nextLeaf}), the SLT slot the named
 *       leaf occupies (1..255); in an SLT slot entry, 0.</li>
 *   <li>{@code leafNumber}: the leaf's number inside its region.</li>
 * </ul>
 * The word 0 (region 0, slot 0, leaf 0) never names a delta leaf, since every delta leaf occupies a slot of at least
 * 1: it means "no leaf" in a delta head and in {@code nextLeaf}.
 */
public final class LeafTableEntry {
    public static final long LOCK_BIT = 1L << 63;
    public static final int LEAF_REGION_BITS = 7;
    public static final int SYNONYM_SLOT_BITS = 8;
    public static final int LEAF_NUMBER_BITS = 48;
    public static final int MAX_LEAF_REGIONS = 1 << LEAF_REGION_BITS;
    public static final int SYNONYM_SLOTS = 1 << SYNONYM_SLOT_BITS;
    public static final long MAX_LEAF_NUMBER = (1L << LEAF_NUMBER_BITS) - 1;

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

    public static int leafRegion(long entry) {
        return (int) (entry >>> LEAF_REGION_SHIFT) & (MAX_LEAF_REGIONS - 1);
    }

    public static int synonymSlot(long entry) {
        return (int) (entry >>> SYNONYM_SLOT_SHIFT) & (SYNONYM_SLOTS - 1);
    }

    public static long leafNumber(long entry) {
        return entry & MAX_LEAF_NUMBER;
    }

    public static String toString(long entry) {
        return "LeafTableEntry[lockBit=" + isLocked(entry) + " leafRegion=" + leafRegion(entry) + " synonymSlot="
                + synonymSlot(entry) + " leafNumber=" + leafNumber(entry) + "]";
    }
}
