package io.rolexkv.rolex.model;

import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

/** Checks what trained models promise for their training keys. */
final class ModelAssertions {
    /** Double rounding error allowed on the unrounded line: far above 2^-40 * segment span, far below 0.5. */
    private static final double LINE_TOLERANCE = 1e-6;

    private ModelAssertions() {
    }

    /**
     * For every training key: its model covers its rank, the prediction is within epsilon, and the predicted rank
     * range holds the true rank. Also the models' shape: one per segment start, ranks contiguous.
     */
    static void assertTrainedOn(List<LinearModel> models, long[] keys, int epsilon) {
        assertEquals(keys.length, models.getLast().lastRank() + 1, "rankCount");
        for (int m = 0; m < models.size(); m++) {
            LinearModel model = models.get(m);
            assertEquals(keys[Math.toIntExact(model.firstRank())], model.firstKey(), "model " + m + " first key");
            assertEquals(epsilon, model.epsilon());
            assertEquals(m == 0 ? 0 : models.get(m - 1).lastRank() + 1, model.firstRank(), "ranks contiguous at model " + m);
        }
        int m = 0;
        for (int i = 0; i < keys.length; i++) {
            long key = keys[i];
            // Route by key, as a lookup does: the last model whose first key is at or below the key.
            while (m + 1 < models.size() && Long.compareUnsigned(models.get(m + 1).firstKey(), key) <= 0) {
                m++;
            }
            LinearModel model = models.get(m);
            if (i < model.firstRank() || i > model.lastRank()) {
                fail("key index=" + i + " key=" + Long.toUnsignedString(key) + " routed to " + model);
            }
            long predicted = model.predictRank(key);
            long error = Math.abs(predicted - i);
            if (error > epsilon) {
                fail("error bound broken: index=" + i + " key=" + Long.toUnsignedString(key) + " predicted="
                    + predicted + " error=" + error + " epsilon=" + epsilon + " model=" + model);
            }
            assertTrue(model.lowRank(predicted) <= i && i <= model.highRank(predicted), () -> "range misses the rank");
            // The line itself, before rounding, is within epsilon up to double rounding error: the integer
            // guarantee does not lean on the half rank that rounding forgives.
            double line = model.firstRank() + model.intercept()
                + model.slope() * UnsignedKeys.toDouble(key - model.firstKey());
            if (Math.abs(line - i) > epsilon + LINE_TOLERANCE) {
                fail("line strays beyond epsilon: index=" + i + " line=" + line + " epsilon=" + epsilon
                    + " model=" + model);
            }
        }
    }
}
