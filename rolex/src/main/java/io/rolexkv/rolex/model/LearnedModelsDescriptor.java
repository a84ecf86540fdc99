package io.rolexkv.rolex.model;

import io.rolexkv.common.fabric.WordOrder;

import java.lang.foreign.MemorySegment;
import java.util.zip.CRC32C;

/**
 * Fixed layout of a {@link LearnedModels} model set as a memory node publishes it and compute nodes READ it:
 * a 24-byte header, then {@code modelCount} records of {@link LinearModelDescriptor#LENGTH} bytes in key order.
 * Little-endian; records start 8-byte aligned.
 *
 * <pre>
 *   0         4      6      8            12           16                       24
 *  +---------+------+------+------------+------------+------------------------+
 *  |  magic  |version|record| modelCount |  checksum  |      rankCount  u64    |
 *  |  "RLXM" | u16  |length|    u32     | u32 CRC32C |                        |
 *  |   u32   |  =1  |u16=48|            |            |                        |
 *  +---------+------+------+------------+------------+------------------------+
 *   24                                              24 + 48 * modelCount
 *  +------------------------------------------------+
 *  | model 0 | model 1 | ...  (LinearModelDescriptor)|
 *  +------------------------------------------------+
 * </pre>
 *
 * <ul>
 *   <li>magic: the bytes {@code 'R' 'L' 'X' 'M'}; version: this layout, 1; record length: 48, so a reader of
 *       another version fails loudly rather than misreading.</li>
 *   <li>checksum: CRC32C (Castagnoli) of bytes {@code [0, 12)} and {@code [16, 24 + 48 * modelCount)}, that is
 *       everything but the checksum itself. It catches a truncated, torn or corrupted copy: a compute node READs
 *       the header ({@link #HEADER_LENGTH} bytes) to learn {@link #encodedLength(int) the total length}, then the
 *       whole set, and re-reads on {@link CorruptModelException}.</li>
 *   <li>rankCount: ranks the set covers (the training key count), the last model's last rank plus one.</li>
 * </ul>
 */
public final class LearnedModelsDescriptor {
    /** 'R' 'L' 'X' 'M' read as a little-endian u32. */
    public static final int MAGIC = 'R' | 'L' << 8 | 'X' << 16 | 'M' << 24;
    public static final short VERSION = 1;

    public static final int MAGIC_OFFSET = 0;
    public static final int VERSION_OFFSET = 4;
    public static final int RECORD_LENGTH_OFFSET = 6;
    public static final int MODEL_COUNT_OFFSET = 8;
    public static final int CHECKSUM_OFFSET = 12;
    public static final int RANK_COUNT_OFFSET = 16;
    public static final int HEADER_LENGTH = 24;

    /** Most models a set may hold: its encoding must fit a Java array. */
    public static final int MAX_MODEL_COUNT = (Integer.MAX_VALUE - 8 - HEADER_LENGTH) / LinearModelDescriptor.LENGTH;

    private LearnedModelsDescriptor() {
    }

    /** Bytes a set of {@code modelCount} models takes. */
    public static int encodedLength(int modelCount) {
        if (modelCount < 1 || modelCount > MAX_MODEL_COUNT) {
            throw new IllegalArgumentException("modelCount=" + modelCount + " allowed=[1," + MAX_MODEL_COUNT + "]");
        }
        return HEADER_LENGTH + modelCount * LinearModelDescriptor.LENGTH;
    }

    public static int encodedLength(LearnedModels models) {
        return encodedLength(models.modelCount());
    }

    /** A fresh array holding {@code models}. */
    public static byte[] encode(LearnedModels models) {
        byte[] bytes = new byte[encodedLength(models)];
        encode(models, MemorySegment.ofArray(bytes), 0);
        return bytes;
    }

    /** Writes {@code models} at {@code offset} of {@code target}; returns the bytes written. */
    public static int encode(LearnedModels models, MemorySegment target, long offset) {
        int modelCount = models.modelCount();
        int length = encodedLength(modelCount);
        if (offset < 0 || target.byteSize() - offset < length) {
            throw new IndexOutOfBoundsException("offset=" + offset + " length=" + length
                + " capacity=" + target.byteSize());
        }
        target.set(WordOrder.INT_UNALIGNED, offset + MAGIC_OFFSET, MAGIC);
        target.set(WordOrder.SHORT_UNALIGNED, offset + VERSION_OFFSET, VERSION);
        target.set(WordOrder.SHORT_UNALIGNED, offset + RECORD_LENGTH_OFFSET, (short) LinearModelDescriptor.LENGTH);
        target.set(WordOrder.INT_UNALIGNED, offset + MODEL_COUNT_OFFSET, modelCount);
        target.set(WordOrder.INT_UNALIGNED, offset + CHECKSUM_OFFSET, 0);
        WordOrder.putLong(target, offset + RANK_COUNT_OFFSET, models.rankCount());
        long[] firstKeys = models.firstKeys();
        double[] slopes = models.slopes();
        double[] intercepts = models.intercepts();
        long[] firstRanks = models.firstRanks();
        long[] lastRanks = models.lastRanks();
        int[] epsilons = models.epsilons();
        for (int i = 0; i < modelCount; i++) {
            LinearModelDescriptor.encode(firstKeys[i], slopes[i], intercepts[i], firstRanks[i], lastRanks[i],
                epsilons[i], target, offset + HEADER_LENGTH + (long) i * LinearModelDescriptor.LENGTH);
        }
        target.set(WordOrder.INT_UNALIGNED, offset + CHECKSUM_OFFSET, checksum(target, offset, length));
        return length;
    }

