package io.rolexkv.computenode.value;

import io.rolexkv.common.fabric.WordOrder;

/**
 * The 8-byte word a ROLEX leaf stores for a key: what it means under each {@link ValueFormat}. One class fixes the
 * bits; everything that builds or reads a word goes through it.
 *
 * <h2>{@code inline8}</h2>
 * The word is the value: its 8 bytes read as a little-endian {@code long} ({@link #ofInline8}, {@link #inline8Bytes}).
 * Every word is a value; there is no tag, so this format cannot hold a value of any other length.
 *
 * <h2>{@code blocks}: an inline value (0 to 7 bytes)</h2>
 * <pre>
 *   63  62     59 58     56 55                                                          0
 *  +---+---------+---------+------------------------------------------------------------+
 *  | 1 |  0000   | length  |  bytes[0, length): byte i in bits [8i, 8i+8); zero beyond    |
 *  |   | 4 bits  | 3 bits  |                          56 bits                            |
 *  +---+---------+---------+------------------------------------------------------------+
 * </pre>
 *
 * <h2>{@code blocks}: a handle to a value block (any length up to {@link #MAX_BLOCK_VALUE_BYTES})</h2>
 * <pre>
 *   63  62            55 54                        34 33                                 0
 *  +---+----------------+----------------------------+-----------------------------------+
 *  | 0 |  incarnation   |      length (bytes)        |     block offset / 16              |
 *  |   |    8 bits      |          21 bits           |          34 bits                   |
 *  +---+----------------+----------------------------+-----------------------------------+
 * </pre>
 *
 * <ul>
 *   <li>bit 63, the tag: 1 for an inline value, 0 for a handle.</li>
 *   <li>{@code block offset}: where the block starts in the values region of the key's own memory node, in units of
 *       {@value #BLOCK_ALIGNMENT} bytes (blocks are {@value #BLOCK_ALIGNMENT}-aligned), so a handle reaches
 *       {@link #MAX_ADDRESSABLE_BYTES} bytes of region. The region header sits at offset 0, so no handle has offset 0:
 *       the all-zero word is never a valid handle.</li>
 *   <li>{@code length}: the value's exact length, so a reader READs exactly the block header plus the value, in the
 *       same doorbell count as an inline value needs plus one.</li>
 *   <li>{@code incarnation}: how many times the block's memory had been handed out before (mod 256), also written in
 *       the block's header. A reader that arrives at a block after it was reclaimed and reused for the same key still
 *       sees a different incarnation (see {@link ValueAllocator} for the whole argument).</li>
 * </ul>
 */
public final class ValueWord {
    public static final long INLINE_TAG = 1L << 63;
    public static final int MAX_INLINE_BYTES = 7;
    public static final int BLOCK_ALIGNMENT = 16;

    public static final int OFFSET_BITS = 34;
    public static final int LENGTH_BITS = 21;
    public static final int INCARNATION_BITS = 8;
    public static final int INCARNATIONS = 1 << INCARNATION_BITS;
    /** The longest value a handle can describe; the engine caps {@code max_value_bytes} lower. */
    public static final int MAX_BLOCK_VALUE_BYTES = (1 << LENGTH_BITS) - 1;
    /** Bytes of values region a handle can reach: 256 GiB. */
    public static final long MAX_ADDRESSABLE_BYTES = (1L << OFFSET_BITS) * BLOCK_ALIGNMENT;

    private static final int INLINE_LENGTH_SHIFT = 56;
    private static final long INLINE_BYTES_MASK = (1L << 56) - 1;
    private static final long INLINE_RESERVED_MASK = 0xFL << 59;
    private static final int LENGTH_SHIFT = OFFSET_BITS;
    private static final int INCARNATION_SHIFT = OFFSET_BITS + LENGTH_BITS;
    private static final long OFFSET_MASK = (1L << OFFSET_BITS) - 1;
    private static final long LENGTH_MASK = (1L << LENGTH_BITS) - 1;

    private ValueWord() {
    }

    // ------------------------------------------------------------------ inline8

