package io.rolexkv.rolex.model;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

/** Checks what a trained model set promises for its training keys. */
final class ModelAssertions {
    /** Double rounding error allowed on the unrounded line: far above 2^-40 * segment span, far below 0.5. */
    private static final double LINE_TOLERANCE = 1e-6;

    private ModelAssertions() {
    }

    /**
     * For every training key: its model covers its rank, the prediction is within epsilon, and the predicted rank
     * range holds the true rank. Also the set's shape: one model per segment start, ranks contiguous.
     */
    static void assertTrainedOn(LearnedModels models, long[] keys, int epsilon) {
        assertEquals(keys.length, models.rankCount(), "rankCount");
        for (int m = 0; m < models.modelCount(); m++) {
            LinearModel model = models.model(m);
            assertEquals(keys[Math.toIntExact(model.firstRank())], model.firstKey(), "model " + m + " first key");
            assertEquals(epsilon, model.epsilon());
        }
        for (int i = 0; i < keys.length; i++) {
            long key = keys[i];
            RankPrediction prediction = models.predict(key);
            LinearModel model = models.model(prediction.modelIndex());
            if (i < model.firstRank() || i > model.lastRank()) {
                fail("key index=" + i + " key=" + Long.toUnsignedString(key) + " routed to " + model);
            }
            long error = Math.abs(prediction.rank() - i);
            if (error > epsilon) {
                fail("error bound broken: index=" + i + " key=" + Long.toUnsignedString(key) + " predicted="
                    + prediction.rank() + " error=" + error + " epsilon=" + epsilon + " model=" + model);
            }
            assertTrue(prediction.lowRank() <= i && i <= prediction.highRank(), () -> "range misses the rank");
            // The line itself, before rounding, is within epsilon up to double rounding error: the integer
            // guarantee does not lean on the half rank that rounding forgives.
            double line = model.firstRank() + model.intercept()
                + model.slope() * UnsignedKeys.toDouble(key - model.firstKey());
            if (Math.abs(line - i) > epsilon + LINE_TOLERANCE) {
                fail("line strays beyond epsilon: index=" + i + " line=" + line + " epsilon=" + epsilon
                    + " model=" + model);
            }
            assertEquals(prediction.rank(), models.predictRank(key));
            assertEquals(prediction.rank(), model.predictRank(key));
        }
    }
}
