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

    private static double exact(long unsigned) {
        return new BigDecimal(Long.toUnsignedString(unsigned)).doubleValue();
    }
}
