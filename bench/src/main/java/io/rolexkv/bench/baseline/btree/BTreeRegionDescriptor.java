package io.rolexkv.bench.baseline.btree;

/**
 * The header of the {@value #REGION_NAME} region, which holds the whole B+tree: the header occupies the place of node 0
 * (so node number 0 can mean "no node"), and node {@code n >= 1} lives at offset {@code n * nodeBytes} for ever.
 *
 * <pre>
 *   0            8            16               24             32           36           40              48
 *  +------------+------------+----------------+--------------+------------+------------+---------------+
 *  | magic      | state      | allocatedNodes | root         | nodeBytes  | reserved   | capacityNodes |
 *  |  u64       |  u64       |  u64 (FAA)     |  u64 (CAS)   |  u32       |  u32       |  u64          |
 *  +------------+------------+----------------+--------------+------------+------------+---------------+
 *  48 .. nodeBytes: reserved (zero)
 *  nodeBytes * n: node n, for 1 <= n < capacityNodes (layout in BTreeNodeDescriptor)
 *
 *  root word:
 *   63             48 47                                                   0
 *  +-----------------+------------------------------------------------------+
 *  | level (16 bits) |                  node number (48 bits)               |
 *  +-----------------+------------------------------------------------------+
 * </pre>
 *
 * <ul>
 *   <li>{@code state} is {@link #STATE_EMPTY} while a tree is being built and {@link #STATE_READY} once every node it
 *       names is written: the builder writes it last, so an opener never sees a half-built tree.</li>
 *   <li>{@code allocatedNodes}: the next node number nobody has claimed. Compute nodes claim nodes in chunks by
 *       fetch-and-add; a claim that returns a number at or beyond {@code capacityNodes} got nothing (the counter may run
 *       past capacity, readers clamp).</li>
 *   <li>{@code root}: the root node and its level, which is the tree height minus one. The height travels inside the
 *       root word so that the one CAS that installs a new root after a root split also publishes the new height; a
 *       separate height word could disagree with the root for a moment. Leaves are level 0.</li>
 *   <li>{@code nodeBytes} is fixed when the tree is built; every node, leaf or internal, has that size.</li>
 * </ul>
 */
public final class BTreeRegionDescriptor {
    /** The memory node's region that holds the tree. */
    public static final String REGION_NAME = "btree";

    public static final long MAGIC = 0x3145_4552_5442_4853L; // "SHBTREE1" little-endian
    public static final long STATE_EMPTY = 0;
    public static final long STATE_READY = 2;

    public static final int MAGIC_OFFSET = 0;
    public static final int STATE_OFFSET = 8;
    public static final int ALLOCATED_NODES_OFFSET = 16;
    public static final int ROOT_OFFSET = 24;
    public static final int NODE_BYTES_OFFSET = 32;
    public static final int CAPACITY_NODES_OFFSET = 40;
    /** Bytes of the header that carry fields; the rest of node 0's place is reserved. */
    public static final int HEADER_BYTES = 48;

    public static final int ROOT_LEVEL_SHIFT = 48;
    public static final long ROOT_NODE_MASK = (1L << ROOT_LEVEL_SHIFT) - 1;
    /** Far more levels than a tree of 2^48 nodes with at least 2 children per internal node can have. */
    public static final int MAX_LEVEL = 64;

    private BTreeRegionDescriptor() {
    }

    /** The root word for a root {@code node} at {@code level}. */
    public static long rootWord(int level, long node) {
        if (level < 0 || level > MAX_LEVEL) {
            throw new IllegalArgumentException("level=" + level + " allowed=[0," + MAX_LEVEL + "]");
        }
        if (node < 1 || node > ROOT_NODE_MASK) {
            throw new IllegalArgumentException("root node=" + node + " allowed=[1," + ROOT_NODE_MASK + "]");
        }
        return ((long) level << ROOT_LEVEL_SHIFT) | node;
    }

    public static int rootLevel(long rootWord) {
        return (int) (rootWord >>> ROOT_LEVEL_SHIFT);
    }

    public static long rootNode(long rootWord) {
        return rootWord & ROOT_NODE_MASK;
    }

    /** Offset of node {@code node} in the region. */
    public static long nodeOffset(long node, int nodeBytes) {
        return node * nodeBytes;
    }

    /** Nodes a region of {@code regionBytes} has room for, node 0 (the header's place) included. */
    public static long capacityNodes(long regionBytes, int nodeBytes) {
        return Math.min(regionBytes / nodeBytes, ROOT_NODE_MASK);
    }
}
