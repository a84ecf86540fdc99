package io.rolexkv.computenode.value;

import org.junit.jupiter.api.Test;

import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class ValueWordTest {
    @Test
    void inlineValuesOfEveryLengthRoundTripAndCarryTheTag() {
        Random random = new Random(1);
        for (int length = 0; length <= ValueWord.MAX_INLINE_BYTES; length++) {
            for (int trial = 0; trial < 50; trial++) {
                byte[] value = new byte[length];
                random.nextBytes(value);
                long word = ValueWord.ofInline(value);
                assertTrue(ValueWord.isInline(word));
                assertEquals(length, ValueWord.inlineLength(word));
                assertArrayEquals(value, ValueWord.inlineBytes(word));
            }
        }
        // Values that differ only in length (trailing zero bytes) are different words.
        assertNotEquals(ValueWord.ofInline(new byte[] {1}), ValueWord.ofInline(new byte[] {1, 0}));
        assertThrows(IllegalArgumentException.class, () -> ValueWord.ofInline(new byte[8]));
    }

    @Test
    void handlesKeepOffsetLengthAndIncarnationApartAndAreNeverInline() {
        Random random = new Random(2);
        for (int trial = 0; trial < 10_000; trial++) {
            long offset = (1 + (random.nextLong() >>> 1) % (ValueWord.MAX_ADDRESSABLE_BYTES / 16 - 1)) * 16;
            int length = random.nextInt(ValueWord.MAX_BLOCK_VALUE_BYTES + 1);
            int incarnation = random.nextInt(ValueWord.INCARNATIONS);
            long handle = ValueWord.ofHandle(offset, length, incarnation);
            assertFalse(ValueWord.isInline(handle));
            assertEquals(offset, ValueWord.blockOffset(handle));
            assertEquals(length, ValueWord.length(handle));
            assertEquals(incarnation, ValueWord.incarnation(handle));
        }
        long last = ValueWord.ofHandle(ValueWord.MAX_ADDRESSABLE_BYTES - 16, ValueWord.MAX_BLOCK_VALUE_BYTES, 255);
        assertFalse(ValueWord.isInline(last));
        assertEquals(0, ValueWord.nextIncarnation(255));
    }

    @Test
    void handlesOutsideTheirFieldsAreRefused() {
        assertThrows(IllegalArgumentException.class, () -> ValueWord.ofHandle(0, 8, 0), "offset 0 is the region header");
        assertThrows(IllegalArgumentException.class, () -> ValueWord.ofHandle(24, 8, 0), "unaligned");
        assertThrows(IllegalArgumentException.class, () -> ValueWord.ofHandle(ValueWord.MAX_ADDRESSABLE_BYTES, 8, 0));
        assertThrows(IllegalArgumentException.class, () -> ValueWord.ofHandle(64, ValueWord.MAX_BLOCK_VALUE_BYTES + 1, 0));
        assertThrows(IllegalArgumentException.class, () -> ValueWord.ofHandle(64, 8, 256));
    }

    @Test
    void inline8WordsAreTheValueLittleEndian() {
        byte[] value = {1, 2, 3, 4, 5, 6, 7, (byte) 0x80};
        long word = ValueWord.ofInline8(value);
        assertEquals(0x8007_0605_0403_0201L, word);
        assertArrayEquals(value, ValueWord.inline8Bytes(word));
        IllegalArgumentException wrongLength = assertThrows(IllegalArgumentException.class, () -> ValueWord.ofInline8(new byte[9]));
        assertEquals("value bytes=9 but value_layout=inline8 stores exactly 8", wrongLength.getMessage());
    }

    @Test
    void aCorruptInlineWordIsNotDecodedAsAValue() {
        long word = ValueWord.ofInline(new byte[] {9});
        assertThrows(IllegalStateException.class, () -> ValueWord.inlineBytes(word | 0xFF00), "bytes beyond its length");
        assertThrows(IllegalStateException.class, () -> ValueWord.inlineBytes(word | (1L << 60)), "reserved bits");
    }
}
