package io.rolexkv.bench.system;

import io.rolexkv.computenode.EmbeddedCluster;
import io.rolexkv.computenode.engine.RolexKV;

import java.util.OptionalLong;

/**
 * The engine on the lean ROLEX layout ({@link LeanIndexKind}), which is to replace the current one: for measuring it beside
 * {@code rolex} and {@code btree}. Embedded nodes compact and retrain it in the background ({@code LeanRetrainer}).
 */
final class LeanSystem extends OneSidedSystem {
    private LeanSystem(String fabric, RolexKV engine, MemoryNodes nodes) {
        super(fabric, engine, nodes);
    }

    static LeanSystem open(SystemOptions options) {
        long records = expectedRecords(options);
        EmbeddedCluster.Regions regions = new EmbeddedCluster.Regions(
                1L << 20,
                Math.max(64L << 20, records * 64),               // delta leaves for inserts, reused once compacted
                Math.max(16L << 20, records * 40),               // base entries (16 B), group heads, SLTs
                Math.max(16L << 20, records / 4),
                valuesRegionBytes(options));
        return open(options, LeanIndexKind.INSTANCE, regions.named(), true, LeanSystem::new);
    }

    @Override
    public String name() {
        return SystemUnderTestFactory.LEAN;
    }

    /** The memory nodes' own count of completed compactions, read from each node's index meta region. */
    @Override
    public OptionalLong retrains() {
        return retrainsPublished();
    }
}
