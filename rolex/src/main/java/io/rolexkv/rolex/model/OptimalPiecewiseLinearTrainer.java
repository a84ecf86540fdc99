package io.rolexkv.rolex.model;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * Trains the fewest error-bounded linear segments for a sorted key stream: the optimal piecewise-linear
 * approximation (O'Rourke, "An on-line algorithm for fitting straight lines between data ranges", CACM 1981; used
 * for learned indexes by Xie et al. 2014, the PGM-index and ROLEX).
 *
 * <h2>What it computes</h2>
 * Keys arrive in strictly increasing unsigned order; the i-th key has rank i. A segment is a run of consecutive
 * keys and a line with {@code |line(key_i) - i| <= epsilon} for each of them. Each segment is extended while some
 * line still fits all its keys and closed at the first key that no line can take; that key starts the next one.
 * Closing a segment only when it must is optimal: no segmentation has fewer segments for the bound.
 *
 * <h2>How</h2>
 * Every key gives two points, {@code (key, rank + epsilon)} above and {@code (key, rank - epsilon)} below; a line
 * fits the segment iff it passes on or below all upper points and on or above all lower points. The feasible lines
 * form a convex set; its two extreme members bound it: the line of least slope, through an upper point and a later
 * lower point, and the line of greatest slope, through a lower point and a later upper point. Four rectangle
 * points hold those two lines. Only points on the lower convex hull of the upper points and the upper convex hull
 * of the lower points can become a pivot of a future extreme line; the two hulls are kept as stacks and the
 * search for the new pivot resumes where the last one stopped, so a key costs amortised O(1).
 * A new key does not fit iff its upper point lies below the least-slope line or its lower point above the
 * greatest-slope line.
 *
 * <h2>Exactness</h2>
 * Every decision above compares two slopes; it is done on integers (key differences relative to the segment's
 * first key, rank differences) in 128-bit arithmetic ({@link ExactSlopes}), so keys beyond 2^63, differences up to
 * 2^64 - 1 and near-parallel lines are decided exactly and the segmentation is exactly the optimal one.
 * Only the final line is computed in doubles: the midpoint of the two extreme lines (a convex combination of two
 * feasible lines is feasible), anchored at the segment's first key. Its rounding error is far below 0.5 rank for
 * any segment of fewer than 2^40 keys, and {@link LinearModel#predictRank} rounds to the nearest integer, so an
 * exact line within epsilon gives an integer prediction within epsilon.
 *
 * <p>The midpoint slope is positive, which keeps predictions monotone in the key. A slope {@code s} fits iff
 * the spread (max - min) of {@code rank - s * key} over the segment is at most {@code 2 * epsilon}; for
 * {@code s > 0}, with keys and ranks both increasing, that spread is strictly below the spread of
 * {@code rank + s * key}, so {@code -s} fits only if {@code s} fits with room to spare: the least slope is above
 * minus the greatest. Rounding can only undo that when both extreme runs exceed 2^53 and the exact midpoint is
 * within a few ulps of zero; then the least slope is negative, so a falling line fits, so the ranks span at most
 * {@code 2 * epsilon}, and the flat line through the middle rank fits and is used.
 *
 * <p>Use: {@link #train(long[], int)} for an array, or {@link #add(long)} key by key then {@link #finish()} (a
 * retrainer scanning leaves). Not thread-safe; one instance trains one model set.
 */
public final class OptimalPiecewiseLinearTrainer {
    private static final int INITIAL_HULL_CAPACITY = 64;
    private static final int INITIAL_MODEL_CAPACITY = 16;

    private final int epsilon;

    // Keys added so far and the last of them: the rank of the next key, and the order check.
    private long keyCount;
    private long previousKey;

    // The open segment. Points are (x, y): x = key - segmentFirstKey (unsigned), y = rank - segmentFirstRank.
    private long segmentFirstKey;
    private long segmentFirstRank;
    private long pointsInSegment;

    // Hulls hold raw points (x, rank); the upper hull's points are read with +epsilon, the lower hull's with
    // -epsilon. Entries before *Start can no longer pivot an extreme line.
    private long[] upperHullX = new long[INITIAL_HULL_CAPACITY];
    private long[] upperHullY = new long[INITIAL_HULL_CAPACITY];
    private int upperHullSize;
    private int upperHullStart;
    private long[] lowerHullX = new long[INITIAL_HULL_CAPACITY];
    private long[] lowerHullY = new long[INITIAL_HULL_CAPACITY];
    private int lowerHullSize;
    private int lowerHullStart;

    // Least-slope line through (minSlopeUpperX, minSlopeUpperY) and (minSlopeLowerX, minSlopeLowerY), the upper
    // point first; greatest-slope line through (maxSlopeLowerX, maxSlopeLowerY) and (maxSlopeUpperX,
    // maxSlopeUpperY), the lower point first. Epsilon is already applied to these y values.
    private long minSlopeUpperX;
    private long minSlopeUpperY;
    private long minSlopeLowerX;
    private long minSlopeLowerY;
    private long maxSlopeLowerX;
    private long maxSlopeLowerY;
    private long maxSlopeUpperX;
    private long maxSlopeUpperY;

    // Finished segments, as parallel arrays.
    private long[] modelFirstKeys = new long[INITIAL_MODEL_CAPACITY];
    private double[] modelSlopes = new double[INITIAL_MODEL_CAPACITY];
    private double[] modelIntercepts = new double[INITIAL_MODEL_CAPACITY];
    private long[] modelFirstRanks = new long[INITIAL_MODEL_CAPACITY];
    private long[] modelLastRanks = new long[INITIAL_MODEL_CAPACITY];
    private int modelCount;
    private boolean finished;

    /** @param epsilon the error bound, {@code >= 1} */
    public OptimalPiecewiseLinearTrainer(int epsilon) {
        if (epsilon < 1) {
            throw new IllegalArgumentException("epsilon=" + epsilon + " must be >= 1");
        }
        this.epsilon = epsilon;
    }

    /**
     * Trains models (the segments, in key order) on {@code keys}, which must be non-empty and strictly increasing as unsigned values;
     * key {@code i} has rank {@code i}.
     *
     * @throws IllegalArgumentException for no keys, epsilon below 1, or keys out of order or repeated (the
     *                                  message names the index and both keys)
     */
    public static List<LinearModel> train(long[] keys, int epsilon) {
        OptimalPiecewiseLinearTrainer trainer = new OptimalPiecewiseLinearTrainer(epsilon);
        if (keys.length == 0) {
            throw new IllegalArgumentException("keys.length=0: cannot train a model set on no keys"
                + " (an empty index needs no training)");
        }
        for (long key : keys) {
            trainer.add(key);
        }
        return trainer.finish();
    }

    public int epsilon() {
        return epsilon;
    }

    /** Keys added so far: the rank the next key gets. */
    public long keyCount() {
        return keyCount;
    }

    /**
     * Adds the next key, which gets rank {@link #keyCount()}. A rejected key leaves the trainer as it was.
     *
     * @throws IllegalArgumentException if {@code key} is not above the previous key (unsigned)
     * @throws IllegalStateException    after {@link #finish()}
     */
    public void add(long key) {
        if (finished) {
            throw new IllegalStateException("trainer already finished: keyCount=" + keyCount);
        }
        if (keyCount > 0) {
            int order = Long.compareUnsigned(key, previousKey);
            if (order <= 0) {
                throw new IllegalArgumentException((order == 0 ? "duplicate key" : "keys out of order")
                    + ": keys must be strictly increasing (unsigned): index=" + keyCount
                    + " key=" + UnsignedKeys.toString(key)
                    + " previousIndex=" + (keyCount - 1) + " previousKey=" + UnsignedKeys.toString(previousKey));
            }
        }
        if (pointsInSegment == 0 || !extendSegment(key - segmentFirstKey, keyCount - segmentFirstRank)) {
            if (pointsInSegment > 0) {
                closeSegment();
            }
            startSegment(key, keyCount);
        }
        previousKey = key;
        keyCount++;
    }

    /**
     * Closes the last segment and returns its models in key order, ranks contiguous from 0. The trainer takes no keys afterwards.
     *
     * @throws IllegalArgumentException if no key was added
     */
    public List<LinearModel> finish() {
        if (finished) {
            throw new IllegalStateException("trainer already finished: keyCount=" + keyCount);
        }
        if (keyCount == 0) {
            throw new IllegalArgumentException("keyCount=0: cannot train a model set on no keys"
                + " (an empty index needs no training)");
        }
        closeSegment();
        finished = true;
        List<LinearModel> models = new ArrayList<>(modelCount);
        for (int m = 0; m < modelCount; m++) {
            models.add(new LinearModel(modelFirstKeys[m], modelSlopes[m], modelIntercepts[m], modelFirstRanks[m],
                modelLastRanks[m], epsilon));
        }
        return List.copyOf(models);
    }

    private void startSegment(long key, long rank) {
        segmentFirstKey = key;
        segmentFirstRank = rank;
        pointsInSegment = 1;
        minSlopeUpperX = 0;
        minSlopeUpperY = epsilon;
        maxSlopeLowerX = 0;
        maxSlopeLowerY = -epsilon;
        upperHullSize = 0;
        upperHullStart = 0;
        lowerHullSize = 0;
        lowerHullStart = 0;
        pushUpper(0, 0);
        pushLower(0, 0);
    }

    /**
     * Tries to add the point (x, y) to the open segment, which holds at least one point; false (and no change)
     * if no line fits the segment with it.
     */
    private boolean extendSegment(long x, long y) {
        final long upperY = y + epsilon;
        final long lowerY = y - epsilon;

        if (pointsInSegment == 1) {
            minSlopeLowerX = x;
            minSlopeLowerY = lowerY;
            maxSlopeUpperX = x;
            maxSlopeUpperY = upperY;
            pushUpper(x, y);
            pushLower(x, y);
            pointsInSegment = 2;
            return true;
        }

        final long minSlopeRun = minSlopeLowerX - minSlopeUpperX;
        final long minSlopeRise = minSlopeLowerY - minSlopeUpperY;
        final long maxSlopeRun = maxSlopeUpperX - maxSlopeLowerX;
        final long maxSlopeRise = maxSlopeUpperY - maxSlopeLowerY;

        // The new upper point below the least-slope line, or the new lower point above the greatest-slope line:
        // every feasible line misses it.
        if (ExactSlopes.compare(x - minSlopeLowerX, upperY - minSlopeLowerY, minSlopeRun, minSlopeRise) < 0
            || ExactSlopes.compare(x - maxSlopeUpperX, lowerY - maxSlopeUpperY, maxSlopeRun, maxSlopeRise) > 0) {
            return false;
        }

        // The new upper point cuts the greatest-slope line: the new one pivots on the lower hull point that the
        // tangent from the new point touches, and the new point joins the upper points' lower hull.
        if (ExactSlopes.compare(x - maxSlopeLowerX, upperY - maxSlopeLowerY, maxSlopeRun, maxSlopeRise) < 0) {
            int tangent = lowerHullStart;
            long tangentRun = x - lowerHullX[tangent];
            long tangentRise = upperY - (lowerHullY[tangent] - epsilon);
            for (int i = lowerHullStart + 1; i < lowerHullSize; i++) {
                long run = x - lowerHullX[i];
                long rise = upperY - (lowerHullY[i] - epsilon);
                if (ExactSlopes.compare(run, rise, tangentRun, tangentRise) > 0) {
                    break;
                }
                tangent = i;
                tangentRun = run;
                tangentRise = rise;
            }
            maxSlopeLowerX = lowerHullX[tangent];
            maxSlopeLowerY = lowerHullY[tangent] - epsilon;
            maxSlopeUpperX = x;
            maxSlopeUpperY = upperY;
            lowerHullStart = tangent;

            int end = upperHullSize;
            while (end >= upperHullStart + 2
                && !turnsUp(upperHullX[end - 2], upperHullY[end - 2], upperHullX[end - 1], upperHullY[end - 1], x, y)) {
                end--;
            }
            upperHullSize = end;
            pushUpper(x, y);
        }

        // The new lower point cuts the least-slope line: symmetric, on the other hull.
        if (ExactSlopes.compare(x - minSlopeUpperX, lowerY - minSlopeUpperY, minSlopeRun, minSlopeRise) > 0) {
            int tangent = upperHullStart;
            long tangentRun = x - upperHullX[tangent];
            long tangentRise = lowerY - (upperHullY[tangent] + epsilon);
            for (int i = upperHullStart + 1; i < upperHullSize; i++) {
                long run = x - upperHullX[i];
                long rise = lowerY - (upperHullY[i] + epsilon);
                if (ExactSlopes.compare(run, rise, tangentRun, tangentRise) < 0) {
                    break;
                }
                tangent = i;
                tangentRun = run;
                tangentRise = rise;
            }
            minSlopeUpperX = upperHullX[tangent];
            minSlopeUpperY = upperHullY[tangent] + epsilon;
            minSlopeLowerX = x;
            minSlopeLowerY = lowerY;
            upperHullStart = tangent;

            int end = lowerHullSize;
            while (end >= lowerHullStart + 2
                && !turnsDown(lowerHullX[end - 2], lowerHullY[end - 2], lowerHullX[end - 1], lowerHullY[end - 1], x, y)) {
                end--;
            }
            lowerHullSize = end;
            pushLower(x, y);
        }

        pointsInSegment++;
        return true;
    }

    /** True if B lies strictly above the line O-A extended (A is then a vertex of a lower convex hull O, A, B). */
    private static boolean turnsUp(long originX, long originY, long middleX, long middleY, long x, long y) {
        return ExactSlopes.compare(x - originX, y - originY, middleX - originX, middleY - originY) > 0;
    }

    /** True if B lies strictly below the line O-A extended (A is then a vertex of an upper convex hull O, A, B). */
    private static boolean turnsDown(long originX, long originY, long middleX, long middleY, long x, long y) {
        return ExactSlopes.compare(x - originX, y - originY, middleX - originX, middleY - originY) < 0;
    }

    private void closeSegment() {
        double slope;
        double intercept;
        long lastLocalRank = pointsInSegment - 1;
        if (pointsInSegment == 1) {
            slope = 0.0;
            intercept = 0.0;
        } else {
            double minSlope = (double) (minSlopeLowerY - minSlopeUpperY)
                / UnsignedKeys.toDouble(minSlopeLowerX - minSlopeUpperX);
            double maxSlope = (double) (maxSlopeUpperY - maxSlopeLowerY)
                / UnsignedKeys.toDouble(maxSlopeUpperX - maxSlopeLowerX);
            slope = (minSlope + maxSlope) * 0.5;
            if (slope < 0.0) {
                // Only through rounding (see the class comment): the flat line through the middle rank fits.
                slope = 0.0;
                intercept = lastLocalRank * 0.5;
            } else {
                double minIntercept = minSlopeUpperY - minSlope * UnsignedKeys.toDouble(minSlopeUpperX);
                double maxIntercept = maxSlopeLowerY - maxSlope * UnsignedKeys.toDouble(maxSlopeLowerX);
                intercept = (minIntercept + maxIntercept) * 0.5;
                slope += 0.0; // a -0.0 sum becomes +0.0
            }
        }
        appendModel(segmentFirstKey, slope, intercept, segmentFirstRank, segmentFirstRank + lastLocalRank);
        pointsInSegment = 0;
    }

    private void appendModel(long firstKey, double slope, double intercept, long firstRank, long lastRank) {
        if (modelCount == modelFirstKeys.length) {
            int capacity = modelCount * 2;
            modelFirstKeys = Arrays.copyOf(modelFirstKeys, capacity);
            modelSlopes = Arrays.copyOf(modelSlopes, capacity);
            modelIntercepts = Arrays.copyOf(modelIntercepts, capacity);
            modelFirstRanks = Arrays.copyOf(modelFirstRanks, capacity);
            modelLastRanks = Arrays.copyOf(modelLastRanks, capacity);
        }
        modelFirstKeys[modelCount] = firstKey;
        modelSlopes[modelCount] = slope;
        modelIntercepts[modelCount] = intercept;
        modelFirstRanks[modelCount] = firstRank;
        modelLastRanks[modelCount] = lastRank;
        modelCount++;
    }

    private void pushUpper(long x, long y) {
        if (upperHullSize == upperHullX.length) {
            upperHullX = Arrays.copyOf(upperHullX, upperHullSize * 2);
            upperHullY = Arrays.copyOf(upperHullY, upperHullSize * 2);
        }
        upperHullX[upperHullSize] = x;
        upperHullY[upperHullSize] = y;
        upperHullSize++;
    }

    private void pushLower(long x, long y) {
        if (lowerHullSize == lowerHullX.length) {
            lowerHullX = Arrays.copyOf(lowerHullX, lowerHullSize * 2);
            lowerHullY = Arrays.copyOf(lowerHullY, lowerHullSize * 2);
        }
        lowerHullX[lowerHullSize] = x;
        lowerHullY[lowerHullSize] = y;
        lowerHullSize++;
    }
}
