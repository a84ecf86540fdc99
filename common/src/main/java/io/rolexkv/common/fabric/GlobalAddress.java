package io.rolexkv.common.fabric;

/**
 * One 64-bit number that names any byte in the cluster: which memory node, which registered region on it, and the
 * offset inside that region. Static helpers only; an address travels as a plain {@code long}.
 *
 * <pre>
 *   63        56 55        48 47                                                   0
 *  +------------+------------+------------------------------------------------------+
 *  | memoryNode |   region   |                        offset                        |
 *  |   8 bits   |   8 bits   |                       48 bits                        |
 *  +------------+------------+------------------------------------------------------+
 * </pre>
 *
 * 256 memory nodes of 256 regions each, a region up to 256 TiB: more than any deployment of this store needs,
 * and an address still fits a single RDMA work request field.
 */
public final class GlobalAddress {
    public static final int MEMORY_NODE_BITS = 8;
    public static final int REGION_BITS = 8;
    public static final int OFFSET_BITS = 48;
    public static final int MAX_MEMORY_NODES = 1 << MEMORY_NODE_BITS;
    public static final int MAX_REGIONS = 1 << REGION_BITS;
    public static final long MAX_OFFSET = (1L << OFFSET_BITS) - 1;

    private static final int REGION_SHIFT = OFFSET_BITS;
    private static final int MEMORY_NODE_SHIFT = OFFSET_BITS + REGION_BITS;

    private GlobalAddress() {
    }

    public static long of(int memoryNode, int region, long offset) {
        if (memoryNode < 0 || memoryNode >= MAX_MEMORY_NODES) {
            throw new IllegalArgumentException("memoryNode=" + memoryNode + " allowed=[0," + (MAX_MEMORY_NODES - 1) + "]");
        }
        if (region < 0 || region >= MAX_REGIONS) {
            throw new IllegalArgumentException("region=" + region + " allowed=[0," + (MAX_REGIONS - 1) + "]");
        }
        if (offset < 0 || offset > MAX_OFFSET) {
            throw new IllegalArgumentException("offset=" + offset + " allowed=[0," + MAX_OFFSET + "]");
        }
        return ((long) memoryNode << MEMORY_NODE_SHIFT) | ((long) region << REGION_SHIFT) | offset;
    }

    public static int memoryNode(long address) {
        return (int) (address >>> MEMORY_NODE_SHIFT);
    }

    public static int region(long address) {
        return (int) (address >>> REGION_SHIFT) & (MAX_REGIONS - 1);
    }

    public static long offset(long address) {
        return address & MAX_OFFSET;
    }

    /** The address {@code delta} bytes further into the same region; fails rather than wrap into the next region. */
    public static long plus(long address, long delta) {
        return of(memoryNode(address), region(address), offset(address) + delta);
    }

    public static String toString(long address) {
        return "node" + memoryNode(address) + "/region" + region(address) + "+" + offset(address);
    }
}
