package io.rolexkv.common.net;

import java.time.Duration;
import java.util.Objects;
import java.util.Optional;

/**
 * The client settings of every protocol on this layer, each a {@code *_PROP_NAME} / {@code *_DEFAULT} pair, validated
 * here when built.
 *
 * @param connectTimeout  how long connecting waits for the tcp connection and then for the server's HELLO
 * @param responseTimeout how long a request may wait for its answer; past it the request fails with
 *                        {@link io.rolexkv.common.fabric.ConnectionLostException} and the connection is closed (a
 *                        server that stops answering is as good as dead, and a late answer can no longer be told
 *                        apart from a lost one)
 * @param ioThreads       event loop threads of a server started through the tcp transport (clients have none: their
 *                        callers do their socket work, see {@link FrameConnection})
 * @param connections     tcp connections ({@link FrameConnection}s) one logical connection opens to a server at most;
 *                        each calling thread keeps to one of them, given round robin, so its requests stay in order
 *                        and, with as many connections as threads, each thread reads its own answers (the tcp fabric
 *                        opens them as threads first post; the rpc baseline at once)
 * @param secret          the cluster secret both ends prove in the hello ({@link AuthHandshake}); empty: none, and
 *                        a client refuses a server that asks for one, a server serves anyone who connects
 */
public record NetSettings(Duration connectTimeout, Duration responseTimeout, int ioThreads, int connections,
                          Optional<ClusterSecret> secret) {
    public static final String CONNECT_TIMEOUT_PROP_NAME = "connect_timeout_ms";
    /**
     * Long enough for a memory node JVM started a moment ago on a busy 2-core machine to answer its first HELLO (5 s
     * was not: starting nodes failed with "no hello within connect timeout" under load); a refused connection still
     * fails at once, so only an unreachable host waits this long.
     */
    public static final Duration CONNECT_TIMEOUT_DEFAULT = Duration.ofSeconds(15);
    public static final String RESPONSE_TIMEOUT_PROP_NAME = "response_timeout_ms";
    public static final Duration RESPONSE_TIMEOUT_DEFAULT = Duration.ofSeconds(30);
    public static final String IO_THREADS_PROP_NAME = "io_threads";
    /** One per core, at most 4: one event loop keeps a connection busy, and requests are cheap. */
    public static final int IO_THREADS_DEFAULT = Math.clamp(Runtime.getRuntime().availableProcessors(), 1, 4);
    public static final String CONNECTIONS_PROP_NAME = "connections";
    /**
     * Eight: a thread alone on its connection reads its own answers, where threads sharing one hand the reading to
     * each other, one wake-up per answer on the critical path (measured on YCSB C with 8 threads, see the README); the
     * server then batches less, so its CPU per request rises somewhat.
     */
    public static final int CONNECTIONS_DEFAULT = 8;

    private static final Duration MAX_TIMEOUT = Duration.ofHours(1);
    private static final int MAX_IO_THREADS = 256;
    private static final int MAX_CONNECTIONS = 64;

    public static final NetSettings DEFAULT =
            new NetSettings(CONNECT_TIMEOUT_DEFAULT, RESPONSE_TIMEOUT_DEFAULT, IO_THREADS_DEFAULT, CONNECTIONS_DEFAULT);

    public NetSettings(Duration connectTimeout, Duration responseTimeout, int ioThreads, int connections) {
        this(connectTimeout, responseTimeout, ioThreads, connections, Optional.empty());
    }

    public NetSettings {
        Objects.requireNonNull(secret, "secret");
        checkTimeout(CONNECT_TIMEOUT_PROP_NAME, connectTimeout);
        checkTimeout(RESPONSE_TIMEOUT_PROP_NAME, responseTimeout);
        if (ioThreads < 1 || ioThreads > MAX_IO_THREADS) {
            throw new IllegalArgumentException(IO_THREADS_PROP_NAME + "=" + ioThreads + " allowed=[1," + MAX_IO_THREADS + "]");
        }
        if (connections < 1 || connections > MAX_CONNECTIONS) {
            throw new IllegalArgumentException(CONNECTIONS_PROP_NAME + "=" + connections + " allowed=[1," + MAX_CONNECTIONS + "]");
        }
    }

    private static void checkTimeout(String name, Duration timeout) {
        if (timeout == null || timeout.toMillis() < 1 || timeout.compareTo(MAX_TIMEOUT) > 0) {
            throw new IllegalArgumentException(name + "=" + (timeout == null ? "null" : timeout.toMillis())
                    + " allowed=[1," + MAX_TIMEOUT.toMillis() + "]");
        }
    }

    public NetSettings withConnectTimeout(Duration timeout) {
        return new NetSettings(timeout, responseTimeout, ioThreads, connections, secret);
    }

    public NetSettings withResponseTimeout(Duration timeout) {
        return new NetSettings(connectTimeout, timeout, ioThreads, connections, secret);
    }

    public NetSettings withIoThreads(int threads) {
        return new NetSettings(connectTimeout, responseTimeout, threads, connections, secret);
    }

    public NetSettings withConnections(int count) {
        return new NetSettings(connectTimeout, responseTimeout, ioThreads, count, secret);
    }

    /** These settings with {@code secret} proved in every hello. */
    public NetSettings withSecret(ClusterSecret secret) {
        return new NetSettings(connectTimeout, responseTimeout, ioThreads, connections, Optional.of(secret));
    }

    /** These settings with the given secret, or none. */
    public NetSettings withSecret(Optional<ClusterSecret> secret) {
        return new NetSettings(connectTimeout, responseTimeout, ioThreads, connections, secret);
    }
}
