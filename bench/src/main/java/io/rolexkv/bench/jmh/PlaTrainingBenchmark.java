package io.rolexkv.bench.jmh;

import io.rolexkv.rolex.model.LinearModel;
import io.rolexkv.rolex.model.OptimalPiecewiseLinearTrainer;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OperationsPerInvocation;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;

import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * Training speed of the optimal PLA: keys per second (one operation is one key) for a million uniform or
 * clustered keys. The trial set-up prints the number of models trained, the other figure that matters (ROLEX
 * reports 335 models for 1M keys at epsilon 32). Run with {@code -p epsilon=8,16,32,64} for the whole table.
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.Throughput)
@OutputTimeUnit(TimeUnit.SECONDS)
public class PlaTrainingBenchmark {
    static final int KEY_COUNT = 1_000_000;

    @Param({"uniform", "clustered"})
    public String distribution;

    @Param({"16", "32"})
    public int epsilon;

    private long[] keys;

    @Setup(Level.Trial)
    public void generateKeys() {
        keys = BenchmarkKeys.generate(distribution, KEY_COUNT, 2023);
        List<LinearModel> models = OptimalPiecewiseLinearTrainer.train(keys, epsilon);
        System.out.println("models: distribution=" + distribution + " epsilon=" + epsilon + " keys=" + keys.length
            + " modelCount=" + models.size() + " keysPerModel=" + keys.length / models.size());
    }

    @Benchmark
    @OperationsPerInvocation(KEY_COUNT)
    public List<LinearModel> train() {
        return OptimalPiecewiseLinearTrainer.train(keys, epsilon);
    }
}
