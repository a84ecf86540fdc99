package io.rolexkv.computenode.engine;

import io.rolexkv.common.fabric.FabricConnection;
import io.rolexkv.common.fabric.GlobalAddress;
import io.rolexkv.common.fabric.WordOrder;
import io.rolexkv.rolex.index.IndexCounters;
import io.rolexkv.rolex.index.IndexGeometry;
import io.rolexkv.rolex.index.IndexLayout;
import io.rolexkv.rolex.index.LeanIndex;
import io.rolexkv.rolex.index.WordIndex;
import io.rolexkv.rolex.layout.IndexMetaDescriptor;
import io.rolexkv.rolex.model.UnsignedKeys;

import java.lang.foreign.MemorySegment;
import java.time.Duration;
import java.util.List;

/**
 * The ROLEX learned index ({@link LeanIndex}) as the engine's index, the default kind: its four regions, its meta
 * region's magic and state words as the readiness probe, the config's {@link IndexGeometry} (an empty index's groups
 * scaled to the node's share of the key space), and writes that wait {@code index_room_wait_ms} for a compaction when
 * a synonym table is full.
 */
public final class RolexIndexKind implements IndexKind {
    public static final RolexIndexKind INSTANCE = new RolexIndexKind();

    private static final List<String> REGIONS = List.of(IndexLayout.META_REGION, IndexLayout.LEAVES_REGION,
            IndexLayout.TABLES_REGION, IndexLayout.MODELS_REGION);

    private RolexIndexKind() {
    }

    @Override
    public String name() {
        return RolexKVConfig.ENGINE_TYPE;
    }

    @Override
    public List<String> regionNames() {
        return REGIONS;
    }

    @Override
    public long readyProbeAddress(FabricConnection connection) {
        return GlobalAddress.of(connection.memoryNodeId(), connection.region(IndexLayout.META_REGION).id(), 0);
    }

    @Override
    public boolean isReady(MemorySegment probe) {
        return WordOrder.getLong(probe, IndexMetaDescriptor.MAGIC_OFFSET) == IndexMetaDescriptor.MAGIC
                && WordOrder.getLong(probe, IndexMetaDescriptor.STATE_OFFSET) == IndexMetaDescriptor.STATE_READY;
    }

    @Override
    public WordIndex open(FabricConnection connection, RolexKVConfig config, RolexKVConfig.MemoryNodeRange range) {
        return withRoomWait(LeanIndex.open(connection), config);
    }

    @Override
    public WordIndex createEmpty(FabricConnection connection, RolexKVConfig config, RolexKVConfig.MemoryNodeRange range) {
        return withRoomWait(LeanIndex.createEmpty(connection, geometry(config, range)), config);
    }

    @Override
    public WordIndex bulkLoad(FabricConnection connection, RolexKVConfig config, RolexKVConfig.MemoryNodeRange range, long[] sortedKeys,
                              long[] words) {
        return withRoomWait(LeanIndex.bulkLoad(connection, geometry(config, range), sortedKeys, words), config);
    }

    @Override
    public IndexCounters.Snapshot counters(WordIndex index) {
        return ((LeanIndex) index).counters();
    }

    private static LeanIndex withRoomWait(LeanIndex index, RolexKVConfig config) {
        return index.waitForRoom(Duration.ofMillis(config.roomWaitMillis()));
    }

    private static IndexGeometry geometry(RolexKVConfig config, RolexKVConfig.MemoryNodeRange range) {
        return scaledGeometry(config.geometry(), range, config.memoryNodes().size());
    }

    /**
     * The geometry for one node's indexes. {@code empty_index_groups} counts the groups an empty index gives this
     * node's key range; the empty index's groups span the whole key space, so it gets that many divided by the
     * fraction of the key space the range covers (an even split of n nodes: n times as many), but never more than n
     * times as many, so a node that owns a sliver of the key space does not get millions of groups it cannot use.
     */
    static IndexGeometry scaledGeometry(IndexGeometry geometry, RolexKVConfig.MemoryNodeRange range, int memoryNodes) {
        double fraction = (UnsignedKeys.toDouble(range.lastKey() - range.firstKey()) + 1.0) / 0x1.0p64;
        double scale = Math.min(1.0 / fraction, memoryNodes);
        double groups = Math.ceil(geometry.emptyIndexGroups() * scale);
        return geometry.withEmptyIndexGroups((int) Math.min(groups, IndexGeometry.EMPTY_INDEX_GROUPS_MAX));
    }

    @Override
    public String toString() {
        return name();
    }
}
