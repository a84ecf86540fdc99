package io.rolexkv.rolex.model;

/**
 * One segment of the piecewise-linear approximation, which ROLEX calls a model: it maps a key to a rank (the
 * position of the key among the training keys) inside the ranks it covers.
 *
 * <p>The line is anchored at the segment's first key and rank, so its double parameters stay small and exact
 * enough whatever the magnitude of the keys and ranks:
 * <pre>
 *   local(key) = intercept + slope * (key - firstKey)        key - firstKey as an unsigned 64-bit difference
 *   rank(key)  = firstRank + clamp(rint(local(key)), 0, lastRank - firstRank)
 * </pre>
 * Keys below {@code firstKey} (possible only for the first model of a set) predict {@code firstRank}.
 * For every training key of the segment {@code |rank(key) - trueRank| <= epsilon}.
 *
 * <p>The prediction is monotone non-decreasing in the key (slope is never negative, every step of the formula is
 * monotone, clamping keeps each model inside its own ranks), which is what lets a key inserted after training be
 * found in the leaves its neighbours' predictions bracket. All arithmetic is plain IEEE double, which Java
 * evaluates identically on every platform, so compute nodes and memory nodes agree on every prediction.
 *
 * @param firstKey  smallest training key of the segment (unsigned)
 * @param slope     ranks per key unit, finite and {@code >= 0}
 * @param intercept predicted local rank at {@code firstKey}, finite
 * @param firstRank first rank covered, {@code >= 0}
 * @param lastRank  last rank covered, {@code >= firstRank}
 * @param epsilon   the error bound the segment was trained for, {@code >= 0}
 */
public record LinearModel(long firstKey, double slope, double intercept, long firstRank, long lastRank, int epsilon) {

    public LinearModel {
        if (!Double.isFinite(slope) || slope < 0.0 || (slope == 0.0 && Double.doubleToRawLongBits(slope) != 0L)) {
            throw new IllegalArgumentException("slope=" + slope + " must be finite, >= 0 and not -0.0");
        }
        if (!Double.isFinite(intercept)) {
            throw new IllegalArgumentException("intercept=" + intercept + " must be finite");
        }
        if (firstRank < 0 || lastRank < firstRank) {
            throw new IllegalArgumentException("firstRank=" + firstRank + " lastRank=" + lastRank
                + " must satisfy 0 <= firstRank <= lastRank");
        }
        if (epsilon < 0) {
            throw new IllegalArgumentException("epsilon=" + epsilon + " must be >= 0");
        }
    }

    /** Number of ranks (training keys) the segment covers. */
    public long rankCount() {
        return lastRank - firstRank + 1;
    }

    /** The predicted rank of {@code key}, inside {@code [firstRank, lastRank]}. */
    public long predictRank(long key) {
        return predictRank(firstKey, slope, intercept, firstRank, lastRank, key);
    }

    /** The prediction formula (see the class comment). */
    static long predictRank(long firstKey, double slope, double intercept, long firstRank, long lastRank, long key) {
        if (Long.compareUnsigned(key, firstKey) < 0) {
            return firstRank;
        }
        double local = intercept + slope * UnsignedKeys.toDouble(key - firstKey);
        if (!(local > 0.0)) {
            return firstRank;
        }
        if (local >= (double) (lastRank - firstRank)) {
            return lastRank;
        }
        return firstRank + (long) Math.rint(local);
    }

    /** The lowest rank a training key predicted at {@code predictedRank} can have: the epsilon slack, clamped. */
    public long lowRank(long predictedRank) {
        return Math.max(firstRank, predictedRank - epsilon);
    }

    /** The highest rank a training key predicted at {@code predictedRank} can have: the epsilon slack, clamped. */
    public long highRank(long predictedRank) {
        return Math.min(lastRank, predictedRank + epsilon);
    }

    @Override
    public String toString() {
        return "LinearModel[firstKey=" + UnsignedKeys.toString(firstKey) + " slope=" + slope + " intercept=" + intercept
            + " firstRank=" + firstRank + " lastRank=" + lastRank + " epsilon=" + epsilon + "]";
    }
}
