package io.rolexkv.bench.index;

import io.rolexkv.bench.jmh.BenchmarkKeys;

import java.util.SplittableRandom;

/**
 * The keys of one bench run: those bulk loaded, and fresh ones to insert later, drawn from the same distribution. Both
 * come from one key set of {@code loaded + inserts} keys: a random choice of them (fixed seed) is held out of the bulk
 * load and inserted afterwards, so the inserts land where the loaded keys are dense, exactly as the distribution says,
 * and never repeat a loaded key.
 *
 * @param loaded  strictly increasing (unsigned): what the bulk load gets
 * @param inserts distinct, none of them loaded, in random order: the order they are inserted in
 */
public record IndexKeySet(long[] loaded, long[] inserts) {

    /** The keys of {@code dataset}: {@code loadCount} to load and {@code insertCount} held out for inserts. */
    public static IndexKeySet generate(IndexDataset dataset, int loadCount, int insertCount, int clusters, long seed) {
        int total = Math.addExact(loadCount, insertCount);
        long[] all = switch (dataset) {
            case UNIFORM -> BenchmarkKeys.uniform(total, seed);
            case CLUSTERED -> BenchmarkKeys.clustered(total, clusters, seed);
        };
        // A partial Fisher-Yates shuffle of the positions: the first insertCount are held out, in shuffled order.
        SplittableRandom random = new SplittableRandom(seed ^ 0x5DEECE66DL);
        int[] positions = new int[total];
        for (int i = 0; i < total; i++) {
            positions[i] = i;
        }
        boolean[] heldOut = new boolean[total];
        long[] inserts = new long[insertCount];
        for (int i = 0; i < insertCount; i++) {
            int pick = i + random.nextInt(total - i);
            int position = positions[pick];
            positions[pick] = positions[i];
            positions[i] = position;
            heldOut[position] = true;
            inserts[i] = all[position];
        }
        long[] loaded = new long[loadCount];
        int next = 0;
        for (int i = 0; i < total; i++) {
            if (!heldOut[i]) {
                loaded[next++] = all[i];
            }
        }
        return new IndexKeySet(loaded, inserts);
    }

    /** The value the bench stores under {@code key}: a mix of it, so a lookup can check what it got. */
    public static long valueOf(long key) {
        long mixed = key * 0x9E37_79B9_7F4A_7C15L;
        return mixed ^ (mixed >>> 29);
    }
}
