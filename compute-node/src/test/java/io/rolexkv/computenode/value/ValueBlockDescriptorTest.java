package io.rolexkv.computenode.value;

import org.junit.jupiter.api.Test;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;

/** A reader accepts a block only if it is the very block its handle named for its key. */
class ValueBlockDescriptorTest {
    private static final long KEY = 0xDEAD_BEEF_0000_0001L;

    private static byte[] value(int length, long seed) {
        byte[] value = new byte[length];
        new Random(seed).nextBytes(value);
        return value;
    }

    @Test
    void theBlockAHandleNamedValidatesAndYieldsItsValue() {
        for (int length : new int[] {0, 8, 9, 512, 64 << 10}) {
            byte[] value = value(length, length);
            long handle = ValueWord.ofHandle(64, length, 3);
            byte[] block = ValueBlockDescriptor.encode(KEY, 3, value);
            assertEquals(ValueBlockDescriptor.readBytes(handle), block.length);
            MemorySegment read = MemorySegment.ofArray(block).asReadOnly();
            MemorySegment found = ValueBlockDescriptor.valueOrNull(read, KEY, handle);
            assertNotNull(found, "length " + length);
            assertArrayEquals(value, found.toArray(ValueLayout.JAVA_BYTE));
        }
    }

    @Test
    void anotherKeyAnotherIncarnationOrAnotherLengthIsStale() {
        byte[] value = value(100, 1);
        long handle = ValueWord.ofHandle(64, 100, 7);
        MemorySegment block = MemorySegment.ofArray(ValueBlockDescriptor.encode(KEY, 7, value));
        assertNull(ValueBlockDescriptor.valueOrNull(block, KEY + 1, handle), "reused for another key");
        assertNull(ValueBlockDescriptor.valueOrNull(block, KEY, ValueWord.ofHandle(64, 100, 8)), "a later incarnation");
        MemorySegment shorter = MemorySegment.ofArray(ValueBlockDescriptor.encode(KEY, 7, value(99, 1)));
        assertNull(ValueBlockDescriptor.valueOrNull(shorter, KEY, ValueWord.ofHandle(64, 99, 8)), "wrong incarnation");
        assertNull(ValueBlockDescriptor.valueOrNull(block.asSlice(0, 99 + 16), KEY, handle), "read of the wrong length");
    }

    @Test
    void anyTornOrFlippedByteFailsTheChecksum() {
        byte[] value = value(300, 2);
        long handle = ValueWord.ofHandle(64, 300, 0);
        byte[] block = ValueBlockDescriptor.encode(KEY, 0, value);
        for (int position = 0; position < block.length; position++) {
            byte[] torn = block.clone();
            torn[position] ^= 0x10;
            assertNull(ValueBlockDescriptor.valueOrNull(MemorySegment.ofArray(torn), KEY, handle), "flipped byte " + position);
        }
        // Half old, half new: a READ that overlapped the WRITE of a reused block.
        byte[] newer = ValueBlockDescriptor.encode(KEY, 0, value(300, 3));
        byte[] mixed = block.clone();
        System.arraycopy(newer, 160, mixed, 160, mixed.length - 160);
        assertNull(ValueBlockDescriptor.valueOrNull(MemorySegment.ofArray(mixed), KEY, handle));
    }

    @Test
    void memoryNeverWrittenIsNotAValue() {
        assertNull(ValueBlockDescriptor.valueOrNull(MemorySegment.ofArray(new byte[16]), 0, ValueWord.ofHandle(64, 0, 0)));
        assertNull(ValueBlockDescriptor.valueOrNull(MemorySegment.ofArray(new byte[16 + 8]), 0, ValueWord.ofHandle(64, 8, 0)));
    }
}
