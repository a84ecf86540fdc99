package io.rolexkv.rolex.model;

import io.rolexkv.common.fabric.WordOrder;

import java.lang.foreign.MemorySegment;

/**
 * Fixed layout of one {@link LinearModel}: 48 bytes, little-endian (as every word of a region, see
 * {@link WordOrder}), every field 8-byte aligned relative to the record start.
 *
 * <pre>
 *   0                   8                   16                  24
 *  +-------------------+-------------------+-------------------+
 *  |  firstKey   u64   |  slope      f64   |  intercept  f64   |
 *  +-------------------+-------------------+-------------------+
 *   24                  32                  40         44        48
 *  +-------------------+-------------------+----------+---------+
 *  |  firstRank  i64   |  lastRank   i64   | epsilon  | reserved|
 *  |                   |                   |   u32    |  u32 =0 |
 *  +-------------------+-------------------+----------+---------+
 * </pre>
 *
 * Doubles are stored as their IEEE-754 bit patterns ({@link Double#doubleToRawLongBits}), so a decoded model
 * predicts bit-for-bit what the encoded one did. A single record carries no checksum; a model set
 * ({@link LearnedModelsDescriptor}) checksums all of its records at once.
 */
public final class LinearModelDescriptor {
    public static final int FIRST_KEY_OFFSET = 0;
    public static final int SLOPE_OFFSET = 8;
    public static final int INTERCEPT_OFFSET = 16;
    public static final int FIRST_RANK_OFFSET = 24;
    public static final int LAST_RANK_OFFSET = 32;
    public static final int EPSILON_OFFSET = 40;
    public static final int RESERVED_OFFSET = 44;
    public static final int LENGTH = 48;

    private LinearModelDescriptor() {
    }

    public static long firstKey(MemorySegment record, long offset) {
        return WordOrder.getLong(record, offset + FIRST_KEY_OFFSET);
    }

    public static double slope(MemorySegment record, long offset) {
        return Double.longBitsToDouble(WordOrder.getLong(record, offset + SLOPE_OFFSET));
    }

    public static double intercept(MemorySegment record, long offset) {
        return Double.longBitsToDouble(WordOrder.getLong(record, offset + INTERCEPT_OFFSET));
    }

    public static long firstRank(MemorySegment record, long offset) {
        return WordOrder.getLong(record, offset + FIRST_RANK_OFFSET);
    }

    public static long lastRank(MemorySegment record, long offset) {
        return WordOrder.getLong(record, offset + LAST_RANK_OFFSET);
    }

    /** Stored unsigned; values above {@code Integer.MAX_VALUE} read as negative and are rejected by decode. */
    public static int epsilon(MemorySegment record, long offset) {
        return record.get(WordOrder.INT_UNALIGNED, offset + EPSILON_OFFSET);
    }

    public static int reserved(MemorySegment record, long offset) {
        return record.get(WordOrder.INT_UNALIGNED, offset + RESERVED_OFFSET);
    }

    /** Writes {@code model} at {@code offset}; {@code LENGTH} bytes. */
    public static void encode(LinearModel model, MemorySegment target, long offset) {
        encode(model.firstKey(), model.slope(), model.intercept(), model.firstRank(), model.lastRank(),
            model.epsilon(), target, offset);
    }

    /** A fresh {@code LENGTH}-byte array holding {@code model}. */
    public static byte[] encode(LinearModel model) {
        byte[] bytes = new byte[LENGTH];
        encode(model, MemorySegment.ofArray(bytes), 0);
        return bytes;
    }

    static void encode(long firstKey, double slope, double intercept, long firstRank, long lastRank, int epsilon,
                       MemorySegment target, long offset) {
        checkBounds(target, offset);
        WordOrder.putLong(target, offset + FIRST_KEY_OFFSET, firstKey);
        WordOrder.putLong(target, offset + SLOPE_OFFSET, Double.doubleToRawLongBits(slope));
        WordOrder.putLong(target, offset + INTERCEPT_OFFSET, Double.doubleToRawLongBits(intercept));
        WordOrder.putLong(target, offset + FIRST_RANK_OFFSET, firstRank);
        WordOrder.putLong(target, offset + LAST_RANK_OFFSET, lastRank);
        target.set(WordOrder.INT_UNALIGNED, offset + EPSILON_OFFSET, epsilon);
        target.set(WordOrder.INT_UNALIGNED, offset + RESERVED_OFFSET, 0);
    }

    /**
     * Reads the model at {@code offset}.
     *
     * @throws CorruptModelException if fewer than {@code LENGTH} bytes remain, the reserved word is not zero, or
     *                               the fields break a model's invariants
     */
    public static LinearModel decode(MemorySegment source, long offset) {
        if (offset < 0 || source.byteSize() - offset < LENGTH) {
            throw new CorruptModelException("linear model record truncated: offset=" + offset + " length="
                + LENGTH + " available=" + Math.max(0, source.byteSize() - Math.max(0, offset)));
        }
        int reserved = reserved(source, offset);
        if (reserved != 0) {
            throw new CorruptModelException("linear model record corrupt: offset=" + offset + " reserved=" + reserved
                + " expected=0");
        }
        try {
            return new LinearModel(firstKey(source, offset), slope(source, offset), intercept(source, offset),
                firstRank(source, offset), lastRank(source, offset), epsilon(source, offset));
        } catch (IllegalArgumentException invalid) {
            throw new CorruptModelException("linear model record corrupt: offset=" + offset + " "
                + invalid.getMessage(), invalid);
        }
    }

    /** Reads a model from the first {@code LENGTH} bytes of {@code bytes}. */
    public static LinearModel decode(byte[] bytes) {
        return decode(MemorySegment.ofArray(bytes), 0);
    }

    private static void checkBounds(MemorySegment target, long offset) {
        if (offset < 0 || target.byteSize() - offset < LENGTH) {
            throw new IndexOutOfBoundsException("offset=" + offset + " length=" + LENGTH
                + " capacity=" + target.byteSize());
        }
    }
}
