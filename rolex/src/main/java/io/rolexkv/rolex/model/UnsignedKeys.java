package io.rolexkv.rolex.model;

/**
 * Keys of the store are unsigned 64-bit integers held in Java {@code long}s. Keys at or above 2^63 look negative
 * to Java's signed operators, so every comparison and every conversion to {@code double} in the model code goes
 * through here. Never compare two keys with {@code <} or convert one with a plain {@code (double)} cast.
 */
public final class UnsignedKeys {
    /** The largest key, 2^64 - 1. */
    public static final long MAX_KEY = 0xFFFF_FFFF_FFFF_FFFFL;

    /** 2^64 as a double (exact: a power of two). */
    static final double TWO_TO_THE_64 = 0x1.0p64;

    private UnsignedKeys() {
    }

    /** Orders two keys as unsigned numbers: negative, zero or positive as {@code left} is below, equal to, above. */
    public static int compare(long left, long right) {
        return Long.compareUnsigned(left, right);
    }

    /**
     * The unsigned value as the nearest double (round half to even, the same result as an exact conversion), so
     * the conversion is monotone: {@code a <= b} (unsigned) implies {@code toDouble(a) <= toDouble(b)}.
     */
    public static double toDouble(long unsignedValue) {
        if (unsignedValue >= 0) {
            return (double) unsignedValue;
        }
        // Halve it, keeping the lowest bit as a sticky bit so the single rounding step still rounds correctly.
        return (double) ((unsignedValue >>> 1) | (unsignedValue & 1L)) * 2.0;
    }

    /**
     * The position of the last of {@code sortedKeys} (strictly increasing, unsigned) that is at or below {@code key}, or
     * 0 if every key is above it: the range that owns {@code key} when each key starts a range and the first range
     * also takes everything below it (models by their low keys, memory nodes by their first keys, a B+tree node's
     * entries by their separators).
     *
     * @throws IllegalArgumentException if {@code sortedKeys} is empty
     */
    public static int floorIndex(long[] sortedKeys, long key) {
        if (sortedKeys.length == 0) {
            throw new IllegalArgumentException("no keys to search");
        }
        // The answer lies in [base, base + remaining). Each step halves the range with a select rather than a branch:
        // every lookup runs this over thousands of model keys, and the branch of a binary search is a coin toss that
        // the processor mispredicts about every other step.
        long flippedKey = key ^ Long.MIN_VALUE;
        int base = 0;
        int remaining = sortedKeys.length;
        while (remaining > 1) {
            int half = remaining >>> 1;
            base = (sortedKeys[base + half] ^ Long.MIN_VALUE) <= flippedKey ? base + half : base;
            remaining -= half;
        }
        return base;
    }

    /** Decimal text of the unsigned value, for messages. */
    public static String toString(long key) {
        return Long.toUnsignedString(key);
    }
}
