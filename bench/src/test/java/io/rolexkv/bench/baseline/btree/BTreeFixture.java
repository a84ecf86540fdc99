package io.rolexkv.bench.baseline.btree;

import io.rolexkv.common.fabric.TestMemoryNode;

import java.util.Map;

/**
 * A {@link TestMemoryNode} with a {@code btree} region, for B+tree tests. Transport names are {@link TestMemoryNode}'s
 * (a {@code -torn} suffix tears writes).
 */
final class BTreeFixture extends TestMemoryNode {
    /** Six entries per node: trees of height 4 to 6 from a few thousand keys. */
    static final BTreeOptions SMALL_NODES = BTreeOptions.DEFAULT
            .withNodeBytes(BTreeNodeDescriptor.HEADER_BYTES + 6 * BTreeNodeDescriptor.ENTRY_BYTES)
            .withAllocationChunkNodes(4);

    BTreeFixture(String transportName, long regionBytes) {
        super(transportName, Map.of(BTreeRegionDescriptor.REGION_NAME, regionBytes));
    }
}
