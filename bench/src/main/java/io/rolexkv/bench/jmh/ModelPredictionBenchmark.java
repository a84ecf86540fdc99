package io.rolexkv.bench.jmh;

import io.rolexkv.rolex.model.LeafRange;
import io.rolexkv.rolex.model.LearnedModels;
import io.rolexkv.rolex.model.OptimalPiecewiseLinearTrainer;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;

import java.util.concurrent.TimeUnit;

/**
 * Cost of one prediction in a compute node's cached model set trained on a million keys: the upper level's
 * binary search plus one model's line. Lookup keys are stored keys drawn at random, so each call lands in a
 * random model (no help from a warm branch history). {@code leafRange} is what the index calls: the prediction,
 * its epsilon range, and the division into leaves of 64 keys.
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
public class ModelPredictionBenchmark {
    private static final int LOOKUP_COUNT = 1 << 20;
    private static final int LEAF_CAPACITY = 64;

    @Param({"uniform", "clustered"})
    public String distribution;

    @Param({"32"})
    public int epsilon;

    private LearnedModels models;
    private long[] lookups;
    private int next;

    @Setup(Level.Trial)
    public void train() {
        long[] keys = BenchmarkKeys.generate(distribution, PlaTrainingBenchmark.KEY_COUNT, 2023);
        models = OptimalPiecewiseLinearTrainer.train(keys, epsilon);
        lookups = BenchmarkKeys.lookupsOf(keys, LOOKUP_COUNT, 7);
    }

    @Benchmark
    public long predictRank() {
        long key = lookups[next++ & (LOOKUP_COUNT - 1)];
        return models.predictRank(key);
    }

    @Benchmark
    public LeafRange leafRange() {
        long key = lookups[next++ & (LOOKUP_COUNT - 1)];
        return models.leafRange(key, LEAF_CAPACITY);
    }
}
