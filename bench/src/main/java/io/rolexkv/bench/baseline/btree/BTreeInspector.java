package io.rolexkv.bench.baseline.btree;

import io.rolexkv.common.fabric.BatchResult;
import io.rolexkv.common.fabric.DoorbellBatch;
import io.rolexkv.common.fabric.FabricConnection;
import io.rolexkv.common.fabric.WordOrder;

import java.lang.foreign.MemorySegment;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * Reads a whole B+tree from its memory node and checks the B-link invariants: each level's nodes, followed along
 * sibling links from the leftmost, partition the key space with adjacent fences; each internal level routes exactly the
 * next level's nodes in that order, each by its low fence; leaf keys ascend across the whole chain. Returns the tree's
 * shape for reports. For tests and reports only: the tree must be quiescent (no writer running), or a torn or
 * half-split state is reported as a violation.
 */
public final class BTreeInspector {

    /**
     * @param height         levels, leaves included
     * @param nodesPerLevel  nodes on each level, leaves first
     * @param keys           keys stored
     * @param allocatedNodes node numbers handed out (claimed chunks included, used or not), node 0 not counted
     * @param nodeBytes      bytes per node
     */
    public record Stats(int height, long[] nodesPerLevel, long keys, long allocatedNodes, int nodeBytes) {
        /** Nodes in the tree, leaves included. */
        public long nodes() {
            return Arrays.stream(nodesPerLevel).sum();
        }

        public long internalNodes() {
            return nodes() - nodesPerLevel[0];
        }

        @Override
        public String toString() {
            return "Stats[height=" + height + " nodesPerLevel=" + Arrays.toString(nodesPerLevel) + " keys=" + keys
                    + " allocatedNodes=" + allocatedNodes + " nodeBytes=" + nodeBytes + "]";
        }
    }

    private BTreeInspector() {
    }

