package io.rolexkv.bench.baseline.rpc;

import java.time.Duration;

/**
 * The rpc client's settings, each a {@code *_PROP_NAME} / {@code *_DEFAULT} pair, validated here when built.
 *
 * @param connections     tcp connections one {@link RpcKV} opens to the server; calls spread over them, and each
 *                        carries any number of pipelined requests
 * @param connectTimeout  how long connecting waits for the tcp connection and then for the server's HELLO
 * @param responseTimeout how long a request may wait for its answer; past it the call fails with
 *                        {@link io.rolexkv.common.fabric.ConnectionLostException} and the connection is closed (a
 *                        server that stops answering is as good as dead, and a late answer can no longer be told
 *                        apart from a lost one)
 * @param ioThreads       the client's event loop threads, shared by its connections
 */
public record RpcKVSettings(int connections, Duration connectTimeout, Duration responseTimeout, int ioThreads) {
    public static final String CONNECTIONS_PROP_NAME = "rpc_connections";
    public static final int CONNECTIONS_DEFAULT = 1;
    public static final String CONNECT_TIMEOUT_PROP_NAME = "rpc_connect_timeout_ms";
    public static final Duration CONNECT_TIMEOUT_DEFAULT = Duration.ofSeconds(5);
    public static final String RESPONSE_TIMEOUT_PROP_NAME = "rpc_response_timeout_ms";
    public static final Duration RESPONSE_TIMEOUT_DEFAULT = Duration.ofSeconds(30);
    public static final String IO_THREADS_PROP_NAME = "rpc_client_io_threads";
    public static final int IO_THREADS_DEFAULT = 1;

    private static final int MAX_CONNECTIONS = 64;
    private static final int MAX_IO_THREADS = 64;
    private static final Duration MAX_TIMEOUT = Duration.ofHours(1);

    public static final RpcKVSettings DEFAULT = new RpcKVSettings(CONNECTIONS_DEFAULT, CONNECT_TIMEOUT_DEFAULT,
            RESPONSE_TIMEOUT_DEFAULT, IO_THREADS_DEFAULT);

    public RpcKVSettings {
        if (connections < 1 || connections > MAX_CONNECTIONS) {
            throw new IllegalArgumentException(CONNECTIONS_PROP_NAME + "=" + connections + " allowed=[1," + MAX_CONNECTIONS + "]");
        }
        checkTimeout(CONNECT_TIMEOUT_PROP_NAME, connectTimeout);
        checkTimeout(RESPONSE_TIMEOUT_PROP_NAME, responseTimeout);
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

    public RpcKVSettings withConnections(int count) {
        return new RpcKVSettings(count, connectTimeout, responseTimeout, ioThreads);
    }

    public RpcKVSettings withConnectTimeout(Duration timeout) {
        return new RpcKVSettings(connections, timeout, responseTimeout, ioThreads);
    }

    public RpcKVSettings withResponseTimeout(Duration timeout) {
        return new RpcKVSettings(connections, connectTimeout, timeout, ioThreads);
    }

    public RpcKVSettings withIoThreads(int threads) {
        return new RpcKVSettings(connections, connectTimeout, responseTimeout, threads);
    }
}
