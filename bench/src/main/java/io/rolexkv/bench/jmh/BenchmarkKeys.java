package io.rolexkv.bench.jmh;

import org.apache.commons.math3.distribution.LogNormalDistribution;
import org.apache.commons.math3.random.Well19937c;

import java.util.Arrays;
import java.util.SplittableRandom;

/**
 * Sorted, distinct unsigned key sets for the benchmarks (the JMH model benchmarks and the index bench), from fixed
 * seeds so every run measures the same keys. Uniform keys are the easy case for a learned index (gaps are i.i.d.,
 * segments long); clustered keys are the hard one (dense runs with skewed gaps, and long jumps between runs).
 */
public final class BenchmarkKeys {
    /** Clusters in a clustered set of {@link #generate}; each sits at a random place in its own 1/64 of the key space. */
    public static final int CLUSTERS_DEFAULT = 64;

    private BenchmarkKeys() {
    }

    static long[] generate(String distribution, int size, long seed) {
        return switch (distribution) {
            case "uniform" -> uniform(size, seed);
            case "clustered" -> clustered(size, CLUSTERS_DEFAULT, seed);
            default -> throw new IllegalArgumentException("distribution=" + distribution
                + " allowed=[uniform, clustered]");
        };
    }

    /** {@code size} distinct keys uniform over all 2^64 values, in unsigned order. */
    public static long[] uniform(int size, long seed) {
        SplittableRandom random = new SplittableRandom(seed);
        long[] flipped = new long[0];
        while (flipped.length < size) {
            long[] more = Arrays.copyOf(flipped, size);
            for (int i = flipped.length; i < size; i++) {
                more[i] = random.nextLong();
            }
            Arrays.sort(more);
            flipped = Arrays.copyOf(more, distinctPrefix(more));
        }
        // Sorted as signed values, which are the keys with their sign bit flipped: flip back for unsigned order.
        for (int i = 0; i < size; i++) {
            flipped[i] ^= Long.MIN_VALUE;
        }
        return flipped;
    }

    /**
     * {@code size} keys in {@code clusters} clusters of equal size, each at a random place in its own
     * {@code 1/clusters} of the key space; inside a cluster gaps are 1 + lognormal(1, 1.5), capped at 10^6.
     */
    public static long[] clustered(int size, int clusters, long seed) {
        if (clusters < 1 || clusters > size) {
            throw new IllegalArgumentException("clusters=" + clusters + " allowed=[1," + size + "] for size=" + size);
        }
        SplittableRandom random = new SplittableRandom(seed);
        LogNormalDistribution gaps = new LogNormalDistribution(new Well19937c(seed), 1.0, 1.5,
            LogNormalDistribution.DEFAULT_INVERSE_ABSOLUTE_ACCURACY);
        long regionWidth = Long.divideUnsigned(-1L, clusters);
        long[] keys = new long[size];
        int index = 0;
        for (int cluster = 0; cluster < clusters; cluster++) {
            int clusterSize = cluster == clusters - 1 ? size - index : size / clusters;
            // Start in the first half of the region; a cluster spans far less than the other half.
            long key = cluster * regionWidth + (random.nextLong() >>> 1) % Long.divideUnsigned(regionWidth, 2);
            for (int i = 0; i < clusterSize; i++) {
                keys[index++] = key;
                key += 1 + (long) Math.min(gaps.sample(), 1e6);
            }
        }
        return keys;
    }

    /** Keys drawn at random (with repeats) from {@code keys}: a stream of lookups of stored keys. */
    public static long[] lookupsOf(long[] keys, int count, long seed) {
        SplittableRandom random = new SplittableRandom(seed);
        long[] lookups = new long[count];
        for (int i = 0; i < count; i++) {
            lookups[i] = keys[random.nextInt(keys.length)];
        }
        return lookups;
    }

    private static int distinctPrefix(long[] sorted) {
        int distinct = 0;
        for (int i = 0; i < sorted.length; i++) {
            if (i == 0 || sorted[i] != sorted[i - 1]) {
                sorted[distinct++] = sorted[i];
            }
        }
        return distinct;
    }
}
