package io.rolexkv.computenode.engine;

import io.rolexkv.common.fabric.WordOrder;
import io.rolexkv.computenode.EmbeddedCluster;
import io.rolexkv.computenode.TestClusters;
import io.rolexkv.computenode.value.ValueRegionDescriptor;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.util.Arrays;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Value space a compute node claimed goes back to the memory node when it closes: the unused rest of its chunks at
 * once, the blocks it retired once their grace period has passed in the hands of whoever takes them next.
 */
@Timeout(120)
class RolexKVValueSpaceReturnTest {
    static final int CYCLES = 1000;
    static final int KEYS = 8;

    private static byte[] value(long seed) {
        byte[] value = new byte[500];
        new Random(seed).nextBytes(value);
        return value;
    }

    /**
     * A thousand compute nodes one after another, each opening the store, overwriting a few keys (so it retires the
     * blocks the previous one linked) and closing, against a 32 MiB values region: without returns the 64th open finds
     * the region claimed by the 63 before it.
     */
    @Test
    void aThousandOpenPutCloseCyclesFitA32MiBValuesRegion() {
        assertEquals(32L << 20, EmbeddedCluster.Regions.SMALL.valuesBytes());
        try (TestClusters.Cluster cluster = TestClusters.start("loopback", 1)) {
            for (int cycle = 0; cycle < CYCLES; cycle++) {
                try (RolexKV engine = cluster.openEngine()) {
                    for (int key = 0; key < KEYS; key++) {
                        engine.put(key, value(cycle * 100L + key));
                    }
                    for (int key = 0; key < KEYS; key++) {
                        assertArrayEquals(value(cycle * 100L + key), engine.get(key).orElseThrow(),
                                "cycle=" + cycle + " key=" + key);
                    }
                } catch (RuntimeException e) {
                    throw new AssertionError("cycle " + cycle + " of " + CYCLES + " failed", e);
                }
            }
            long used = WordOrder.getLong(cluster.nodes.memory(0).segment(ValueRegionDescriptor.REGION_NAME),
                    ValueRegionDescriptor.USED_BYTES_OFFSET);
            assertTrue(used > 0, "the region counter moved: used=" + used);
            try (RolexKV last = cluster.openEngine()) {
                long[] keys = new long[KEYS];
                Arrays.setAll(keys, i -> i);
                var values = last.batchGet(keys);
                for (int key = 0; key < KEYS; key++) {
                    assertArrayEquals(value((CYCLES - 1) * 100L + key), values.get(key).orElseThrow());
                }
            }
        }
    }
}
