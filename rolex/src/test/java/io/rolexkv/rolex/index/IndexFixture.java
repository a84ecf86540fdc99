package io.rolexkv.rolex.index;

import io.rolexkv.common.fabric.TestMemoryNode;

import java.util.LinkedHashMap;
import java.util.Map;

/**
 * A {@link TestMemoryNode} with the regions an index needs, for index tests. Transport names are
 * {@link TestMemoryNode}'s; {@value #TORN} is loopback through the fault-injecting decorator, tearing most WRITEs into
 * pieces applied out of order, with latency.
 */
final class IndexFixture extends TestMemoryNode {
    static final String TORN = "loopback" + TORN_SUFFIX;

    IndexFixture(String transportName, long leavesBytes) {
        super(transportName, regions(leavesBytes));
    }

    /** The four regions of an index, with a leaf region of {@code leavesBytes}. */
    static Map<String, Long> regions(long leavesBytes) {
        Map<String, Long> regions = new LinkedHashMap<>();
        regions.put(IndexLayout.META_REGION, 4096L);
        regions.put(IndexLayout.LEAVES_REGION, leavesBytes);
        regions.put(IndexLayout.TABLES_REGION, 32L << 20);
        regions.put(IndexLayout.MODELS_REGION, 8L << 20);
        return regions;
    }
}
