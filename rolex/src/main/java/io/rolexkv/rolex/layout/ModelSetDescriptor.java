package io.rolexkv.rolex.layout;

/**
 * A model set: every model of the index in key order, as one immutable blob in the models region. Compute nodes READ
 * it whole to fill their model cache; a new set is written elsewhere and then published through the meta region.
 *
 * <pre>
 *   0          4            8            16          20             24
 *  +----------+------------+------------+-----------+--------------+-------------------------------+
 *  | magic    | modelCount | epoch      | checksum  | recordBytes  | modelCount model records      |
 *  |  u32     |  u32       |  u64       |  u32      |  u32         | ({@link ModelRecordDescriptor})|
 *  +----------+------------+------------+-----------+--------------+-------------------------------+
 * </pre>
 *
 * {@code checksum} is CRC32C of the records; a reader that finds a bad checksum (a stale meta pointer raced a new
 * publication) reads the meta region again. {@code recordBytes} is {@link ModelRecordDescriptor#RECORD_BYTES}: the
 * record format's version. An intact set of another record size was written by a release with another record format
 * and is refused with a clear error rather than read with this one.
 */
public final class ModelSetDescriptor {
    public static final int MAGIC = 0x4C53_4D52; // "RMSL"
    public static final int MAGIC_OFFSET = 0;
    public static final int MODEL_COUNT_OFFSET = 4;
    public static final int EPOCH_OFFSET = 8;
    public static final int CHECKSUM_OFFSET = 16;
    public static final int RECORD_BYTES_OFFSET = 20;
    public static final int HEADER_BYTES = 24;

    private ModelSetDescriptor() {
    }

    public static long setBytes(int modelCount) {
        return HEADER_BYTES + (long) modelCount * ModelRecordDescriptor.RECORD_BYTES;
    }

    public static long recordOffset(int model) {
        return HEADER_BYTES + (long) model * ModelRecordDescriptor.RECORD_BYTES;
    }
}
