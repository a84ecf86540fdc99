package io.rolexkv.common.fabric;

import io.rolexkv.common.config.ConfigNode;

/**
 * What a memory node accepts in one doorbell batch. A batch over either limit is refused whole with
 * {@link VerbRejectedException.Reason#OVERSIZE_BATCH}; the tcp transport also refuses frames larger than
 * {@link #maxFrameBytes()} by closing the connection, since such a frame cannot be a batch this node would run.
 *
 * @param maxVerbsPerBatch verbs in one batch; an RDMA send queue is a few thousand entries deep
 * @param maxBytesPerBatch bytes one batch may READ plus WRITE
 */
public record FabricLimits(int maxVerbsPerBatch, long maxBytesPerBatch) {
    public static final String MAX_VERBS_PER_BATCH_PROP_NAME = "max_verbs_per_batch";
    public static final int MAX_VERBS_PER_BATCH_DEFAULT = 4096;
    public static final String MAX_BYTES_PER_BATCH_PROP_NAME = "max_bytes_per_batch";
    public static final long MAX_BYTES_PER_BATCH_DEFAULT = 64L << 20;

    public static final FabricLimits DEFAULT = new FabricLimits(MAX_VERBS_PER_BATCH_DEFAULT, MAX_BYTES_PER_BATCH_DEFAULT);

    /** Per-verb bytes on the wire besides a WRITE's payload: kind, address, length, two operands. */
    public static final int VERB_HEADER_BYTES = 1 + 8 + 4 + 8 + 8;

    public FabricLimits {
        if (maxVerbsPerBatch < 1) {
            throw new IllegalArgumentException(MAX_VERBS_PER_BATCH_PROP_NAME + "=" + maxVerbsPerBatch + " must be >= 1");
        }
        if (maxBytesPerBatch < 8 || maxBytesPerBatch > Integer.MAX_VALUE / 2) {
            throw new IllegalArgumentException(MAX_BYTES_PER_BATCH_PROP_NAME + "=" + maxBytesPerBatch
                    + " allowed=[8," + Integer.MAX_VALUE / 2 + "]");
        }
    }

    /**
     * Reads {@value #MAX_VERBS_PER_BATCH_PROP_NAME} and {@value #MAX_BYTES_PER_BATCH_PROP_NAME} (a size, such as
     * {@code "64MiB"}) from {@code config}, each defaulting as above; the owner of these fields validates them.
     */
    public static FabricLimits from(ConfigNode config) {
        return new FabricLimits(
                config.optionalInt(MAX_VERBS_PER_BATCH_PROP_NAME, MAX_VERBS_PER_BATCH_DEFAULT, 1, Integer.MAX_VALUE),
                config.optionalSize(MAX_BYTES_PER_BATCH_PROP_NAME, MAX_BYTES_PER_BATCH_DEFAULT, 8, Integer.MAX_VALUE / 2));
    }

    /** The largest well-formed request or completion frame a batch within these limits can need. */
    public long maxFrameBytes() {
        return 64 + (long) maxVerbsPerBatch * VERB_HEADER_BYTES + maxBytesPerBatch;
    }
}
