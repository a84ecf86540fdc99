package io.rolexkv.rolex.index;

import io.rolexkv.common.fabric.FabricConnection;
import io.rolexkv.common.fabric.GlobalAddress;
import io.rolexkv.common.fabric.RegionInfo;
import io.rolexkv.rolex.layout.LeafDescriptor;
import io.rolexkv.rolex.layout.LeafRegionDescriptor;
import io.rolexkv.rolex.layout.LeafTableEntry;

/**
 * Where an index's structures live on its memory node: the named regions ({@value #META_REGION},
 * {@value #LEAVES_REGION}, {@value #TABLES_REGION}, {@value #MODELS_REGION}) resolved to global addresses, and the
 * leaf geometry. Pure address arithmetic; no verbs.
 */
public final class IndexLayout {
    public static final String META_REGION = "meta";
    public static final String LEAVES_REGION = "leaves";
    public static final String TABLES_REGION = "tables";
    public static final String MODELS_REGION = "models";
    /** The only leaf region of a single-node index: entry 0 of the leaf region directory. */
    public static final int LOCAL_LEAF_REGION = 0;

    private final int memoryNode;
    private final RegionInfo meta;
    private final RegionInfo leaves;
    private final RegionInfo tables;
    private final RegionInfo models;
    private final int leafCapacity;
    private final int leafBytes;

    public IndexLayout(FabricConnection connection, int leafCapacity) {
        this.memoryNode = connection.memoryNodeId();
        this.meta = connection.region(META_REGION);
        this.leaves = connection.region(LEAVES_REGION);
        this.tables = connection.region(TABLES_REGION);
        this.models = connection.region(MODELS_REGION);
        this.leafCapacity = leafCapacity;
        this.leafBytes = LeafDescriptor.leafBytes(leafCapacity);
    }

    public int leafCapacity() {
        return leafCapacity;
    }

    public int leafBytes() {
        return leafBytes;
    }

    public long metaAddress(long offset) {
        return GlobalAddress.of(memoryNode, meta.id(), offset);
    }

    public long leavesAddress(long offset) {
        return GlobalAddress.of(memoryNode, leaves.id(), offset);
    }

    public long tablesAddress(long offset) {
        return GlobalAddress.of(memoryNode, tables.id(), offset);
    }

    public long modelsAddress(long offset) {
        return GlobalAddress.of(memoryNode, models.id(), offset);
    }

    public long metaBytes() {
        return meta.length();
    }

    public long tablesBytes() {
        return tables.length();
    }

    public long modelsBytes() {
        return models.length();
    }

    /** Leaves the leaf region can hold. */
    public long leafCapacityOfRegion() {
        return LeafRegionDescriptor.capacityLeaves(leaves.length(), leafBytes);
    }

    /** Address of the leaf an LT/SLT entry or a nextLeaf word names. */
    public long leafAddress(long reference) {
        int region = LeafTableEntry.leafRegion(reference);
        if (region != LOCAL_LEAF_REGION) {
            throw new IllegalStateException("leafRegion=" + region + " is not in this index's leaf region directory");
        }
        return leavesAddress(LeafRegionDescriptor.leafOffset(LeafTableEntry.leafNumber(reference), leafBytes));
    }
}
