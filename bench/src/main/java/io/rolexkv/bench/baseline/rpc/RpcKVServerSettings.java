package io.rolexkv.bench.baseline.rpc;

import io.rolexkv.common.net.ClusterSecret;

import java.util.Objects;
import java.util.Optional;

/**
 * The rpc server's settings, each a {@code *_PROP_NAME} / {@code *_DEFAULT} pair, validated here when built.
 *
 * @param maxValueBytes the largest value the server stores; clients learn it from the HELLO
 * @param maxFrameBytes the largest frame either end sends; at least
 *                      {@link RpcFrameDescriptor#minMaxFrameBytes(int)} so one COMPARE_AND_SET of two largest values
 *                      fits. Larger batches and scans are split into several frames
 * @param ioThreads     event loop threads: they decode, execute and answer every request, so they are the server's
 *                      CPU budget
 * @param secret        the cluster secret clients must prove in the hello; empty: anyone who connects is served
 */
public record RpcKVServerSettings(int maxValueBytes, int maxFrameBytes, int ioThreads, Optional<ClusterSecret> secret) {
    public static final String MAX_VALUE_BYTES_PROP_NAME = "max_value_bytes";
    public static final int MAX_VALUE_BYTES_DEFAULT = 1 << 20;
    public static final String MAX_FRAME_BYTES_PROP_NAME = "rpc_max_frame_bytes";
    public static final int MAX_FRAME_BYTES_DEFAULT = 16 << 20;
    public static final String IO_THREADS_PROP_NAME = "rpc_io_threads";
    /** One per core, at most 4, as the tcp fabric's memory node: the same CPU budget for both designs. */
    public static final int IO_THREADS_DEFAULT = Math.clamp(Runtime.getRuntime().availableProcessors(), 1, 4);

    /** Values up to 256 MiB: two of them and a header must fit a frame's int32 length. */
    public static final int MAX_VALUE_BYTES_LIMIT = 256 << 20;
    private static final int MAX_IO_THREADS = 256;

    public static final RpcKVServerSettings DEFAULT =
            new RpcKVServerSettings(MAX_VALUE_BYTES_DEFAULT, MAX_FRAME_BYTES_DEFAULT, IO_THREADS_DEFAULT);

    public RpcKVServerSettings(int maxValueBytes, int maxFrameBytes, int ioThreads) {
        this(maxValueBytes, maxFrameBytes, ioThreads, Optional.empty());
    }

    public RpcKVServerSettings {
        Objects.requireNonNull(secret, "secret");
        if (maxValueBytes < 0 || maxValueBytes > MAX_VALUE_BYTES_LIMIT) {
            throw new IllegalArgumentException(MAX_VALUE_BYTES_PROP_NAME + "=" + maxValueBytes + " allowed=[0,"
                    + MAX_VALUE_BYTES_LIMIT + "]");
        }
        long minimum = RpcFrameDescriptor.minMaxFrameBytes(maxValueBytes);
        if (maxFrameBytes < minimum) {
            throw new IllegalArgumentException(MAX_FRAME_BYTES_PROP_NAME + "=" + maxFrameBytes + " allowed=[" + minimum
                    + "," + Integer.MAX_VALUE + "] for " + MAX_VALUE_BYTES_PROP_NAME + "=" + maxValueBytes);
        }
        if (ioThreads < 1 || ioThreads > MAX_IO_THREADS) {
            throw new IllegalArgumentException(IO_THREADS_PROP_NAME + "=" + ioThreads + " allowed=[1," + MAX_IO_THREADS + "]");
        }
    }

    /**
     * Settings for {@code maxValueBytes} with the default frame size, or the smallest frame that allows such values if
     * the default is too small.
     */
    public static RpcKVServerSettings forMaxValueBytes(int maxValueBytes) {
        long frame = Math.max(MAX_FRAME_BYTES_DEFAULT, RpcFrameDescriptor.minMaxFrameBytes(Math.max(0, maxValueBytes)));
        return new RpcKVServerSettings(maxValueBytes, (int) Math.min(Integer.MAX_VALUE, frame), IO_THREADS_DEFAULT);
    }

    public RpcKVServerSettings withMaxFrameBytes(int bytes) {
        return new RpcKVServerSettings(maxValueBytes, bytes, ioThreads, secret);
    }

    public RpcKVServerSettings withIoThreads(int threads) {
        return new RpcKVServerSettings(maxValueBytes, maxFrameBytes, threads, secret);
    }

    /** These settings with clients required to prove {@code secret}, or with none required. */
    public RpcKVServerSettings withSecret(Optional<ClusterSecret> secret) {
        return new RpcKVServerSettings(maxValueBytes, maxFrameBytes, ioThreads, secret);
    }
}
