package io.rolexkv.common.fabric.tcp;

import java.time.Duration;

/**
 * The tcp transport's own settings, each a {@code *_PROP_NAME} / {@code *_DEFAULT} pair, validated here when built.
 *
 * @param connectTimeout    how long {@code connect} waits for the tcp connection and then for the memory node's HELLO
 * @param completionTimeout how long a posted batch may wait for its completion; past it the batch fails with
 *                          {@link io.rolexkv.common.fabric.ConnectionLostException} and the connection is closed (a
 *                          memory node that stops answering is as good as dead, and a late answer can no longer be
 *                          told apart from a lost one)
 * @param ioThreads         event loop threads of the client side of a transport, and of each server it starts
 */
public record TcpSettings(Duration connectTimeout, Duration completionTimeout, int ioThreads) {
    public static final String CONNECT_TIMEOUT_PROP_NAME = "tcp_connect_timeout_ms";
    public static final Duration CONNECT_TIMEOUT_DEFAULT = Duration.ofSeconds(5);
    public static final String COMPLETION_TIMEOUT_PROP_NAME = "tcp_completion_timeout_ms";
    public static final Duration COMPLETION_TIMEOUT_DEFAULT = Duration.ofSeconds(30);
    public static final String IO_THREADS_PROP_NAME = "tcp_io_threads";
    /** One per core, at most 4: one event loop keeps a connection busy, and verbs are cheap. */
    public static final int IO_THREADS_DEFAULT = Math.clamp(Runtime.getRuntime().availableProcessors(), 1, 4);

    private static final Duration MAX_TIMEOUT = Duration.ofHours(1);
    private static final int MAX_IO_THREADS = 256;

    public static final TcpSettings DEFAULT =
            new TcpSettings(CONNECT_TIMEOUT_DEFAULT, COMPLETION_TIMEOUT_DEFAULT, IO_THREADS_DEFAULT);

    public TcpSettings {
        checkTimeout(CONNECT_TIMEOUT_PROP_NAME, connectTimeout);
        checkTimeout(COMPLETION_TIMEOUT_PROP_NAME, completionTimeout);
        if (ioThreads < 1 || ioThreads > MAX_IO_THREADS) {
            throw new IllegalArgumentException(IO_THREADS_PROP_NAME + "=" + ioThreads + " allowed=[1," + MAX_IO_THREADS + "]");
        }
    }

    private static void checkTimeout(String name, Duration timeout) {
        if (timeout == null || timeout.toMillis() < 1 || timeout.compareTo(MAX_TIMEOUT) > 0) {
            throw new IllegalArgumentException(name + "=" + (timeout == null ? "null" : timeout.toMillis())
                    + " allowed=[1," + MAX_TIMEOUT.toMillis() + "]");
        }
    }

    public TcpSettings withConnectTimeout(Duration timeout) {
        return new TcpSettings(timeout, completionTimeout, ioThreads);
    }

    public TcpSettings withCompletionTimeout(Duration timeout) {
        return new TcpSettings(connectTimeout, timeout, ioThreads);
    }

    public TcpSettings withIoThreads(int threads) {
        return new TcpSettings(connectTimeout, completionTimeout, threads);
    }
}
