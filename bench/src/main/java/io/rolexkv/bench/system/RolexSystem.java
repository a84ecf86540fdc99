package io.rolexkv.bench.system;

import io.rolexkv.computenode.EmbeddedCluster;
import io.rolexkv.computenode.engine.RolexIndexKind;
import io.rolexkv.computenode.engine.RolexKV;

import java.util.OptionalLong;

/**
 * The {@code rolex} engine as a system under test, on its {@link MemoryNodes}. Embedded nodes compact and retrain in
 * the background (a child memory node does so by itself), and writes wait for that rather than fail.
 */
final class RolexSystem extends OneSidedSystem {
    private RolexSystem(String fabric, RolexKV engine, MemoryNodes nodes) {
        super(fabric, engine, nodes);
    }

    static RolexSystem open(SystemOptions options) {
        long records = expectedRecords(options);
        EmbeddedCluster.Regions regions = new EmbeddedCluster.Regions(
                1L << 20,
                Math.max(64L << 20, records * 64),               // delta leaves for inserts, reused once compacted
                Math.max(16L << 20, records * 40),               // base entries (16 B), group heads, SLTs
                Math.max(16L << 20, records / 4),
                valuesRegionBytes(options));
        return open(options, RolexIndexKind.INSTANCE, regions.named(), true, RolexSystem::new);
    }

    @Override
    public String name() {
        return SystemUnderTestFactory.ROLEX;
    }

    /** The memory nodes' own count of completed compactions, read from each node's index meta region. */
    @Override
    public OptionalLong retrains() {
        return retrainsPublished();
    }
}
