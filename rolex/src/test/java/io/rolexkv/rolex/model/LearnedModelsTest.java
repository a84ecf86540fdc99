package io.rolexkv.rolex.model;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

import java.math.BigInteger;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.SplittableRandom;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

class LearnedModelsTest {
    private static final int[] LEAF_CAPACITIES = {1, 16, 64};

    static Stream<Arguments> distributionsAndEpsilons() {
        List<Arguments> arguments = new ArrayList<>();
        for (TestKeySets.Distribution distribution : TestKeySets.all(10_000)) {
            for (int epsilon : new int[]{1, 16, 64}) {
                arguments.add(Arguments.of(distribution, epsilon));
            }
        }
        return arguments.stream();
    }

    @ParameterizedTest(name = "{0} epsilon={1}")
    @MethodSource("distributionsAndEpsilons")
    void predictionsAreMonotoneInTheKeyAcrossAllModels(TestKeySets.Distribution distribution, int epsilon) {
        long[] keys = distribution.keys(11);
        LearnedModels models = OptimalPiecewiseLinearTrainer.train(keys, epsilon);
        long[] probes = probeKeys(keys, models, new SplittableRandom(epsilon));
        RankPrediction previous = null;
        LeafRange previousLeaves = null;
        for (long probe : probes) {
            RankPrediction current = models.predict(probe);
            LeafRange leaves = models.leafRange(probe, 16);
            if (previous != null) {
                if (current.modelIndex() < previous.modelIndex() || current.rank() < previous.rank()
                    || current.lowRank() < previous.lowRank() || current.highRank() < previous.highRank()) {
                    fail("prediction falls: key=" + Long.toUnsignedString(probe) + " " + current + " after "
                        + previous);
                }
                if (leaves.modelIndex() == previousLeaves.modelIndex()
                    && (leaves.firstLeaf() < previousLeaves.firstLeaf()
                    || leaves.lastLeaf() < previousLeaves.lastLeaf())) {
                    fail("leaf range falls: key=" + Long.toUnsignedString(probe) + " " + leaves + " after "
                        + previousLeaves);
                }
            }
            previous = current;
            previousLeaves = leaves;
        }
    }

    @ParameterizedTest(name = "{0} epsilon={1}")
    @MethodSource("distributionsAndEpsilons")
    void keysAbsentAtTrainingLandNextToTheirInsertionRank(TestKeySets.Distribution distribution, int epsilon) {
        long[] keys = distribution.keys(13);
        LearnedModels models = OptimalPiecewiseLinearTrainer.train(keys, epsilon);
        long[] searchable = flipped(keys);
        for (long probe : probeKeys(keys, models, new SplittableRandom(epsilon + 100))) {
            int found = Arrays.binarySearch(searchable, probe ^ Long.MIN_VALUE);
            if (found >= 0) {
                continue;
            }
            // insertionRank training keys lie below the probe: it belongs between ranks r - 1 and r.
            int insertionRank = -found - 1;
            RankPrediction prediction = models.predict(probe);
            if (prediction.lowRank() > insertionRank || prediction.highRank() < insertionRank - 1) {
                fail("range misses the insertion neighbourhood: key=" + Long.toUnsignedString(probe)
                    + " insertionRank=" + insertionRank + " " + prediction);
            }
        }
    }

    @ParameterizedTest(name = "{0} epsilon={1}")
    @MethodSource("distributionsAndEpsilons")
    void leafRangeHoldsTheLeafOfEveryTrainingKey(TestKeySets.Distribution distribution, int epsilon) {
        long[] keys = distribution.keys(17);
        LearnedModels models = OptimalPiecewiseLinearTrainer.train(keys, epsilon);
        for (int leafCapacity : LEAF_CAPACITIES) {
            // ceil((2 * epsilon + 1) / L) leaves, plus one when the range straddles a leaf boundary.
            long widest = (2L * epsilon + leafCapacity) / leafCapacity + 1;
            for (int rank = 0; rank < keys.length; rank++) {
                LeafRange leaves = models.leafRange(keys[rank], leafCapacity);
                LinearModel model = models.model(leaves.modelIndex());
                long leaf = (rank - model.firstRank()) / leafCapacity;
                if (leaf < leaves.firstLeaf() || leaf > leaves.lastLeaf()) {
                    fail("leaf range misses the key's leaf: rank=" + rank + " leaf=" + leaf + " " + leaves);
                }
                assertTrue(leaves.lastLeaf() < models.leafCount(leaves.modelIndex(), leafCapacity));
                assertTrue(leaves.leafCount() <= widest, () -> leaves + " wider than " + widest);
            }
        }
    }

