package io.rolexkv.rolex.model;

import java.math.BigInteger;
import java.util.ArrayList;
import java.util.List;

/**
 * Slow, obviously correct segmentations to check the trainer against, in exact integer arithmetic
 * ({@link BigInteger}) and sharing no code with it.
 */
final class ReferenceSegmentations {
    private ReferenceSegmentations() {
    }

    /**
     * The minimum segmentation, as the index of each segment's first key. A run of points fits one line within
     * epsilon iff every three of them do (Helly's theorem for the convex sets of feasible (slope, intercept) pairs
     * in the plane); three points a &lt; b &lt; c fit iff the chord from a to c passes within 2 * epsilon of b.
     * Fitting is inherited by sub-runs, so extending each segment as far as it fits is optimal.
     */
    static List<Integer> minimumSegmentStarts(long[] keys, int epsilon) {
        BigInteger[] x = unsigned(keys);
        List<Integer> starts = new ArrayList<>();
        int start = 0;
        starts.add(0);
        for (int c = 1; c < keys.length; c++) {
            if (!fitsWithAllPairs(x, start, c, epsilon)) {
                start = c;
                starts.add(c);
            }
        }
        return starts;
    }

    /** Whether points a, b, c (indices, ranks equal to indices) fit one line within epsilon. */
    static boolean tripleFits(BigInteger[] x, int a, int b, int c, int epsilon) {
        // Chord through (x_a, a) and (x_c, c) evaluated at x_b, compared with b, all scaled by (x_c - x_a) > 0:
        // |(x_c - x_b) * a + (x_b - x_a) * c - (x_c - x_a) * b| <= 2 * epsilon * (x_c - x_a).
        BigInteger span = x[c].subtract(x[a]);
        BigInteger chordAtB = x[c].subtract(x[b]).multiply(BigInteger.valueOf(a))
            .add(x[b].subtract(x[a]).multiply(BigInteger.valueOf(c)));
        BigInteger deviation = chordAtB.subtract(span.multiply(BigInteger.valueOf(b))).abs();
        return deviation.compareTo(span.multiply(BigInteger.valueOf(2L * epsilon))) <= 0;
    }

    private static boolean fitsWithAllPairs(BigInteger[] x, int start, int c, int epsilon) {
        for (int a = start; a < c; a++) {
            for (int b = a + 1; b < c; b++) {
                if (!tripleFits(x, a, b, c, epsilon)) {
                    return false;
                }
            }
        }
        return true;
    }

    /**
     * The simple greedy "shrinking cone": each segment's line passes exactly through its first point; keep the
     * range of slopes that stay within epsilon of every later point, and close the segment when it empties.
     * Correct but not optimal, since pinning the line to the first point wastes freedom.
     */
    static List<Integer> shrinkingConeSegmentStarts(long[] keys, int epsilon) {
        BigInteger[] x = unsigned(keys);
        List<Integer> starts = new ArrayList<>();
        starts.add(0);
        int origin = 0;
        // Slopes as fractions rise/run with run > 0; null bounds are unbounded.
        BigInteger[] low = null;
        BigInteger[] high = null;
        for (int i = 1; i < keys.length; i++) {
            BigInteger run = x[i].subtract(x[origin]);
            BigInteger[] pointLow = {BigInteger.valueOf((long) (i - origin) - epsilon), run};
            BigInteger[] pointHigh = {BigInteger.valueOf((long) (i - origin) + epsilon), run};
            BigInteger[] newLow = low == null || compare(pointLow, low) > 0 ? pointLow : low;
            BigInteger[] newHigh = high == null || compare(pointHigh, high) < 0 ? pointHigh : high;
            if (compare(newLow, newHigh) > 0) {
                origin = i;
                starts.add(i);
                low = null;
                high = null;
            } else {
                low = newLow;
                high = newHigh;
            }
        }
        return starts;
    }

    private static int compare(BigInteger[] left, BigInteger[] right) {
        return left[0].multiply(right[1]).compareTo(right[0].multiply(left[1]));
    }

    static BigInteger[] unsigned(long[] keys) {
        BigInteger[] values = new BigInteger[keys.length];
        for (int i = 0; i < keys.length; i++) {
            values[i] = new BigInteger(Long.toUnsignedString(keys[i]));
        }
        return values;
    }
}
