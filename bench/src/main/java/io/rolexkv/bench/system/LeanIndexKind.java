package io.rolexkv.bench.system;

import io.rolexkv.common.fabric.FabricConnection;
import io.rolexkv.computenode.engine.IndexKind;
import io.rolexkv.computenode.engine.RolexIndexKind;
import io.rolexkv.computenode.engine.RolexKVConfig;
import io.rolexkv.rolex.index.IndexCounters;
import io.rolexkv.rolex.index.LeanIndex;
import io.rolexkv.rolex.index.WordIndex;

import java.lang.foreign.MemorySegment;
import java.util.List;

/**
 * The lean ROLEX layout ({@link LeanIndex}), which is to replace the current one, as the engine's index, so that it can be measured
 * under YCSB beside {@code rolex} and the B+tree before it replaces the current layout. Its geometry is fixed here
 * (epsilon 12, groups of 32 base entries, delta leaves of 16): at 1M and 10M keys bulk loaded, the error bound that
 * keeps a lookup under 512 bytes with the model cache under 0.25 bytes per key ({@code LeanIndexTest},
 * {@code bench/GEOMETRY.md}). Memory nodes compact and retrain it ({@code LeanRetrainer}) as inserts grow it.
 */
final class LeanIndexKind implements IndexKind {
    static final LeanIndexKind INSTANCE = new LeanIndexKind();
    static final int EPSILON = 12;
    static final int GROUP_SIZE = 32;
    static final int DELTA_CAPACITY = 16;
    static final int EMPTY_INDEX_GROUPS = 1024;

    private LeanIndexKind() {
    }

    @Override
    public String name() {
        return SystemUnderTestFactory.LEAN;
    }

    /** The same four regions and the same meta-region readiness probe as the current layout's. */
    @Override
    public List<String> regionNames() {
        return RolexIndexKind.INSTANCE.regionNames();
    }

    @Override
    public long readyProbeAddress(FabricConnection connection) {
        return RolexIndexKind.INSTANCE.readyProbeAddress(connection);
    }

    @Override
    public boolean isReady(MemorySegment probe) {
        return RolexIndexKind.INSTANCE.isReady(probe);
    }

    @Override
    public WordIndex open(FabricConnection connection, RolexKVConfig config, RolexKVConfig.MemoryNodeRange range) {
        return LeanIndex.open(connection);
    }

    @Override
    public WordIndex createEmpty(FabricConnection connection, RolexKVConfig config, RolexKVConfig.MemoryNodeRange range) {
        return LeanIndex.createEmpty(connection, EPSILON, GROUP_SIZE, EMPTY_INDEX_GROUPS, DELTA_CAPACITY);
    }

    @Override
    public WordIndex bulkLoad(FabricConnection connection, RolexKVConfig config, RolexKVConfig.MemoryNodeRange range, long[] sortedKeys,
                              long[] words) {
        return LeanIndex.bulkLoad(connection, EPSILON, GROUP_SIZE, DELTA_CAPACITY, sortedKeys, words);
    }

    /** Lock conflicts and splits (new delta leaves included); the lean index counts nothing else yet. */
    @Override
    public IndexCounters.Snapshot counters(WordIndex index) {
        LeanIndex lean = (LeanIndex) index;
        return new IndexCounters.Snapshot(0, lean.chainDoorbells(), lean.lockConflicts(), 0,
                lean.splits() + lean.deltaLeavesStarted(), 0, 0, 0);
    }
}
