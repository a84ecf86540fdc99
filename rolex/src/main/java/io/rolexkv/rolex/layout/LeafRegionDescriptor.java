package io.rolexkv.rolex.layout;

/**
 * A leaf region: a header whose first word is the used-leaf counter compute nodes allocate from by FAA, then
 * fixed-size leaves back to back. Leaf {@code n} of a region lives at {@code leafOffset(n, leafBytes)} for ever.
 *
 * <pre>
 *   0               8               16              24                               64
 *  +---------------+---------------+---------------+--------------------------------+
 *  | usedLeaves    | capacityLeaves| leafBytes     |           reserved             |
 *  |  u64 (FAA)    |  u64          |  u64          |                                |
 *  +---------------+---------------+---------------+--------------------------------+
 *  64: leaf 0 | leaf 1 | ... | leaf capacityLeaves-1
 * </pre>
 *
 * A FAA on {@code usedLeaves} that returns a value at or beyond {@code capacityLeaves} allocated nothing: the region
 * is full (the counter may run past capacity; readers clamp).
 */
public final class LeafRegionDescriptor {
    public static final int USED_LEAVES_OFFSET = 0;
    public static final int CAPACITY_LEAVES_OFFSET = 8;
    public static final int LEAF_BYTES_OFFSET = 16;
    public static final int HEADER_BYTES = 64;

    private LeafRegionDescriptor() {
    }

    public static long leafOffset(long leafNumber, int leafBytes) {
        return HEADER_BYTES + leafNumber * leafBytes;
    }

    /** How many leaves of {@code leafBytes} fit in a region of {@code regionBytes}. */
    public static long capacityLeaves(long regionBytes, int leafBytes) {
        return Math.max(0, (regionBytes - HEADER_BYTES) / leafBytes);
    }
}