    @Test
    void theUpperLevelRoutesKeysBelowAboveAndBetweenModels() {
        long[] keys = TestKeySets.lognormalGaps(5_000, 19, 1_000);
        LearnedModels models = OptimalPiecewiseLinearTrainer.train(keys, 4);
        assertTrue(models.modelCount() > 10, "want several models, got " + models.modelCount());
        assertEquals(0, models.modelIndexFor(0));
        assertEquals(0, models.modelIndexFor(999));
        assertEquals(0, models.predictRank(0));
        int last = models.modelCount() - 1;
        assertEquals(last, models.modelIndexFor(UnsignedKeys.MAX_KEY));
        assertEquals(keys.length - 1, models.predictRank(UnsignedKeys.MAX_KEY));
        for (int m = 1; m < models.modelCount(); m++) {
            long firstKey = models.firstKey(m);
            assertEquals(m, models.modelIndexFor(firstKey));
            assertEquals(m - 1, models.modelIndexFor(firstKey - 1));
            // A key just below a model's first key stays in the previous model's ranks, at or above the
            // prediction for that model's last training key.
            LinearModel previous = models.model(m - 1);
            long belowFirstKey = models.predictRank(firstKey - 1);
            long lastTrainingKey = keys[Math.toIntExact(previous.lastRank())];
            assertTrue(belowFirstKey <= previous.lastRank()
                && belowFirstKey >= models.predictRank(lastTrainingKey), "modelIndex=" + m);
        }
    }

    @Test
    void theUpperLevelComparesKeysUnsigned() {
        long[] keys = {1, 2, 3, Long.MAX_VALUE, Long.MIN_VALUE, Long.MIN_VALUE + 10, UnsignedKeys.MAX_KEY - 5,
            UnsignedKeys.MAX_KEY};
        // One model per key: epsilon 1 over huge, irregular gaps would still merge some; build by hand instead.
        List<LinearModel> perKey = new ArrayList<>();
        for (int i = 0; i < keys.length; i++) {
            perKey.add(new LinearModel(keys[i], 0.0, 0.0, i, i, 1));
        }
        LearnedModels models = LearnedModels.of(perKey);
        for (int i = 0; i < keys.length; i++) {
            assertEquals(i, models.modelIndexFor(keys[i]));
            assertEquals(i, models.predictRank(keys[i]));
        }
        assertEquals(3, models.modelIndexFor(Long.MAX_VALUE + 1 - 1));
        assertEquals(4, models.modelIndexFor(Long.MIN_VALUE + 5));
    }

    @Test
    void theUpperLevelFindsTheSameModelAsALinearScan() {
        SplittableRandom random = new SplittableRandom(53);
        for (int modelCount = 1; modelCount <= 70; modelCount++) {
            long[] firstKeys = TestKeySets.uniform(modelCount, random.nextLong());
            List<LinearModel> list = new ArrayList<>();
            for (int i = 0; i < firstKeys.length; i++) {
                list.add(new LinearModel(firstKeys[i], 0.0, 0.0, i, i, 0));
            }
            LearnedModels models = LearnedModels.of(list);
            List<Long> probes = new ArrayList<>(List.of(0L, UnsignedKeys.MAX_KEY));
            for (long firstKey : firstKeys) {
                probes.addAll(List.of(firstKey - 1, firstKey, firstKey + 1));
            }
            for (int i = 0; i < 200; i++) {
                probes.add(random.nextLong());
            }
            for (long probe : probes) {
                int expected = 0;
                for (int i = 0; i < firstKeys.length; i++) {
                    if (Long.compareUnsigned(firstKeys[i], probe) <= 0) {
                        expected = i;
                    }
                }
                assertEquals(expected, models.modelIndexFor(probe),
                    "modelCount=" + firstKeys.length + " key=" + Long.toUnsignedString(probe));
            }
        }
    }