    /**
     * Reads the header at {@code offset} and returns the model count, after checking magic, version and record
     * length: what a reader needs to size the READ of the whole set ({@link #encodedLength(int)}).
     *
     * @throws CorruptModelException if fewer than {@link #HEADER_LENGTH} bytes remain or the header is not one
     */
    public static int modelCount(MemorySegment source, long offset) {
        long available = offset < 0 ? 0 : Math.max(0, source.byteSize() - offset);
        if (offset < 0 || available < HEADER_LENGTH) {
            throw new CorruptModelException("model set truncated: offset=" + offset + " headerLength="
                + HEADER_LENGTH + " available=" + available);
        }
        int magic = source.get(WordOrder.INT_UNALIGNED, offset + MAGIC_OFFSET);
        if (magic != MAGIC) {
            throw new CorruptModelException("model set corrupt: offset=" + offset + " magic=0x"
                + Integer.toHexString(magic) + " expected=0x" + Integer.toHexString(MAGIC));
        }
        short version = source.get(WordOrder.SHORT_UNALIGNED, offset + VERSION_OFFSET);
        if (version != VERSION) {
            throw new CorruptModelException("model set version unsupported: offset=" + offset + " version="
                + Short.toUnsignedInt(version) + " supported=" + VERSION);
        }
        short recordLength = source.get(WordOrder.SHORT_UNALIGNED, offset + RECORD_LENGTH_OFFSET);
        if (recordLength != LinearModelDescriptor.LENGTH) {
            throw new CorruptModelException("model set corrupt: offset=" + offset + " recordLength="
                + Short.toUnsignedInt(recordLength) + " expected=" + LinearModelDescriptor.LENGTH);
        }
        int modelCount = source.get(WordOrder.INT_UNALIGNED, offset + MODEL_COUNT_OFFSET);
        if (modelCount < 1 || modelCount > MAX_MODEL_COUNT) {
            throw new CorruptModelException("model set corrupt: offset=" + offset + " modelCount="
                + Integer.toUnsignedString(modelCount) + " allowed=[1," + MAX_MODEL_COUNT + "]");
        }
        return modelCount;
    }

    /**
     * Reads the model set at {@code offset}; bytes after its {@link #encodedLength(int) length} are ignored.
     *
     * @throws CorruptModelException if the bytes are truncated, fail the checksum, or do not form a valid set
     */
    public static LearnedModels decode(MemorySegment source, long offset) {
        int modelCount = modelCount(source, offset);
        int length = encodedLength(modelCount);
        long available = source.byteSize() - offset;
        if (available < length) {
            throw new CorruptModelException("model set truncated: offset=" + offset + " modelCount=" + modelCount
                + " length=" + length + " available=" + available);
        }
        int stored = source.get(WordOrder.INT_UNALIGNED, offset + CHECKSUM_OFFSET);
        int computed = checksum(source, offset, length);
        if (stored != computed) {
            throw new CorruptModelException("model set checksum mismatch: offset=" + offset + " modelCount="
                + modelCount + " stored=0x" + Integer.toHexString(stored) + " computed=0x"
                + Integer.toHexString(computed));
        }
        long[] firstKeys = new long[modelCount];
        double[] slopes = new double[modelCount];
        double[] intercepts = new double[modelCount];
        long[] firstRanks = new long[modelCount];
        long[] lastRanks = new long[modelCount];
        int[] epsilons = new int[modelCount];
        for (int i = 0; i < modelCount; i++) {
            long recordOffset = offset + HEADER_LENGTH + (long) i * LinearModelDescriptor.LENGTH;
            LinearModel model;
            try {
                model = LinearModelDescriptor.decode(source, recordOffset);
            } catch (CorruptModelException corrupt) {
                throw new CorruptModelException("model set corrupt: modelIndex=" + i + " " + corrupt.getMessage(),
                    corrupt);
            }
            firstKeys[i] = model.firstKey();
            slopes[i] = model.slope();
            intercepts[i] = model.intercept();
            firstRanks[i] = model.firstRank();
            lastRanks[i] = model.lastRank();
            epsilons[i] = model.epsilon();
        }
        LearnedModels models;
        try {
            models = new LearnedModels(firstKeys, slopes, intercepts, firstRanks, lastRanks, epsilons);
        } catch (IllegalArgumentException invalid) {
            throw new CorruptModelException("model set corrupt: offset=" + offset + " " + invalid.getMessage(),
                invalid);
        }
        long rankCount = WordOrder.getLong(source, offset + RANK_COUNT_OFFSET);
        if (rankCount != models.rankCount()) {
            throw new CorruptModelException("model set corrupt: offset=" + offset + " rankCount=" + rankCount
                + " lastModelCovers=" + models.rankCount());
        }
        return models;
    }

    /** Reads the model set at the start of {@code bytes}. */
    public static LearnedModels decode(byte[] bytes) {
        return decode(MemorySegment.ofArray(bytes), 0);
    }

    /** CRC32C of the set's bytes except the checksum field. */
    private static int checksum(MemorySegment source, long offset, int length) {
        CRC32C crc = new CRC32C();
        crc.update(source.asSlice(offset, CHECKSUM_OFFSET).asByteBuffer());
        crc.update(source.asSlice(offset + RANK_COUNT_OFFSET, length - RANK_COUNT_OFFSET).asByteBuffer());
        return (int) crc.getValue();
    }
}
