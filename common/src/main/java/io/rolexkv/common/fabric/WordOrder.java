package io.rolexkv.common.fabric;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.nio.ByteOrder;

/**
 * The byte order of every 8-byte word in a region: little-endian, as on the x86 and ARM hosts memory nodes run on,
 * so CAS/FAA (which the NIC applies in host order) and a READ decoded by a client agree. One place to say it.
 */
public final class WordOrder {
    public static final ByteOrder ORDER = ByteOrder.LITTLE_ENDIAN;
    public static final ValueLayout.OfLong LONG_UNALIGNED = ValueLayout.JAVA_LONG_UNALIGNED.withOrder(ORDER);
    public static final ValueLayout.OfInt INT_UNALIGNED = ValueLayout.JAVA_INT_UNALIGNED.withOrder(ORDER);
    public static final ValueLayout.OfShort SHORT_UNALIGNED = ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ORDER);

    private static final VarHandle LONG_IN_ARRAY = MethodHandles.byteArrayViewVarHandle(long[].class, ORDER);

    private WordOrder() {
    }

    public static long getLong(byte[] data, int offset) {
        return (long) LONG_IN_ARRAY.get(data, offset);
    }

    public static void putLong(byte[] data, int offset, long value) {
        LONG_IN_ARRAY.set(data, offset, value);
    }

    public static long getLong(MemorySegment segment, long offset) {
        return segment.get(LONG_UNALIGNED, offset);
    }

    public static void putLong(MemorySegment segment, long offset, long value) {
        segment.set(LONG_UNALIGNED, offset, value);
    }
}
