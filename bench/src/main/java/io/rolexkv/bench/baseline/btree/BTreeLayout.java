package io.rolexkv.bench.baseline.btree;

import io.rolexkv.common.fabric.FabricConnection;
import io.rolexkv.common.fabric.GlobalAddress;
import io.rolexkv.common.fabric.RegionInfo;

/**
 * Where a B+tree's bytes live on its memory node: the {@value BTreeRegionDescriptor#REGION_NAME} region resolved to
 * global addresses, for a given node size. Pure address arithmetic; no verbs.
 */
final class BTreeLayout {
    private final int memoryNode;
    private final RegionInfo region;
    private final int nodeBytes;
    private final int capacity;
    private final long capacityNodes;

    BTreeLayout(FabricConnection connection, int nodeBytes) {
        this.memoryNode = connection.memoryNodeId();
        this.region = connection.region(BTreeRegionDescriptor.REGION_NAME);
        this.nodeBytes = nodeBytes;
        this.capacity = BTreeNodeDescriptor.capacity(nodeBytes);
        this.capacityNodes = BTreeRegionDescriptor.capacityNodes(region.length(), nodeBytes);
    }

    int nodeBytes() {
        return nodeBytes;
    }

    /** Entries per node. */
    int capacity() {
        return capacity;
    }

    /** Node numbers the region has room for, node 0 (the header's place) included. */
    long capacityNodes() {
        return capacityNodes;
    }

    long regionBytes() {
        return region.length();
    }

    long headerAddress(int offset) {
        return GlobalAddress.of(memoryNode, region.id(), offset);
    }

    long rootAddress() {
        return headerAddress(BTreeRegionDescriptor.ROOT_OFFSET);
    }

    long allocatedNodesAddress() {
        return headerAddress(BTreeRegionDescriptor.ALLOCATED_NODES_OFFSET);
    }

    long nodeAddress(long node) {
        checkNode(node);
        return GlobalAddress.of(memoryNode, region.id(), BTreeRegionDescriptor.nodeOffset(node, nodeBytes));
    }

    long lockAddress(long node) {
        return nodeAddress(node) + BTreeNodeDescriptor.LOCK_OFFSET;
    }

    long bodyAddress(long node) {
        return nodeAddress(node) + BTreeNodeDescriptor.BODY_OFFSET;
    }

    long entryAddress(long node, int slot) {
        return nodeAddress(node) + BTreeNodeDescriptor.entryOffset(slot);
    }

    private void checkNode(long node) {
        if (node < 1 || node >= capacityNodes) {
            throw new IllegalStateException("btree node=" + node + " outside region " + region.name() + " nodes=[1,"
                    + capacityNodes + "): corrupt pointer");
        }
    }
}
