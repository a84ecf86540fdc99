package io.rolexkv.rolex.index;

import org.junit.jupiter.api.Test;

import java.lang.management.ManagementFactory;
import java.util.Arrays;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * A warm lookup of the lean layout allocates nothing per call on a transport that completes a doorbell in place
 * (loopback): the doorbell and its completion are reused, the window is searched where the completion landed, the
 * per-group cache boxes no key, and {@link LeanIndex#find} puts the word into the caller's holder. Checked for present and
 * absent keys of a bulk-loaded index; a group with delta leaves takes the general path, which allocates.
 */
class LeanLookupAllocationTest {

    @Test
    void aWarmLookupAllocatesNothingPerCall() {
        Random random = new Random(5);
        // Even keys in unsigned order (sign bit flipped to sort): the odd key above each is absent.
        long[] unsigned = random.longs(40_000).map(key -> (key & ~1L) ^ Long.MIN_VALUE).sorted().distinct()
                .map(key -> key ^ Long.MIN_VALUE).toArray();
        long[] values = Arrays.stream(unsigned).map(key -> ~key).toArray();
        try (IndexFixture node = new IndexFixture("loopback", 1L << 20)) {
            LeanIndex.bulkLoad(node.connect(), IndexGeometry.DEFAULT, unsigned, values);
            LeanIndex index = LeanIndex.open(node.connect());
            com.sun.management.ThreadMXBean threads = (com.sun.management.ThreadMXBean) ManagementFactory.getThreadMXBean();
            FoundWord found = new FoundWord();
            int calls = 100_000;
            long sum = 0;
            long expected = 0;
            for (int round = 0; round < 3; round++) { // the first rounds warm up the scratch pool and the JIT
                long before = threads.getCurrentThreadAllocatedBytes();
                for (int call = 0; call < calls; call++) {
                    long key = unsigned[(int) ((call * 2_654_435_761L) % unsigned.length)] | (call & 1); // odd: absent
                    if (index.find(key, found)) {
                        sum += found.word();
                    }
                    if (round == 2 && (call & 1) == 0) {
                        expected += ~key;
                    }
                }
                long allocated = threads.getCurrentThreadAllocatedBytes() - before;
                if (round == 2) {
                    assertTrue(allocated < calls / 10, "allocated=" + allocated + " bytes over lookups=" + calls);
                }
                if (round < 2) {
                    sum = 0;
                }
            }
            assertEquals(expected, sum, "every present key's word, nothing for the absent ones");
        }
    }
}
