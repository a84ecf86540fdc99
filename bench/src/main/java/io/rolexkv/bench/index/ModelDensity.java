package io.rolexkv.bench.index;

import io.rolexkv.bench.jmh.BenchmarkKeys;
import io.rolexkv.bench.ycsb.YcsbKeyCodec;
import io.rolexkv.rolex.index.LeanModel;
import io.rolexkv.rolex.layout.GroupWord;
import io.rolexkv.rolex.layout.ModelRecordDescriptor;
import io.rolexkv.rolex.model.LinearModel;
import io.rolexkv.rolex.model.OptimalPiecewiseLinearTrainer;
import site.ycsb.Utils;

import java.io.PrintStream;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;

/**
 * How dense the optimal piecewise-linear models are on the key sets YCSB users load, per error bound: the figures that
 * size a layout's model cache and the rank window one lookup must read. Nothing touches a memory node; it trains the
 * models exactly as bulk load does ({@link OptimalPiecewiseLinearTrainer#train}) and measures each segment's line the
 * way bulk load records it: the line's true worst error over the segment's keys, rounded up ({@code e}).
 *
 * <p>The lookup window of a key is the ranks {@code [floor(p) - e, ceil(p) + e]} of its segment, clamped to the
 * segment's ranks, where {@code p} is the line's unrounded prediction: what a lookup reads to be sure of the key. The
 * trainer's own rounded prediction with its bound {@code epsilon}, {@code [rint(p) - epsilon, rint(p) + epsilon]}
 * clamped, is reported beside it: the window a layout that stored the trainer's bound, not the measured one, would read.
 *
 * <p>Run: {@code java -cp "bench/target/bench-VERSION.jar:bench/target/lib/*" io.rolexkv.bench.index.ModelDensity}
 * (about a minute); prints one markdown table.
 */
public final class ModelDensity {
    /** The error bounds measured. */
    public static final int[] EPSILONS = {2, 4, 6, 8, 12, 16, 24, 32};
    /** Bytes of one model record of the earlier grouped layout (for comparison), and as the index stores it today. */
    public static final int GROUPED_MODEL_RECORD_BYTES = 80;
    public static final int LEAN_MODEL_RECORD_BYTES = ModelRecordDescriptor.RECORD_BYTES;
    /** The seed of the uniform key set. */
    public static final long UNIFORM_SEED = 42;

    private ModelDensity() {
    }

    /**
     * The models of one key set at one error bound.
     *
     * @param segments             models trained
     * @param meanKeysPerSegment   keys / segments
     * @param medianKeysPerSegment the median segment's key count
     * @param meanMeasuredError    the mean over segments of {@code e}, the line's true worst error rounded up
     * @param meanWindow           mean over all keys of the measured-error window, in ranks
     * @param meanEpsilonWindow    mean over all keys of the trainer's rounded prediction plus or minus epsilon, in ranks
     */
    public record Density(String keySet, int keys, int epsilon, int segments, double meanKeysPerSegment,
                          long medianKeysPerSegment, double meanMeasuredError, double meanWindow,
                          double meanEpsilonWindow) {
        /** Model cache bytes per key if each model costs {@code recordBytes}. */
        public double cacheBytesPerKey(int recordBytes) {
            return (double) segments * recordBytes / keys;
        }
    }

    /**
     * The store keys of YCSB records {@code 0 .. records - 1} in unsigned order, as the binding maps them
     * ({@link YcsbKeyCodec#keyOfNumber}) from YCSB's key numbers: the record number itself with
     * {@code insertorder=ordered}, else YCSB's {@code Utils.hash} of it (what {@code CoreWorkload.buildKeyName} names
     * the record by). Hash collisions (none for a few million records) would be dropped: the result is distinct.
     */
    public static long[] ycsbKeys(int records, boolean ordered) {
        long[] keys = new long[records];
        for (int record = 0; record < records; record++) {
            long number = ordered ? record : Utils.hash(record);
            // Sort as signed numbers, which is the unsigned order of the store keys (the sign bit flipped).
            keys[record] = number;
        }
        Arrays.sort(keys);
        int distinct = 0;
        for (int i = 0; i < records; i++) {
            if (distinct == 0 || keys[i] != keys[distinct - 1]) {
                keys[distinct++] = keys[i];
            }
        }
        long[] storeKeys = Arrays.copyOf(keys, distinct);
        for (int i = 0; i < distinct; i++) {
            storeKeys[i] = YcsbKeyCodec.keyOfNumber(storeKeys[i]);
        }
        return storeKeys;
    }

