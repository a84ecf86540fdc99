package io.rolexkv.bench.index;

import io.rolexkv.bench.jmh.BenchmarkKeys;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The model density figures on small key sets whose answers are known or bounded by the trainer's contract. */
class ModelDensityTest {

    @Test
    void evenlySpacedKeysAreOneExactSegmentWithAOneRankWindow() {
        long[] keys = new long[10_000];
        for (int i = 0; i < keys.length; i++) {
            keys[i] = 1_000 + 7L * i;
        }
        ModelDensity.Density density = ModelDensity.measure("even", keys, 4);

        assertEquals(1, density.segments());
        assertEquals(10_000.0, density.meanKeysPerSegment());
        assertEquals(0.0, density.meanMeasuredError());
        assertEquals(1.0, density.meanWindow(), 1e-9);
        assertEquals(80.0 / 10_000, density.cacheBytesPerKey(80), 1e-12);
    }

    @Test
    void theWindowIsTheFlooredAndCeiledPredictionWidenedByTheErrorAndClamped() {
        assertEquals(5, ModelDensity.window(5.0, 2, 100));   // ranks 3 .. 7
        assertEquals(6, ModelDensity.window(5.3, 2, 100));   // ranks 3 .. 8
        assertEquals(4, ModelDensity.window(0.2, 3, 4));     // ranks 0 .. 3, both ends clamped
        assertEquals(2, ModelDensity.window(-0.5, 1, 10));   // ranks 0 .. 1: floor(p) - 1 = -2 clamps to 0, ceil(p) + 1 = 1
    }

    @Test
    void uniformKeysStayWithinTheTrainersBoundAndGetFewerSegmentsAsTheBoundGrows() {
        long[] keys = BenchmarkKeys.uniform(50_000, 7);
        int previousSegments = Integer.MAX_VALUE;
        for (int epsilon : ModelDensity.EPSILONS) {
            ModelDensity.Density density = ModelDensity.measure("uniform", keys, epsilon);
            // The optimal segmentation for a bound is valid for every larger bound.
            assertTrue(density.segments() <= previousSegments, "epsilon=" + epsilon + " " + density);
            previousSegments = density.segments();
            // The line in doubles is within epsilon up to rounding far below a rank: e is epsilon at most (plus one
            // for a worst error a hair above an integer).
            assertTrue(density.meanMeasuredError() <= epsilon + 1, density.toString());
            assertTrue(density.meanWindow() >= 1 && density.meanWindow() <= 2.0 * (epsilon + 1) + 2, density.toString());
            assertTrue(density.meanEpsilonWindow() >= 1 && density.meanEpsilonWindow() <= 2.0 * epsilon + 1,
                    density.toString());
            assertEquals(50_000.0 / density.segments(), density.meanKeysPerSegment(), 1e-9);
        }
    }
}
