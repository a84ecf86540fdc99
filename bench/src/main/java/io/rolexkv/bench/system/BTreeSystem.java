package io.rolexkv.bench.system;

import io.rolexkv.bench.baseline.btree.BTreeIndexKind;
import io.rolexkv.bench.baseline.btree.BTreeRegionDescriptor;
import io.rolexkv.computenode.engine.RolexKV;
import io.rolexkv.computenode.value.ValueRegionDescriptor;

import java.util.LinkedHashMap;
import java.util.Map;
import java.util.OptionalLong;

/**
 * The Sherman-style B+tree baseline as a system under test: the same engine, value store, fabric and memory-node
 * lifecycle as {@code rolex}, with {@link BTreeIndexKind} as the index. Memory nodes get a
 * {@value BTreeRegionDescriptor#REGION_NAME} region and the values region, and nothing for a retrainer to do: a
 * B+tree splits as it grows and never retrains, so the report's retrains are empty (null). Its model cache is the
 * internal nodes the compute node caches.
 */
final class BTreeSystem extends OneSidedSystem {
    private BTreeSystem(String fabric, RolexKV engine, MemoryNodes nodes) {
        super(fabric, engine, nodes);
    }

    static BTreeSystem open(SystemOptions options) {
        Map<String, Long> regions = new LinkedHashMap<>();
        // ~30 keys per 1 KB leaf at load, ~20 once inserts have split leaves in half: room for 2.5 times that.
        regions.put(BTreeRegionDescriptor.REGION_NAME, Math.max(64L << 20, expectedRecords(options) * 128));
        regions.put(ValueRegionDescriptor.REGION_NAME, valuesRegionBytes(options));
        return open(options, BTreeIndexKind.DEFAULT, regions, false, BTreeSystem::new);
    }

    @Override
    public String name() {
        return SystemUnderTestFactory.BTREE;
    }

    /** None: a B+tree does not retrain. */
    @Override
    public OptionalLong retrains() {
        return OptionalLong.empty();
    }
}
