package io.rolexkv.common.fabric.rdma;

import io.rolexkv.common.fabric.GlobalAddress;
import io.rolexkv.common.fabric.RegionInfo;

import java.util.ArrayList;
import java.util.List;

/**
 * The regions of one memory node as a client sees them after the connection's region exchange, indexed by region id.
 * Immutable.
 */
public final class RdmaRegionTable {
    private final int memoryNodeId;
    private final long incarnation;
    private final RdmaRemoteRegion[] byId;
    private final List<RegionInfo> infos;

    /**
     * @param incarnation the incarnation of the node's data ({@link io.rolexkv.common.fabric.FabricConnection#incarnation()})
     * @param regions     one entry per region, ids {@code 0..n-1} in any order, each once
     */
    public RdmaRegionTable(int memoryNodeId, long incarnation, List<RdmaRemoteRegion> regions) {
        if (memoryNodeId < 0 || memoryNodeId >= GlobalAddress.MAX_MEMORY_NODES) {
            throw new IllegalArgumentException("memory_node_id=" + memoryNodeId + " allowed=[0,"
                    + (GlobalAddress.MAX_MEMORY_NODES - 1) + "]");
        }
        RdmaRemoteRegion[] table = new RdmaRemoteRegion[regions.size()];
        for (RdmaRemoteRegion region : regions) {
            int id = region.info().id();
            if (id >= table.length || table[id] != null) {
                throw new IllegalArgumentException("memory node " + memoryNodeId + " region ids must be 0.."
                        + (table.length - 1) + " each once; bad id=" + id);
            }
            table[id] = region;
        }
        List<RegionInfo> list = new ArrayList<>(table.length);
        for (RdmaRemoteRegion region : table) {
            list.add(region.info());
        }
        this.memoryNodeId = memoryNodeId;
        this.incarnation = incarnation;
        this.byId = table;
        this.infos = List.copyOf(list);
    }

    public int memoryNodeId() {
        return memoryNodeId;
    }

    public long incarnation() {
        return incarnation;
    }

    /** Region {@code id}, or {@code null} when the node has no such region (the caller names the bad verb). */
    public RdmaRemoteRegion regionOrNull(int id) {
        return id >= 0 && id < byId.length ? byId[id] : null;
    }

    public int regionCount() {
        return byId.length;
    }

    /** The regions in id order, as {@link io.rolexkv.common.fabric.FabricConnection#regions()} returns them. */
    public List<RegionInfo> regionInfos() {
        return infos;
    }

    /** The regions in id order. */
    public List<RdmaRemoteRegion> regions() {
        return List.of(byId);
    }
}
