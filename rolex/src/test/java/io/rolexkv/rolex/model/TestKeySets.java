package io.rolexkv.rolex.model;

import org.apache.commons.math3.distribution.LogNormalDistribution;
import org.apache.commons.math3.random.Well19937c;

import java.util.Arrays;
import java.util.SplittableRandom;
import java.util.function.LongFunction;

/**
 * Sorted, distinct unsigned key sets for model tests, each from a fixed seed. The shapes are the ones a learned
 * index meets (uniform, sequential, skewed gaps, dense clusters) and the ones that break careless code (keys near
 * 0 and near 2^64 - 1, a run across 2^63, gaps of every size from 1 to 2^62).
 */
final class TestKeySets {
    private TestKeySets() {
    }

    /** A named generator, so parameterized tests say which distribution failed. */
    record Distribution(String name, LongFunction<long[]> generator) {
        long[] keys(long seedAndSize) {
            return generator.apply(seedAndSize);
        }

        @Override
        public String toString() {
            return name;
        }
    }

    static Distribution[] all(int size) {
        return new Distribution[]{
            new Distribution("uniform", seed -> uniform(size, seed)),
            new Distribution("sequential", seed -> sequential(size, 1_000_000L, 1)),
            new Distribution("sequential-step-7", seed -> sequential(size, 0, 7)),
            new Distribution("lognormal-gaps", seed -> lognormalGaps(size, seed, 0L)),
            new Distribution("dense-clusters", seed -> denseClusters(size, 5, seed)),
            new Distribution("near-zero", seed -> nearZero(size, seed)),
            new Distribution("near-top", seed -> nearTop(size, seed)),
            new Distribution("across-sign-bit", seed -> acrossSignBit(size, seed)),
            new Distribution("mixed-gap-sizes", seed -> mixedGapSizes(size, seed)),
        };
    }

    /** Uniform over all 2^64 keys, sorted unsigned, duplicates dropped (so possibly a few fewer than asked). */
    static long[] uniform(int size, long seed) {
        SplittableRandom random = new SplittableRandom(seed);
        long[] keys = new long[size];
        for (int i = 0; i < size; i++) {
            keys[i] = random.nextLong();
        }
        return sortedDistinctUnsigned(keys);
    }

    static long[] sequential(int size, long start, long step) {
        long[] keys = new long[size];
        for (int i = 0; i < size; i++) {
            keys[i] = start + i * step;
        }
        return keys;
    }

    /** Gaps 1 + lognormal(mu 2, sigma 2): mostly small, with a heavy tail; the skew of real key sets. */
    static long[] lognormalGaps(int size, long seed, long start) {
        LogNormalDistribution gaps = new LogNormalDistribution(new Well19937c(seed), 2.0, 2.0,
            LogNormalDistribution.DEFAULT_INVERSE_ABSOLUTE_ACCURACY);
        long[] keys = new long[size];
        long key = start;
        for (int i = 0; i < size; i++) {
            keys[i] = key;
            key += 1 + (long) Math.min(gaps.sample(), 1e12);
        }
        return keys;
    }

    /** A few dense clusters (gaps 1..8) at random places in the key space, far apart. */
    static long[] denseClusters(int size, int clusters, long seed) {
        SplittableRandom random = new SplittableRandom(seed);
        long[] keys = new long[size];
        int index = 0;
        for (int cluster = 0; cluster < clusters; cluster++) {
            int clusterSize = cluster == clusters - 1 ? size - index : size / clusters;
            long key = random.nextLong();
            for (int i = 0; i < clusterSize; i++) {
                keys[index++] = key;
                key += 1 + random.nextInt(8);
            }
        }
        return sortedDistinctUnsigned(keys);
    }

    /** From key 0 up, small random gaps. */
    static long[] nearZero(int size, long seed) {
        SplittableRandom random = new SplittableRandom(seed);
        long[] keys = new long[size];
        long key = 0;
        for (int i = 0; i < size; i++) {
            keys[i] = key;
            key += 1 + random.nextInt(100);
        }
        return keys;
    }

    /** Down to the largest key 2^64 - 1, small random gaps. */
    static long[] nearTop(int size, long seed) {
        SplittableRandom random = new SplittableRandom(seed);
        long[] keys = new long[size];
        long key = UnsignedKeys.MAX_KEY;
        for (int i = size - 1; i >= 0; i--) {
            keys[i] = key;
            key -= 1 + random.nextInt(100);
        }
        return keys;
    }

    /** A run centred on 2^63, where signed order breaks. */
    static long[] acrossSignBit(int size, long seed) {
        SplittableRandom random = new SplittableRandom(seed);
        long[] keys = new long[size];
        long key = Long.MIN_VALUE - (long) (size / 2) * 50;
        for (int i = 0; i < size; i++) {
            keys[i] = key;
            key += 1 + random.nextInt(99);
        }
        return keys;
    }

    /** Random keys shifted right by 0..63 bits: dense near 0, sparse above, gaps of every magnitude. */
    static long[] mixedGapSizes(int size, long seed) {
        SplittableRandom random = new SplittableRandom(seed);
        long[] keys = new long[size];
        for (int i = 0; i < size; i++) {
            keys[i] = random.nextLong() >>> random.nextInt(64);
        }
        return sortedDistinctUnsigned(keys);
    }

    /** Random keys drawn from a small range, so ties and collinear points are common. */
    static long[] smallRange(int size, int range, long base, SplittableRandom random) {
        long[] keys = new long[size];
        for (int i = 0; i < size; i++) {
            keys[i] = base + random.nextInt(range);
        }
        return sortedDistinctUnsigned(keys);
    }

    static long[] sortedDistinctUnsigned(long[] keys) {
        long[] flipped = new long[keys.length];
        for (int i = 0; i < keys.length; i++) {
            flipped[i] = keys[i] ^ Long.MIN_VALUE;
        }
        Arrays.sort(flipped);
        int distinct = 0;
        for (int i = 0; i < flipped.length; i++) {
            if (i == 0 || flipped[i] != flipped[i - 1]) {
                flipped[distinct++] = flipped[i];
            }
        }
        long[] result = new long[distinct];
        for (int i = 0; i < distinct; i++) {
            result[i] = flipped[i] ^ Long.MIN_VALUE;
        }
        return result;
    }
}