    @Test
    void emptyIndexModelSpreadsTheKeySpaceEvenlyOverTheLeaves() {
        int leafCapacity = 64;
        long leafCount = 1000;
        LearnedModels models = LearnedModels.forEmptyIndex(leafCount, leafCapacity);
        assertEquals(1, models.modelCount());
        assertEquals(leafCount * leafCapacity, models.rankCount());
        assertEquals(leafCount, models.leafCount(0, leafCapacity));
        assertEquals(new LeafRange(0, 0, 0), models.leafRange(0, leafCapacity));
        assertEquals(new LeafRange(0, leafCount - 1, leafCount - 1), models.leafRange(UnsignedKeys.MAX_KEY,
            leafCapacity));

        SplittableRandom random = new SplittableRandom(23);
        BigInteger twoToThe64 = BigInteger.ONE.shiftLeft(64);
        long[] perLeaf = new long[(int) leafCount];
        int samples = 200_000;
        for (int i = 0; i < samples; i++) {
            long key = random.nextLong();
            LeafRange leaves = models.leafRange(key, leafCapacity);
            assertEquals(leaves.firstLeaf(), leaves.lastLeaf(), "epsilon 0: exactly one leaf per key");
            long exact = new BigInteger(Long.toUnsignedString(key)).multiply(BigInteger.valueOf(leafCount))
                .divide(twoToThe64).longValueExact();
            assertTrue(Math.abs(leaves.firstLeaf() - exact) <= 1, "key=" + Long.toUnsignedString(key));
            perLeaf[(int) leaves.firstLeaf()]++;
        }
        long expected = samples / leafCount;
        for (int leaf = 0; leaf < leafCount; leaf++) {
            // 200 expected per leaf, standard deviation ~14: 100..300 is a wide, still meaningful band.
            assertTrue(perLeaf[leaf] > expected / 2 && perLeaf[leaf] < expected * 3 / 2,
                "leaf=" + leaf + " keys=" + perLeaf[leaf]);
        }
    }

    @Test
    void emptyIndexModelIsMonotone() {
        LearnedModels models = LearnedModels.forEmptyIndex(7, 3);
        long[] probes = new long[10_000];
        SplittableRandom random = new SplittableRandom(29);
        for (int i = 0; i < probes.length; i++) {
            probes[i] = random.nextLong();
        }
        long previous = -1;
        for (long probe : TestKeySets.sortedDistinctUnsigned(probes)) {
            long rank = models.predictRank(probe);
            assertTrue(rank >= previous && rank < 21);
            previous = rank;
        }
    }

    @Test
    void emptyIndexArgumentsAreChecked() {
        assertEquals("leafCapacity=0 must be >= 1",
            assertThrows(IllegalArgumentException.class, () -> LearnedModels.forEmptyIndex(10, 0)).getMessage());
        assertThrows(IllegalArgumentException.class, () -> LearnedModels.forEmptyIndex(0, 64));
        assertThrows(IllegalArgumentException.class, () -> LearnedModels.forEmptyIndex(1L << 50, 64));
    }

