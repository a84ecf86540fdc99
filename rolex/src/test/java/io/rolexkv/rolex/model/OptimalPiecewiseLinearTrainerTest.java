package io.rolexkv.rolex.model;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;
import org.junit.jupiter.params.provider.ValueSource;

import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

class OptimalPiecewiseLinearTrainerTest {
    private static final int[] EPSILONS = {1, 4, 16, 32, 64};
    private static final int KEYS_PER_SET = 20_000;

    static Stream<Arguments> distributionsAndEpsilons() {
        List<Arguments> arguments = new ArrayList<>();
        for (TestKeySets.Distribution distribution : TestKeySets.all(KEYS_PER_SET)) {
            for (int epsilon : EPSILONS) {
                arguments.add(Arguments.of(distribution, epsilon));
            }
        }
        return arguments.stream();
    }

    @ParameterizedTest(name = "{0} epsilon={1}")
    @MethodSource("distributionsAndEpsilons")
    void everyTrainingKeyIsPredictedWithinEpsilon(TestKeySets.Distribution distribution, int epsilon) {
        long[] keys = distribution.keys(42);
        List<LinearModel> models = OptimalPiecewiseLinearTrainer.train(keys, epsilon);
        ModelAssertions.assertTrainedOn(models, keys, epsilon);
    }

    @Test
    void errorBoundHoldsOnAMillionUniformKeys() {
        long[] keys = TestKeySets.uniform(1_000_000, 7);
        for (int epsilon : new int[]{8, 32}) {
            ModelAssertions.assertTrainedOn(OptimalPiecewiseLinearTrainer.train(keys, epsilon), keys, epsilon);
        }
    }

    @ParameterizedTest(name = "epsilon={0}")
    @ValueSource(ints = {1, 2, 3, 4, 8})
    void segmentationIsTheMinimumOneOnSmallInputs(int epsilon) {
        SplittableRandom random = new SplittableRandom(1000 + epsilon);
        for (int run = 0; run < 150; run++) {
            long[] keys = randomSmallInput(random, run);
            List<Integer> expected = ReferenceSegmentations.minimumSegmentStarts(keys, epsilon);
            List<Integer> actual = segmentStarts(OptimalPiecewiseLinearTrainer.train(keys, epsilon));
            int currentRun = run;
            assertEquals(expected, actual, () -> "run=" + currentRun + " keys=" + describe(keys));
        }
    }

    @ParameterizedTest(name = "epsilon={0}")
    @ValueSource(ints = {1, 2, 4, 16})
    void neverMoreSegmentsThanTheShrinkingConeAndSometimesFewer(int epsilon) {
        SplittableRandom random = new SplittableRandom(2000 + epsilon);
        int strictlyFewer = 0;
        for (int run = 0; run < 150; run++) {
            long[] keys = randomSmallInput(random, run);
            int cone = ReferenceSegmentations.shrinkingConeSegmentStarts(keys, epsilon).size();
            int optimal = OptimalPiecewiseLinearTrainer.train(keys, epsilon).size();
            int currentRun = run;
            assertTrue(optimal <= cone, () -> "run=" + currentRun + " optimal=" + optimal + " cone=" + cone);
            if (optimal < cone) {
                strictlyFewer++;
            }
        }
        assertTrue(strictlyFewer > 0, "the optimal fit never beat the shrinking cone: epsilon=" + epsilon);
    }

    @Test
    void optimalBeatsTheShrinkingConeOnSkewedKeys() {
        long[] keys = TestKeySets.lognormalGaps(5_000, 3, 0);
        int cone = ReferenceSegmentations.shrinkingConeSegmentStarts(keys, 4).size();
        int optimal = OptimalPiecewiseLinearTrainer.train(keys, 4).size();
        assertTrue(optimal < cone, "optimal=" + optimal + " cone=" + cone);
    }

    @Test
    void segmentationIsMinimalOnKeysNearTheTopAndAcrossTheSignBit() {
        SplittableRandom random = new SplittableRandom(77);
        for (int run = 0; run < 60; run++) {
            long base = run % 2 == 0 ? UnsignedKeys.MAX_KEY - 4000 : Long.MIN_VALUE - 2000;
            long[] keys = TestKeySets.smallRange(60, 4000, base, random);
            for (int epsilon : new int[]{1, 3}) {
                assertEquals(ReferenceSegmentations.minimumSegmentStarts(keys, epsilon),
                    segmentStarts(OptimalPiecewiseLinearTrainer.train(keys, epsilon)), "run=" + run);
            }
        }
    }