    /**
     * Reads and checks the tree on the connection's memory node.
     *
     * @throws IllegalStateException naming the first violated invariant
     */
    public static Stats inspect(FabricConnection connection) {
        BTreeLayout probe = new BTreeLayout(connection, BTreeNodeDescriptor.MIN_NODE_BYTES);
        DoorbellBatch headerRead = new DoorbellBatch();
        int headerVerb = headerRead.read(probe.headerAddress(0), BTreeRegionDescriptor.HEADER_BYTES);
        MemorySegment header = connection.execute(headerRead).read(headerVerb);
        if (WordOrder.getLong(header, BTreeRegionDescriptor.MAGIC_OFFSET) != BTreeRegionDescriptor.MAGIC
                || WordOrder.getLong(header, BTreeRegionDescriptor.STATE_OFFSET) != BTreeRegionDescriptor.STATE_READY) {
            throw new IllegalStateException("no btree on memory node " + connection.memoryNodeId());
        }
        int nodeBytes = header.get(WordOrder.INT_UNALIGNED, BTreeRegionDescriptor.NODE_BYTES_OFFSET);
        BTreeLayout layout = new BTreeLayout(connection, nodeBytes);
        long rootWord = WordOrder.getLong(header, BTreeRegionDescriptor.ROOT_OFFSET);
        long allocated = Math.min(WordOrder.getLong(header, BTreeRegionDescriptor.ALLOCATED_NODES_OFFSET),
                layout.capacityNodes());
        BTreeNode[] nodes = readAll(connection, layout, allocated);

        int rootLevel = BTreeRegionDescriptor.rootLevel(rootWord);
        long[] nodesPerLevel = new long[rootLevel + 1];
        long leftmost = BTreeRegionDescriptor.rootNode(rootWord);
        List<Long> routed = List.of(leftmost);
        long keys = 0;
        for (int level = rootLevel; level >= 0; level--) {
            List<Long> chain = new ArrayList<>();
            List<Long> children = new ArrayList<>();
            long expectedLow = 0;
            boolean emitted = false;
            long lastKey = 0;
            for (long node = leftmost; node != 0; ) {
                BTreeNode contents = node < nodes.length ? nodes[(int) node] : null;
                if (contents == null) {
                    throw violation(node, "linked at level=" + level + " but unreadable (never written, or torn)");
                }
                if (contents.level() != level) {
                    throw violation(node, "linked at level=" + level + " but says level=" + contents.level());
                }
                if (contents.lowFence() != expectedLow) {
                    throw violation(node, "low fence=" + Long.toUnsignedString(contents.lowFence()) + " expected="
                            + Long.toUnsignedString(expectedLow) + " (fences of a level must be adjacent)");
                }
                if (chain.size() > allocated) {
                    throw violation(node, "sibling links form a cycle at level=" + level);
                }
                chain.add(node);
                if (level > 0) {
                    for (int i = 0; i < contents.count(); i++) {
                        children.add(contents.value(i));
                    }
                } else {
                    long[][] entries = contents.sortedEntries();
                    for (long key : entries[0]) {
                        if (emitted && Long.compareUnsigned(lastKey, key) >= 0) {
                            throw violation(node, "leaf key=" + Long.toUnsignedString(key) + " not above the previous key="
                                    + Long.toUnsignedString(lastKey));
                        }
                        emitted = true;
                        lastKey = key;
                        keys++;
                    }
                }
                if (contents.highFence() == -1L) {
                    break;
                }
                expectedLow = contents.highFence() + 1;
                node = contents.sibling();
            }
            if (!chain.equals(routed)) {
                throw new IllegalStateException("btree level=" + level + " has nodes " + abbreviate(chain)
                        + " along its links but the level above routes " + abbreviate(routed));
            }
            if (level > 0) {
                for (long node : chain) {
                    BTreeNode contents = nodes[(int) node];
                    for (int i = 0; i < contents.count(); i++) {
                        long child = contents.value(i);
                        BTreeNode childContents = child < nodes.length ? nodes[(int) child] : null;
                        if (childContents == null || childContents.lowFence() != contents.key(i)) {
                            throw violation(node, "entry " + i + " routes key=" + Long.toUnsignedString(contents.key(i))
                                    + " to node=" + child + " whose low fence is "
                                    + (childContents == null ? "unreadable" : Long.toUnsignedString(childContents.lowFence())));
                        }
                    }
                }
                leftmost = nodes[chain.getFirst().intValue()].value(0);
            }
            nodesPerLevel[level] = chain.size();
            routed = children;
        }
        return new Stats(rootLevel + 1, nodesPerLevel, keys, allocated - 1, nodeBytes);
    }

    private static BTreeNode[] readAll(FabricConnection connection, BTreeLayout layout, long allocated) {
        BTreeNode[] nodes = new BTreeNode[Math.toIntExact(allocated)];
        int perDoorbell = Math.max(1, BTreeLoader.BULK_BYTES_PER_DOORBELL / layout.nodeBytes());
        for (long first = 1; first < allocated; first += perDoorbell) {
            int count = (int) Math.min(perDoorbell, allocated - first);
            DoorbellBatch batch = new DoorbellBatch();
            int verb = batch.read(layout.nodeAddress(first), count * layout.nodeBytes());
            BatchResult result = connection.execute(batch);
            MemorySegment bytes = result.read(verb);
            for (int i = 0; i < count; i++) {
                nodes[(int) first + i] = BTreeNode.decodeOrNull(
                        bytes.asSlice((long) i * layout.nodeBytes(), layout.nodeBytes()), first + i, layout.capacity());
            }
        }
        return nodes;
    }

    private static IllegalStateException violation(long node, String detail) {
        return new IllegalStateException("btree node=" + node + ": " + detail);
    }

    private static String abbreviate(List<Long> nodes) {
        return nodes.size() <= 12 ? nodes.toString()
                : nodes.subList(0, 12) + "... (" + nodes.size() + " nodes)";
    }
}