    @Test
    void modelSetInvariantsAreChecked() {
        LinearModel first = new LinearModel(10, 0.5, 0.0, 0, 9, 4);
        assertThrows(IllegalArgumentException.class, () -> LearnedModels.of(List.of()));
        IllegalArgumentException gap = assertThrows(IllegalArgumentException.class,
            () -> LearnedModels.of(List.of(first, new LinearModel(100, 0.5, 0.0, 11, 20, 4))));
        assertEquals("model ranks must be contiguous from 0: modelIndex=1 firstRank=11 expected=10",
            gap.getMessage());
        IllegalArgumentException order = assertThrows(IllegalArgumentException.class,
            () -> LearnedModels.of(List.of(first, new LinearModel(10, 0.5, 0.0, 10, 20, 4))));
        assertTrue(order.getMessage().contains("modelIndex=1 firstKey=10 previousFirstKey=10"), order.getMessage());
        assertThrows(IllegalArgumentException.class,
            () -> LearnedModels.of(List.of(new LinearModel(10, 0.5, 0.0, 1, 9, 4))));
    }

    @Test
    void linearModelFieldsAreChecked() {
        assertThrows(IllegalArgumentException.class, () -> new LinearModel(0, -1.0, 0, 0, 1, 1));
        assertThrows(IllegalArgumentException.class, () -> new LinearModel(0, -0.0, 0, 0, 1, 1));
        assertThrows(IllegalArgumentException.class, () -> new LinearModel(0, Double.NaN, 0, 0, 1, 1));
        assertThrows(IllegalArgumentException.class, () -> new LinearModel(0, Double.POSITIVE_INFINITY, 0, 0, 1, 1));
        assertThrows(IllegalArgumentException.class, () -> new LinearModel(0, 1.0, Double.NaN, 0, 1, 1));
        assertThrows(IllegalArgumentException.class, () -> new LinearModel(0, 1.0, 0, 5, 4, 1));
        assertThrows(IllegalArgumentException.class, () -> new LinearModel(0, 1.0, 0, -1, 4, 1));
        assertThrows(IllegalArgumentException.class, () -> new LinearModel(0, 1.0, 0, 0, 4, -1));
        assertThrows(IllegalArgumentException.class, () -> new LinearModel(0, 1.0, 0, 0, 4, 1).leafCount(0));
    }

    @Test
    void predictionIsClampedToTheModelsRanks() {
        LinearModel model = new LinearModel(1000, 1.0, -3.0, 50, 60, 2);
        assertEquals(50, model.predictRank(0));
        assertEquals(50, model.predictRank(1000));
        assertEquals(52, model.predictRank(1005));
        assertEquals(60, model.predictRank(1100));
        assertEquals(60, model.predictRank(UnsignedKeys.MAX_KEY));
        assertEquals(50, model.lowRank(51));
        assertEquals(60, model.highRank(59));
        assertEquals(11, model.rankCount());
        assertEquals(3, model.leafCount(4));
    }

    /**
     * Keys around everything interesting: each training key and its neighbours, each model's first key and its
     * predecessor, the ends of the key space, and random keys; sorted unsigned.
     */
    private static long[] probeKeys(long[] keys, LearnedModels models, SplittableRandom random) {
        long[] probes = new long[keys.length * 3 + models.modelCount() * 2 + 2 + 5_000];
        int count = 0;
        for (long key : keys) {
            probes[count++] = key;
            probes[count++] = key - 1;
            probes[count++] = key + 1;
        }
        for (int m = 0; m < models.modelCount(); m++) {
            probes[count++] = models.firstKey(m);
            probes[count++] = models.firstKey(m) - 1;
        }
        probes[count++] = 0;
        probes[count++] = UnsignedKeys.MAX_KEY;
        while (count < probes.length) {
            // Half uniform, half between two random training keys.
            if (random.nextBoolean()) {
                probes[count++] = random.nextLong();
            } else {
                int i = random.nextInt(keys.length);
                long low = keys[i];
                long high = i + 1 < keys.length ? keys[i + 1] : UnsignedKeys.MAX_KEY;
                long gap = high - low;
                probes[count++] = gap == 0 ? low : low + Long.remainderUnsigned(random.nextLong(), gap);
            }
        }
        return TestKeySets.sortedDistinctUnsigned(probes);
    }

    private static long[] flipped(long[] keys) {
        long[] result = new long[keys.length];
        for (int i = 0; i < keys.length; i++) {
            result[i] = keys[i] ^ Long.MIN_VALUE;
        }
        return result;
    }
}
