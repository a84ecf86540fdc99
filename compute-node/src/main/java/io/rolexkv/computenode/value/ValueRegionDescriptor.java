package io.rolexkv.computenode.value;

/**
 * The values region of a memory node ({@value #REGION_NAME}): a header, then value blocks. Compute nodes carve the
 * region up among themselves by FAA on {@code usedBytes} and sub-allocate the chunks they get locally
 * ({@link ValueAllocator}); the memory node's CPU never touches it. The header is also where the compute nodes of
 * one store agree on its value format and on who builds a missing index, since it is the engine's own region.
 *
 * <pre>
 *   0               8               16              24                                     64
 *  +---------------+---------------+---------------+--------------------------------------+
 *  | format        | usedBytes     | indexBuilder  |              reserved                |
 *  |  u64 (CAS)    |  u64 (FAA)    |  u64 (CAS)    |                                      |
 *  +---------------+---------------+---------------+--------------------------------------+
 *  64: value blocks, 16-byte aligned, in chunks handed out in claim order
 * </pre>
 *
 * <ul>
 *   <li>{@code format}: 0 in a region never used; else {@link #formatWord}: the bytes "ROLXVAL" ({@link #FORMAT_MAGIC})
 *       followed by the store's {@link ValueFormat#code()} in the eighth byte. The first compute node to open the store sets it by CAS from 0;
 *       every other one checks it matches its own setting.</li>
 *   <li>{@code usedBytes}: bytes handed out past the header. A FAA of {@code n} that returns {@code old} claims
 *       {@code [HEADER_BYTES + old, HEADER_BYTES + old + n)}, clamped to the region's end; a claim that starts at or
 *       beyond the end got nothing (the counter may run past the end; readers clamp).</li>
 *   <li>{@code indexBuilder}: 0, or the token of the compute node that won the CAS to build the index of a memory
 *       node that has none. Others wait for the index to appear; the builder writes 0 back when done.</li>
 * </ul>
 */
public final class ValueRegionDescriptor {
    public static final String REGION_NAME = "values";

    public static final int FORMAT_OFFSET = 0;
    public static final int USED_BYTES_OFFSET = 8;
    public static final int INDEX_BUILDER_OFFSET = 16;
    public static final int HEADER_BYTES = 64;

    /** The bytes "ROLXVAL" read as a little-endian word; the format code goes in the top byte. */
    public static final long FORMAT_MAGIC = 0x004C_4156_584C_4F52L;

    private static final int FORMAT_CODE_SHIFT = 56;

    private ValueRegionDescriptor() {
    }

    public static long formatWord(ValueFormat format) {
        return FORMAT_MAGIC | ((long) format.code() << FORMAT_CODE_SHIFT);
    }

    /** The format a header word names, or {@code null} if the word is not a format word at all. */
    public static ValueFormat formatOf(long formatWord) {
        if ((formatWord & ((1L << FORMAT_CODE_SHIFT) - 1)) != FORMAT_MAGIC) {
            return null;
        }
        return ValueFormat.ofCode((int) (formatWord >>> FORMAT_CODE_SHIFT));
    }

    /** The first region offset of the bytes a claim got when the FAA on {@code usedBytes} returned {@code used}. */
    public static long claimStart(long used) {
        return HEADER_BYTES + used;
    }
}
