package io.rolexkv.common.config;

import org.junit.jupiter.api.Test;

import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class ByteSizeTest {

    @Test
    void parsesPlainNumbersAndBinaryUnitsInAnyCase() {
        assertEquals(4096, ByteSize.parse("4096"));
        assertEquals(4096, ByteSize.parse("4096B"));
        assertEquals(64L << 20, ByteSize.parse("64MiB"));
        assertEquals(64L << 20, ByteSize.parse("64mb"));
        assertEquals(64L << 20, ByteSize.parse("64M"));
        assertEquals(64L << 20, ByteSize.parse(" 64 MiB "));
        assertEquals(1L << 30, ByteSize.parse("1GiB"));
        assertEquals(512L << 10, ByteSize.parse("512k"));
        assertEquals(3L << 40, ByteSize.parse("3TiB"));
        assertEquals(-5L << 20, ByteSize.parse("-5MiB"), "the sign is kept so a range check can name the negative value");
    }

    @Test
    void refusesWhatIsNotAnIntegralSize() {
        for (String bad : new String[]{"", "MiB", "1.5GiB", "64 MeB", "0x10", "1 2", "ten"}) {
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> ByteSize.parse(bad), bad);
            assertTrue(e.getMessage().startsWith("found=\"" + bad + "\""), e.getMessage());
        }
    }

    @Test
    void refusesSizesThatOverflowALong() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> ByteSize.parse("9000000TiB"));
        assertTrue(e.getMessage().contains("too large"), e.getMessage());
        assertThrows(IllegalArgumentException.class, () -> ByteSize.parse("99999999999999999999"));
    }

    @Test
    void formatUsesTheLargestExactUnit() {
        assertEquals("0", ByteSize.format(0));
        assertEquals("100", ByteSize.format(100));
        assertEquals("1536KiB", ByteSize.format(1536L << 10));
        assertEquals("64MiB", ByteSize.format(64L << 20));
        assertEquals("2TiB", ByteSize.format(2L << 40));
        assertEquals("1024TiB", ByteSize.format(1L << 50));
    }

    @Test
    void formatThenParseIsTheIdentity() {
        Random random = new Random(42);
        for (int i = 0; i < 10_000; i++) {
            long bytes = random.nextLong(1L << 50) << random.nextInt(10);
            assertEquals(bytes, ByteSize.parse(ByteSize.format(bytes)), () -> "bytes=" + bytes);
        }
    }
}
