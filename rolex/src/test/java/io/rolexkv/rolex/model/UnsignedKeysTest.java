package io.rolexkv.rolex.model;

import org.junit.jupiter.api.Test;

import java.math.BigDecimal;
import java.util.SplittableRandom;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

class UnsignedKeysTest {

    @Test
    void toDoubleRoundsLikeAnExactConversion() {
        long[] edges = {0, 1, Long.MAX_VALUE, Long.MIN_VALUE, Long.MIN_VALUE + 1, -1L, -2L, -1025L, -1024L,
            -1023L, (1L << 53) + 1, 0x8000_0000_0000_0400L, 0x8000_0000_0000_0401L, 0x8000_0000_0000_0c00L};
        for (long value : edges) {
            assertEquals(exact(value), UnsignedKeys.toDouble(value), Long.toUnsignedString(value));
        }
        SplittableRandom random = new SplittableRandom(1);
        for (int i = 0; i < 100_000; i++) {
            long value = random.nextLong() >>> random.nextInt(12);
            // Land on rounding ties often: clear or set the bits just below the double's precision.
            if (random.nextBoolean()) {
                value = (value & ~0x7FFL) | (random.nextBoolean() ? 0x400L : 0x401L);
            }
            assertEquals(exact(value), UnsignedKeys.toDouble(value), Long.toUnsignedString(value));
        }
    }

    @Test
    void toDoubleIsMonotoneAcrossTheSignBit() {
        assertTrue(UnsignedKeys.toDouble(Long.MAX_VALUE) <= UnsignedKeys.toDouble(Long.MIN_VALUE));
        assertEquals(0x1.0p64, UnsignedKeys.toDouble(UnsignedKeys.MAX_KEY));
        assertTrue(UnsignedKeys.compare(Long.MIN_VALUE, Long.MAX_VALUE) > 0);
        assertEquals("18446744073709551615", UnsignedKeys.toString(UnsignedKeys.MAX_KEY));
    }

    @Test
    void floorIndexFindsTheLastKeyAtOrBelowAgainstALinearScan() {
        SplittableRandom random = new SplittableRandom(7);
        for (int round = 0; round < 2_000; round++) {
            java.util.TreeSet<Long> unsigned = new java.util.TreeSet<>(Long::compareUnsigned);
            int size = random.nextInt(10) == 0 ? 1 + random.nextInt(3_000) : 1 + random.nextInt(12);
            while (unsigned.size() < size) {
                unsigned.add(interestingKey(random));
            }
            long[] keys = unsigned.stream().mapToLong(Long::longValue).toArray();
            for (int probe = 0; probe < 50; probe++) {
                long key = random.nextBoolean() ? interestingKey(random) : keys[random.nextInt(keys.length)] + random.nextInt(3) - 1;
                int expected = 0;
                for (int i = 0; i < keys.length; i++) {
                    if (Long.compareUnsigned(keys[i], key) <= 0) {
                        expected = i;
                    }
                }
                assertEquals(expected, UnsignedKeys.floorIndex(keys, key), "key=" + Long.toUnsignedString(key));
            }
        }
    }

    @Test
    void floorIndexOrdersKeysAboveTheSignBitLast() {
        long[] keys = {0, 5, Long.MAX_VALUE, Long.MIN_VALUE, -1L};
        assertEquals(0, UnsignedKeys.floorIndex(keys, 4));
        assertEquals(1, UnsignedKeys.floorIndex(keys, 5));
        assertEquals(2, UnsignedKeys.floorIndex(keys, Long.MIN_VALUE - 1));
        assertEquals(3, UnsignedKeys.floorIndex(keys, Long.MIN_VALUE + 7));
        assertEquals(4, UnsignedKeys.floorIndex(keys, -1L));
        assertEquals(0, UnsignedKeys.floorIndex(new long[] {100}, 3), "below the first key: the first range");
        org.junit.jupiter.api.Assertions.assertThrows(IllegalArgumentException.class,
                () -> UnsignedKeys.floorIndex(new long[0], 1));
    }

    /** Keys around 0, the sign bit and the top of the key space as often as anywhere else. */
    private static long interestingKey(SplittableRandom random) {
        long base = switch (random.nextInt(4)) {
            case 0 -> 0;
            case 1 -> Long.MIN_VALUE;
            case 2 -> -1L;
            default -> random.nextLong();
        };
        return base + random.nextInt(64) - 32;
    }

    private static double exact(long unsigned) {
        return new BigDecimal(Long.toUnsignedString(unsigned)).doubleValue();
    }
}
