package io.rolexkv.bench.baseline.rpc;

import io.rolexkv.common.net.ClusterSecret;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

import java.io.IOException;
import java.io.InputStream;
import java.io.PrintStream;
import java.nio.file.Path;
import java.util.Optional;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;

/**
 * Runs an {@link RpcKVServer} as its own process, as the YCSB harness launches it. On start it prints one line to
 * standard output, {@code rpc_server listening endpoint=HOST:PORT ...}, which a launcher reads to learn the port when
 * it asked for port 0; on shutdown (SIGTERM, SIGINT, or the end of standard input with {@code --stop-on-stdin-close})
 * it prints {@code rpc_server stopped requests=... io_thread_cpu_ns=... process_cpu_ns=...}. While it runs, clients
 * get the same figures with {@link RpcKV#serverStats()}.
 */
@Command(name = "rpc-kv-server", mixinStandardHelpOptions = true,
        description = "Serves the rpc baseline: a key-value store whose CPU executes every operation.")
public final class RpcKVServerMain implements Callable<Integer> {
    /** The first word of the start line, for launchers to look for. */
    public static final String LISTENING_LINE_PREFIX = "rpc_server listening endpoint=";

    @Option(names = "--host", description = "Address to bind (default: ${DEFAULT-VALUE}).")
    private String host = "127.0.0.1";

    @Option(names = "--port", description = "Port to bind, 0 for any free port (default: ${DEFAULT-VALUE}).")
    private int port = 0;

    @Option(names = "--max-value-bytes", description = "Largest value stored (default: ${DEFAULT-VALUE}).")
    private int maxValueBytes = RpcKVServerSettings.MAX_VALUE_BYTES_DEFAULT;

    @Option(names = "--max-frame-bytes", description = "Largest frame sent or accepted (default: ${DEFAULT-VALUE}, "
            + "raised to fit two largest values).")
    private Integer maxFrameBytes;

    @Option(names = "--io-threads", description = "Event loop threads, the server's CPU budget (default: ${DEFAULT-VALUE}).")
    private int ioThreads = RpcKVServerSettings.IO_THREADS_DEFAULT;

    @Option(names = "--auth-secret-file", description = "Serve only clients that prove the cluster secret in this file "
            + "(readable by its owner only). Default: anyone who reaches the port.")
    private Path authSecretFile;

    @Option(names = "--stop-on-stdin-close", description = "Stop when standard input ends, so the server dies with "
            + "the launcher that holds its other end.")
    private boolean stopOnStdinClose;

    private final PrintStream out;
    private final InputStream in;

    RpcKVServerMain(PrintStream out, InputStream in) {
        this.out = out;
        this.in = in;
    }

    public static void main(String[] arguments) {
        // Exit explicitly: a stopped server leaves no thread that should keep the process alive.
        System.exit(new CommandLine(new RpcKVServerMain(System.out, System.in)).execute(arguments));
    }

    @Override
    public Integer call() throws InterruptedException {
        RpcKVServerSettings defaults = RpcKVServerSettings.forMaxValueBytes(maxValueBytes);
        Optional<ClusterSecret> secret;
        try {
            secret = Optional.ofNullable(authSecretFile).map(file -> ClusterSecret.fromFile(file, "--auth-secret-file"));
        } catch (IllegalArgumentException e) {
            System.err.println("rpc-kv-server: " + e.getMessage());
            return 2;
        }
        RpcKVServerSettings settings = new RpcKVServerSettings(maxValueBytes,
                maxFrameBytes == null ? defaults.maxFrameBytes() : maxFrameBytes, ioThreads, secret);
        RpcKVServer server = RpcKVServer.start(host, port, settings);
        CountDownLatch stopped = new CountDownLatch(1);
        Thread stopper = new Thread(() -> {
            stop(server);
            stopped.countDown();
        }, "rpc-server-shutdown");
        Runtime.getRuntime().addShutdownHook(stopper);
        out.println(LISTENING_LINE_PREFIX + server.endpoint() + " port=" + server.port() + " max_value_bytes="
                + settings.maxValueBytes() + " max_frame_bytes=" + settings.maxFrameBytes() + " io_threads="
                + settings.ioThreads());
        out.flush();
        if (stopOnStdinClose) {
            drain(in);
            Runtime.getRuntime().removeShutdownHook(stopper);
            stop(server);
            return 0;
        }
        stopped.await();
        return 0;
    }

    private void stop(RpcKVServer server) {
        server.close();
        RpcServerStats stats = server.stats();
        out.println("rpc_server stopped requests=" + stats.requests() + " bytes_received=" + stats.bytesReceived()
                + " bytes_sent=" + stats.bytesSent() + " io_thread_cpu_ns=" + stats.ioThreadCpuNanos()
                + " process_cpu_ns=" + stats.processCpuNanos());
        out.flush();
    }

    private static void drain(InputStream in) {
        byte[] buffer = new byte[256];
        try {
            while (in.read(buffer) >= 0) {
                // Whatever the launcher writes is ignored; only the end matters.
            }
        } catch (IOException e) {
            // A broken pipe is an end too.
        }
    }
}
