package io.rolexkv.common.fabric.rdma;

import io.rolexkv.common.fabric.FabricLimits;

/**
 * Tuning of the rdma transport, validated in one place at start-up. Each setting comes as a {@code *_PROP_NAME} /
 * {@code *_DEFAULT} pair so a config loader can name it; the defaults fit a client with a handful of memory nodes.
 *
 * @param sendQueueDepth        work requests one queue pair may have outstanding; a batch needing more is refused
 *                              (also the receive depth and the poll batch of DiSNI's endpoint group)
 * @param completionQueueSize   entries of the completion queue all connections of a transport share; must cover
 *                              every work request that can complete in error at once, so at least the queue depth
 * @param stagingSlots          batches one connection may have in flight without allocating; a post waits for a
 *                              free slot when all are busy
 * @param stagingSlotBytes      bytes of one staging slot (READ destinations, WRITE copies, atomic results); a larger
 *                              batch registers a one-off staging buffer for itself
 * @param registrationChunkShift the memory node registers each region in chunks of {@code 1 << shift} bytes, each
 *                              with its own rkey, because DiSNI's registration call takes an {@code int} length
 * @param connectTimeoutMillis  address/route resolution, connection set-up and the region exchange, each
 * @param polling               whether DiSNI's completion thread busy-polls (lowest latency, burns a core) or sleeps
 *                              on the completion channel
 */
public record RdmaSettings(int sendQueueDepth, int completionQueueSize, int stagingSlots, int stagingSlotBytes,
                           int registrationChunkShift, int connectTimeoutMillis, boolean polling) {
    public static final String SEND_QUEUE_DEPTH_PROP_NAME = "rdma_send_queue_depth";
    public static final int SEND_QUEUE_DEPTH_DEFAULT = FabricLimits.MAX_VERBS_PER_BATCH_DEFAULT;
    public static final String COMPLETION_QUEUE_SIZE_PROP_NAME = "rdma_completion_queue_size";
    public static final int COMPLETION_QUEUE_SIZE_DEFAULT = 4 * SEND_QUEUE_DEPTH_DEFAULT;
    public static final String STAGING_SLOTS_PROP_NAME = "rdma_staging_slots";
    public static final int STAGING_SLOTS_DEFAULT = 16;
    public static final String STAGING_SLOT_BYTES_PROP_NAME = "rdma_staging_slot_bytes";
    public static final int STAGING_SLOT_BYTES_DEFAULT = 64 << 10;
    public static final String REGISTRATION_CHUNK_SHIFT_PROP_NAME = "rdma_registration_chunk_shift";
    public static final int REGISTRATION_CHUNK_SHIFT_DEFAULT = 30;
    public static final String CONNECT_TIMEOUT_MILLIS_PROP_NAME = "rdma_connect_timeout_ms";
    public static final int CONNECT_TIMEOUT_MILLIS_DEFAULT = 5_000;
    public static final String POLLING_PROP_NAME = "rdma_polling";
    public static final boolean POLLING_DEFAULT = false;

    /** Smallest chunk: one page, so chunk boundaries never split an 8-byte word. */
    public static final int REGISTRATION_CHUNK_SHIFT_MIN = 12;
    /** Largest chunk: 1 GiB, the largest power of two an {@code int} registration length can hold. */
    public static final int REGISTRATION_CHUNK_SHIFT_MAX = 30;

    public static final RdmaSettings DEFAULT = new RdmaSettings(SEND_QUEUE_DEPTH_DEFAULT, COMPLETION_QUEUE_SIZE_DEFAULT,
            STAGING_SLOTS_DEFAULT, STAGING_SLOT_BYTES_DEFAULT, REGISTRATION_CHUNK_SHIFT_DEFAULT,
            CONNECT_TIMEOUT_MILLIS_DEFAULT, POLLING_DEFAULT);

    public RdmaSettings {
        requireRange(SEND_QUEUE_DEPTH_PROP_NAME, sendQueueDepth, 1, 1 << 16);
        requireRange(COMPLETION_QUEUE_SIZE_PROP_NAME, completionQueueSize, sendQueueDepth, 1 << 22);
        requireRange(STAGING_SLOTS_PROP_NAME, stagingSlots, 1, 4096);
        requireRange(STAGING_SLOT_BYTES_PROP_NAME, stagingSlotBytes, RdmaStagingDescriptor.ALIGNMENT, 1 << 30);
        if (stagingSlotBytes % RdmaStagingDescriptor.ALIGNMENT != 0) {
            throw new IllegalArgumentException(STAGING_SLOT_BYTES_PROP_NAME + "=" + stagingSlotBytes
                    + " must be a multiple of " + RdmaStagingDescriptor.ALIGNMENT);
        }
        if ((long) stagingSlots * stagingSlotBytes > 1L << 30) {
            throw new IllegalArgumentException(STAGING_SLOTS_PROP_NAME + "=" + stagingSlots + " * "
                    + STAGING_SLOT_BYTES_PROP_NAME + "=" + stagingSlotBytes + " exceeds 1 GiB per connection");
        }
        requireRange(REGISTRATION_CHUNK_SHIFT_PROP_NAME, registrationChunkShift, REGISTRATION_CHUNK_SHIFT_MIN,
                REGISTRATION_CHUNK_SHIFT_MAX);
        requireRange(CONNECT_TIMEOUT_MILLIS_PROP_NAME, connectTimeoutMillis, 1, 600_000);
    }

    /** The default settings, with a send queue deep enough for the largest batch {@code limits} allow. */
    public static RdmaSettings forLimits(FabricLimits limits) {
        int depth = Math.max(SEND_QUEUE_DEPTH_DEFAULT, limits.maxVerbsPerBatch());
        return new RdmaSettings(depth, Math.max(COMPLETION_QUEUE_SIZE_DEFAULT, 4 * depth), STAGING_SLOTS_DEFAULT,
                STAGING_SLOT_BYTES_DEFAULT, REGISTRATION_CHUNK_SHIFT_DEFAULT, CONNECT_TIMEOUT_MILLIS_DEFAULT,
                POLLING_DEFAULT);
    }

    /** These settings with another registration chunk size (tests use small chunks to exercise split verbs). */
    public RdmaSettings withRegistrationChunkShift(int shift) {
        return new RdmaSettings(sendQueueDepth, completionQueueSize, stagingSlots, stagingSlotBytes, shift,
                connectTimeoutMillis, polling);
    }

    /** These settings with another staging pool. */
    public RdmaSettings withStaging(int slots, int slotBytes) {
        return new RdmaSettings(sendQueueDepth, completionQueueSize, slots, slotBytes, registrationChunkShift,
                connectTimeoutMillis, polling);
    }

    private static void requireRange(String name, long value, long min, long max) {
        if (value < min || value > max) {
            throw new IllegalArgumentException(name + "=" + value + " allowed=[" + min + "," + max + "]");
        }
    }
}
