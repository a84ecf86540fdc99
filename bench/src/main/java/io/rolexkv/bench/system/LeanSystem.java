package io.rolexkv.bench.system;

import io.rolexkv.computenode.EmbeddedCluster;
import io.rolexkv.computenode.engine.RolexKV;

import java.util.OptionalLong;

/**
 * The engine on the lean ROLEX layout ({@link LeanIndexKind}), under construction: for measuring it beside
 * {@code rolex} and {@code btree} on bulk-loaded runs. No retrainer runs (the lean layout has none yet), so the
 * report's retrains are empty (null).
 */
final class LeanSystem extends OneSidedSystem {
    private LeanSystem(String fabric, RolexKV engine, MemoryNodes nodes) {
        super(fabric, engine, nodes);
    }

    static LeanSystem open(SystemOptions options) {
        long records = expectedRecords(options);
        EmbeddedCluster.Regions regions = new EmbeddedCluster.Regions(
                1L << 20,
                Math.max(64L << 20, records * 64),               // delta leaves for inserts
                Math.max(16L << 20, records * 40),               // base entries (16 B), group heads, SLTs
                Math.max(16L << 20, records / 4),
                valuesRegionBytes(options));
        return open(options, LeanIndexKind.INSTANCE, regions.named(), false, LeanSystem::new);
    }

    @Override
    public String name() {
        return SystemUnderTestFactory.LEAN;
    }

    @Override
    public OptionalLong retrains() {
        return OptionalLong.empty();
    }
}