    @Test
    void segmentationIsExactWhereDoublesCannotTellSlopesApart() {
        // Small inputs are full of exact ties; scaling the keys by 2^56 keeps each tie, and nudging a key by 1
        // breaks it by a relative 2^-60, far below what a double resolves. Only exact slope comparisons get the
        // segment boundaries of the reference.
        SplittableRandom random = new SplittableRandom(31);
        for (int run = 0; run < 200; run++) {
            long[] small = TestKeySets.smallRange(1 + random.nextInt(60), 120, 0, random);
            long[] keys = new long[small.length];
            for (int i = 0; i < small.length; i++) {
                keys[i] = (small[i] << 56) + random.nextInt(2);
            }
            for (int epsilon : new int[]{1, 2}) {
                List<LinearModel> models = OptimalPiecewiseLinearTrainer.train(keys, epsilon);
                assertEquals(ReferenceSegmentations.minimumSegmentStarts(keys, epsilon), segmentStarts(models),
                    "run=" + run + " epsilon=" + epsilon);
                ModelAssertions.assertTrainedOn(models, keys, epsilon);
            }
        }
    }

    @Test
    void segmentationIsMinimalWithHugeGaps() {
        SplittableRandom random = new SplittableRandom(99);
        for (int run = 0; run < 100; run++) {
            long[] keys = TestKeySets.mixedGapSizes(50, random.nextLong());
            for (int epsilon : new int[]{1, 2, 5}) {
                List<LinearModel> models = OptimalPiecewiseLinearTrainer.train(keys, epsilon);
                assertEquals(ReferenceSegmentations.minimumSegmentStarts(keys, epsilon), segmentStarts(models),
                    "run=" + run);
                ModelAssertions.assertTrainedOn(models, keys, epsilon);
            }
        }
    }

    @Test
    void sequentialKeysNeedOneModel() {
        for (long step : new long[]{1, 7, 1L << 40}) {
            long[] keys = TestKeySets.sequential(10_000, 5, step);
            List<LinearModel> models = OptimalPiecewiseLinearTrainer.train(keys, 1);
            assertEquals(1, models.size(), "step=" + step);
            ModelAssertions.assertTrainedOn(models, keys, 1);
        }
    }

    @Test
    void oneKey() {
        long[] keys = {12345};
        List<LinearModel> models = OptimalPiecewiseLinearTrainer.train(keys, 1);
        assertEquals(1, models.size());
        assertEquals(new LinearModel(12345, 0.0, 0.0, 0, 0, 1), models.get(0));
        ModelAssertions.assertTrainedOn(models, keys, 1);
        assertEquals(0, models.get(0).predictRank(0));
        assertEquals(0, models.get(0).predictRank(UnsignedKeys.MAX_KEY));
    }

    @Test
    void twoKeysAtTheEndsOfTheKeySpace() {
        long[] keys = {0, UnsignedKeys.MAX_KEY};
        for (int epsilon : EPSILONS) {
            List<LinearModel> models = OptimalPiecewiseLinearTrainer.train(keys, epsilon);
            assertEquals(1, models.size());
            ModelAssertions.assertTrainedOn(models, keys, epsilon);
        }
    }

    @Test
    void twoAdjacentKeysNearTheTop() {
        long[] keys = {UnsignedKeys.MAX_KEY - 1, UnsignedKeys.MAX_KEY};
        List<LinearModel> models = OptimalPiecewiseLinearTrainer.train(keys, 1);
        assertEquals(1, models.size());
        ModelAssertions.assertTrainedOn(models, keys, 1);
    }

    @Test
    void streamingEqualsArrayTraining() {
        long[] keys = TestKeySets.lognormalGaps(10_000, 5, 1L << 62);
        OptimalPiecewiseLinearTrainer trainer = new OptimalPiecewiseLinearTrainer(16);
        for (long key : keys) {
            trainer.add(key);
        }
        assertEquals(keys.length, trainer.keyCount());
        assertEquals(OptimalPiecewiseLinearTrainer.train(keys, 16), trainer.finish());
    }

    @Test
    void unsortedKeysAreRejectedNamingTheIndexAndBothKeys() {
        IllegalArgumentException error = assertThrows(IllegalArgumentException.class,
            () -> OptimalPiecewiseLinearTrainer.train(new long[]{1, 5, 9, 7, 11}, 4));
        assertEquals("keys out of order: keys must be strictly increasing (unsigned): index=3 key=7"
            + " previousIndex=2 previousKey=9", error.getMessage());
    }

    @Test
    void duplicateKeysAreRejectedNamingTheIndexAndBothKeys() {
        IllegalArgumentException error = assertThrows(IllegalArgumentException.class,
            () -> OptimalPiecewiseLinearTrainer.train(new long[]{1, 5, 5}, 4));
        assertEquals("duplicate key: keys must be strictly increasing (unsigned): index=2 key=5"
            + " previousIndex=1 previousKey=5", error.getMessage());
    }