    /** The density of models trained on {@code sortedKeys} (strictly increasing, unsigned) at {@code epsilon}. */
    public static Density measure(String keySet, long[] sortedKeys, int epsilon) {
        List<LinearModel> segments = OptimalPiecewiseLinearTrainer.train(sortedKeys, epsilon);
        long[] sizes = new long[segments.size()];
        long windowSum = 0;
        long epsilonWindowSum = 0;
        long measuredErrorSum = 0;
        for (int s = 0; s < segments.size(); s++) {
            LinearModel segment = segments.get(s);
            int firstRank = Math.toIntExact(segment.firstRank());
            int keyCount = Math.toIntExact(segment.rankCount());
            sizes[s] = keyCount;
            // The line as bulk load records it (IndexLoader.planPacked): anchored at the segment's first key, local ranks.
            LeanModel line = new LeanModel(segment.firstKey(), segment.firstKey(), segment.slope(), segment.intercept(),
                    keyCount, 0, GroupWord.MAX_GROUP_SIZE, 0);
            double worst = 0;
            for (int rank = 0; rank < keyCount; rank++) {
                worst = Math.max(worst, line.error(sortedKeys[firstRank + rank], rank));
            }
            int measuredError = (int) Math.ceil(worst);
            measuredErrorSum += measuredError;
            for (int rank = 0; rank < keyCount; rank++) {
                long key = sortedKeys[firstRank + rank];
                windowSum += window(line.predictRank(key), measuredError, keyCount);
                long rounded = segment.predictRank(key);
                epsilonWindowSum += segment.highRank(rounded) - segment.lowRank(rounded) + 1;
            }
        }
        long[] sorted = sizes.clone();
        Arrays.sort(sorted);
        int keys = sortedKeys.length;
        return new Density(keySet, keys, epsilon, segments.size(), (double) keys / segments.size(),
                sorted[sorted.length / 2], (double) measuredErrorSum / segments.size(), (double) windowSum / keys,
                (double) epsilonWindowSum / keys);
    }

    /**
     * Ranks a lookup reads for a prediction {@code predicted} (unrounded, local to the segment) with error bound
     * {@code error}: {@code [floor(p) - e, ceil(p) + e]} clamped to {@code [0, keyCount - 1]}.
     */
    static long window(double predicted, int error, int keyCount) {
        double low = Math.max(0, Math.floor(predicted) - error);
        double high = Math.min(keyCount - 1, Math.ceil(predicted) + error);
        return high < low ? 0 : (long) high - (long) low + 1;
    }

    /** Markdown table of {@code rows}. */
    static void printTable(List<Density> rows, PrintStream out) {
        out.println("| key set | epsilon | segments | keys/segment (mean) | keys/segment (median) | cache B/key @"
                + GROUPED_MODEL_RECORD_BYTES + " B | cache B/key @" + LEAN_MODEL_RECORD_BYTES
                + " B | mean e (true max error, rounded up) | mean window, ranks (floor(p)-e .. ceil(p)+e) |"
                + " mean window, ranks (rint(p) +/- epsilon) |");
        out.println("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
        for (Density row : rows) {
            out.println(String.format(Locale.ROOT, "| %s | %d | %,d | %,.1f | %,d | %.4f | %.4f | %.2f | %.2f | %.2f |",
                    row.keySet(), row.epsilon(), row.segments(), row.meanKeysPerSegment(), row.medianKeysPerSegment(),
                    row.cacheBytesPerKey(GROUPED_MODEL_RECORD_BYTES), row.cacheBytesPerKey(LEAN_MODEL_RECORD_BYTES),
                    row.meanMeasuredError(), row.meanWindow(), row.meanEpsilonWindow()));
        }
    }

    public static void main(String[] args) {
        record KeySet(String name, long[] keys) {
        }
        List<KeySet> keySets = List.of(
                new KeySet("YCSB 1M hashed", ycsbKeys(1_000_000, false)),
                new KeySet("YCSB 1M ordered", ycsbKeys(1_000_000, true)),
                new KeySet("uniform 1M", BenchmarkKeys.uniform(1_000_000, UNIFORM_SEED)),
                new KeySet("YCSB 10M hashed", ycsbKeys(10_000_000, false)));
        List<Density> rows = new ArrayList<>();
        for (KeySet keySet : keySets) {
            for (int epsilon : EPSILONS) {
                rows.add(measure(keySet.name() + " (" + String.format(Locale.ROOT, "%,d", keySet.keys().length) + " keys)",
                        keySet.keys(), epsilon));
            }
        }
        printTable(rows, System.out);
    }
}
