package io.rolexkv.rolex.model;

/**
 * Exact comparison of two slopes {@code dy/dx} as the convex-hull trainer needs it. Rise {@code dy} is a signed
 * rank difference, run {@code dx} a key difference: an unsigned 64-bit value, strictly positive, up to 2^64 - 1.
 * Cross-multiplying gives products of up to 127 bits, so they are compared as 128-bit numbers built from
 * {@link Math#multiplyHigh}. Doubles would do for most inputs but not all, and one wrong comparison breaks the
 * error bound or the minimality of the segmentation; exact arithmetic costs a few more cycles and keeps both.
 */
final class ExactSlopes {
    private ExactSlopes() {
    }

    /**
     * Compares {@code riseA/runA} with {@code riseB/runB}: negative, zero or positive as the first slope is
     * smaller, equal or larger.
     *
     * @param runA  positive unsigned run of the first slope
     * @param riseA signed rise of the first slope, {@code |riseA| < 2^63}
     * @param runB  positive unsigned run of the second slope
     * @param riseB signed rise of the second slope
     */
    static int compare(long runA, long riseA, long runB, long riseB) {
        // riseA/runA - riseB/runB has the sign of riseA*runB - riseB*runA because both runs are positive.
        long leftHigh = multiplyHighSignedByUnsigned(riseA, runB);
        long rightHigh = multiplyHighSignedByUnsigned(riseB, runA);
        if (leftHigh != rightHigh) {
            return leftHigh < rightHigh ? -1 : 1;
        }
        return Long.compareUnsigned(riseA * runB, riseB * runA);
    }

    /**
     * The high 64 bits of the 128-bit product of a signed and an unsigned value. {@link Math#multiplyHigh} reads
     * both as signed; an unsigned operand with its top bit set is 2^64 larger than that, which adds the signed
     * operand once to the high half. The product of a 63-bit magnitude and a 64-bit one fits the signed 128 bits.
     */
    static long multiplyHighSignedByUnsigned(long signedValue, long unsignedValue) {
        return Math.multiplyHigh(signedValue, unsignedValue) + ((unsignedValue >> 63) & signedValue);
    }
}