    @Test
    void keyOrderIsUnsigned() {
        // Signed order would accept this one and reject the next.
        IllegalArgumentException error = assertThrows(IllegalArgumentException.class,
            () -> OptimalPiecewiseLinearTrainer.train(new long[]{UnsignedKeys.MAX_KEY, 0}, 4));
        assertTrue(error.getMessage().contains("index=1 key=0 previousIndex=0 previousKey=18446744073709551615"),
            error.getMessage());
        ModelAssertions.assertTrainedOn(OptimalPiecewiseLinearTrainer.train(new long[]{0, Long.MAX_VALUE,
            Long.MIN_VALUE, UnsignedKeys.MAX_KEY}, 1), new long[]{0, Long.MAX_VALUE, Long.MIN_VALUE,
            UnsignedKeys.MAX_KEY}, 1);
    }

    @Test
    void aRejectedKeyLeavesTheTrainerUsable() {
        OptimalPiecewiseLinearTrainer trainer = new OptimalPiecewiseLinearTrainer(2);
        trainer.add(10);
        trainer.add(20);
        assertThrows(IllegalArgumentException.class, () -> trainer.add(15));
        trainer.add(30);
        List<LinearModel> models = trainer.finish();
        ModelAssertions.assertTrainedOn(models, new long[]{10, 20, 30}, 2);
    }

    @Test
    void noKeysIsRejected() {
        IllegalArgumentException error = assertThrows(IllegalArgumentException.class,
            () -> OptimalPiecewiseLinearTrainer.train(new long[0], 4));
        assertTrue(error.getMessage().startsWith("keys.length=0"), error.getMessage());
        assertThrows(IllegalArgumentException.class, () -> new OptimalPiecewiseLinearTrainer(4).finish());
    }

    @ParameterizedTest
    @ValueSource(ints = {0, -1, Integer.MIN_VALUE})
    void epsilonBelowOneIsRejected(int epsilon) {
        IllegalArgumentException error = assertThrows(IllegalArgumentException.class,
            () -> new OptimalPiecewiseLinearTrainer(epsilon));
        assertEquals("epsilon=" + epsilon + " must be >= 1", error.getMessage());
        assertThrows(IllegalArgumentException.class, () -> OptimalPiecewiseLinearTrainer.train(new long[]{1}, epsilon));
    }

    @Test
    void aFinishedTrainerTakesNoMoreKeys() {
        OptimalPiecewiseLinearTrainer trainer = new OptimalPiecewiseLinearTrainer(4);
        trainer.add(1);
        trainer.finish();
        assertThrows(IllegalStateException.class, () -> trainer.add(2));
        assertThrows(IllegalStateException.class, trainer::finish);
    }

    @Test
    void everySegmentOfTwoOrMoreKeysRises() {
        // The midpoint of the extreme slopes is provably positive (the trainer's class comment); a flat or falling
        // line would show a wrong extreme line or a lost sign.
        SplittableRandom random = new SplittableRandom(5);
        for (int run = 0; run < 400; run++) {
            long[] keys = randomSmallInput(random, run);
            for (int epsilon : new int[]{1, 3, 64}) {
                for (LinearModel model : OptimalPiecewiseLinearTrainer.train(keys, epsilon)) {
                    if (model.rankCount() >= 2 && !(model.slope() > 0.0)) {
                        fail("segment does not rise: " + model);
                    }
                }
            }
        }
    }

    /** Inputs of 1..120 keys over small ranges (many collinear points and exact ties) or wide ones. */
    private static long[] randomSmallInput(SplittableRandom random, int run) {
        int size = 1 + random.nextInt(120);
        return switch (run % 4) {
            case 0 -> TestKeySets.smallRange(size, size * 2, 0, random);
            case 1 -> TestKeySets.smallRange(size, size * 20, 1L << 33, random);
            case 2 -> TestKeySets.lognormalGaps(size, random.nextLong(), random.nextLong() >>> 2);
            default -> TestKeySets.denseClusters(size, 1 + random.nextInt(4), random.nextLong());
        };
    }

    static List<Integer> segmentStarts(List<LinearModel> models) {
        List<Integer> starts = new ArrayList<>();
        for (LinearModel model : models) {
            starts.add(Math.toIntExact(model.firstRank()));
        }
        return starts;
    }

    private static String describe(long[] keys) {
        StringBuilder text = new StringBuilder("[");
        for (int i = 0; i < keys.length; i++) {
            text.append(i == 0 ? "" : ", ").append(Long.toUnsignedString(keys[i]));
        }
        return text.append(']').toString();
    }
}