    /** The word of an 8-byte value in the {@code inline8} format. */
    public static long ofInline8(byte[] value) {
        if (value.length != Long.BYTES) {
            throw new IllegalArgumentException("value bytes=" + value.length + " but " + ValueFormat.PROP_NAME + "="
                    + ValueFormat.INLINE8.configName() + " stores exactly 8");
        }
        return WordOrder.getLong(value, 0);
    }

    /** The value an {@code inline8} word holds. */
    public static byte[] inline8Bytes(long word) {
        byte[] value = new byte[Long.BYTES];
        WordOrder.putLong(value, 0, word);
        return value;
    }

    // ------------------------------------------------------------------ blocks: inline values

    public static boolean isInline(long word) {
        return (word & INLINE_TAG) != 0;
    }

    /** The word holding {@code value} (0 to {@value #MAX_INLINE_BYTES} bytes) inline. */
    public static long ofInline(byte[] value) {
        if (value.length > MAX_INLINE_BYTES) {
            throw new IllegalArgumentException("inline value bytes=" + value.length + " max=" + MAX_INLINE_BYTES);
        }
        long word = INLINE_TAG | ((long) value.length << INLINE_LENGTH_SHIFT);
        for (int i = 0; i < value.length; i++) {
            word |= (value[i] & 0xFFL) << (8 * i);
        }
        return word;
    }

    public static int inlineLength(long word) {
        return (int) (word >>> INLINE_LENGTH_SHIFT) & 0x7;
    }

    /** The bytes of an inline word. */
    public static byte[] inlineBytes(long word) {
        if (!isInline(word) || (word & INLINE_RESERVED_MASK) != 0) {
            throw new IllegalStateException("not an inline value word: " + toString(word));
        }
        int length = inlineLength(word);
        long bytes = word & INLINE_BYTES_MASK;
        if (length < MAX_INLINE_BYTES && (bytes >>> (8 * length)) != 0) {
            throw new IllegalStateException("inline value word has bytes beyond its length: " + toString(word));
        }
        byte[] value = new byte[length];
        for (int i = 0; i < length; i++) {
            value[i] = (byte) (bytes >>> (8 * i));
        }
        return value;
    }

    // ------------------------------------------------------------------ blocks: handles

    /** A handle to the block at {@code blockOffset} of the values region holding a value of {@code length} bytes. */
    public static long ofHandle(long blockOffset, int length, int incarnation) {
        if (blockOffset <= 0 || blockOffset % BLOCK_ALIGNMENT != 0 || blockOffset >= MAX_ADDRESSABLE_BYTES) {
            throw new IllegalArgumentException("block offset=" + blockOffset + " must be a positive multiple of "
                    + BLOCK_ALIGNMENT + " below " + MAX_ADDRESSABLE_BYTES);
        }
        if (length < 0 || length > MAX_BLOCK_VALUE_BYTES) {
            throw new IllegalArgumentException("block value length=" + length + " allowed=[0," + MAX_BLOCK_VALUE_BYTES + "]");
        }
        if (incarnation < 0 || incarnation >= INCARNATIONS) {
            throw new IllegalArgumentException("incarnation=" + incarnation + " allowed=[0," + (INCARNATIONS - 1) + "]");
        }
        return ((long) incarnation << INCARNATION_SHIFT) | ((long) length << LENGTH_SHIFT) | (blockOffset / BLOCK_ALIGNMENT);
    }

    public static long blockOffset(long handle) {
        return (handle & OFFSET_MASK) * BLOCK_ALIGNMENT;
    }

    public static int length(long handle) {
        return (int) ((handle >>> LENGTH_SHIFT) & LENGTH_MASK);
    }

    public static int incarnation(long handle) {
        return (int) (handle >>> INCARNATION_SHIFT) & (INCARNATIONS - 1);
    }

    /** The next incarnation a block gets when it is handed out again. */
    public static int nextIncarnation(int incarnation) {
        return (incarnation + 1) & (INCARNATIONS - 1);
    }

    public static String toString(long word) {
        if (isInline(word)) {
            return "ValueWord[inline length=" + inlineLength(word) + " word=0x" + Long.toHexString(word) + "]";
        }
        return "ValueWord[handle offset=" + blockOffset(word) + " length=" + length(word) + " incarnation="
                + incarnation(word) + "]";
    }
}
