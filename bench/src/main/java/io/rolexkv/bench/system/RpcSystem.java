package io.rolexkv.bench.system;

import io.rolexkv.bench.baseline.rpc.RpcKV;
import io.rolexkv.bench.baseline.rpc.RpcKVServer;
import io.rolexkv.bench.baseline.rpc.RpcKVServerMain;
import io.rolexkv.bench.baseline.rpc.RpcKVServerSettings;
import io.rolexkv.common.fabric.FabricCounters;
import io.rolexkv.common.kv.BaseKV;
import io.rolexkv.common.net.NetSettings;

import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.OptionalDouble;
import java.util.OptionalLong;

/**
 * The traditional design as a system under test: the memory node's CPU executes every operation on a sorted map and
 * answers over the same Netty stack ({@link RpcKV}, {@link RpcKVServer}). By default the server is its own JVM on
 * 127.0.0.1, so its CPU time is measured apart; {@code --fabric loopback} runs it inside this process (still over a
 * local socket: there is no one-sided path to make in-process); {@code --memory-nodes} names a running server. Round
 * trips are its requests; bytes are its frames. It has no model, so no model cache or retrains.
 */
final class RpcSystem implements SystemUnderTest {
    private final String fabric;
    private final RpcKV engine;
    private final RpcKVServer inProcessServer;
    private final ChildProcess process;

    private RpcSystem(String fabric, RpcKV engine, RpcKVServer inProcessServer, ChildProcess process) {
        this.fabric = fabric;
        this.engine = engine;
        this.inProcessServer = inProcessServer;
        this.process = process;
    }

    static RpcSystem open(SystemOptions options) {
        int maxValueBytes = Math.max(options.maxValueBytes(), 8);
        RpcKVServer server = null;
        ChildProcess process = null;
        try {
            String endpoint;
            if (!options.memoryNodes().isEmpty()) {
                if (options.memoryNodes().size() != 1) {
                    throw new IllegalArgumentException("system=rpc talks to one server; memory_nodes=" + options.memoryNodes());
                }
                endpoint = options.memoryNodes().getFirst();
            } else if ("loopback".equals(options.fabric())) {
                server = RpcKVServer.start("127.0.0.1", 0,
                        new RpcKVServerSettings(maxValueBytes, RpcKVServerSettings.MAX_FRAME_BYTES_DEFAULT,
                                RpcKVServerSettings.IO_THREADS_DEFAULT).withSecret(options.secret()));
                endpoint = server.endpoint();
            } else {
                List<String> arguments = new ArrayList<>(List.of("--host", "127.0.0.1", "--port", "0",
                        "--max-value-bytes", String.valueOf(maxValueBytes)));
                arguments.addAll(options.authSecretArguments());
                process = ChildProcess.start("rpc-server", RpcKVServerMain.class.getName(), arguments,
                        ChildProcess.valueOn(RpcKVServerMain.LISTENING_LINE_PREFIX, "endpoint"));
                endpoint = process.readyLine();
            }
            // One connection per client thread (up to 8), so each thread reads its own answers.
            RpcKV engine = RpcKV.connect(endpoint,
                    NetSettings.DEFAULT.withConnections(Math.min(options.clientThreads(), 8))
                            .withSecret(options.secret()));
            return new RpcSystem(options.fabric(), engine, server, process);
        } catch (RuntimeException e) {
            if (server != null) {
                server.close();
            }
            if (process != null) {
                process.close();
            }
            throw e;
        }
    }

    @Override
    public String name() {
        return SystemUnderTestFactory.RPC;
    }

    @Override
    public String fabric() {
        return fabric;
    }

    @Override
    public BaseKV engine() {
        return engine;
    }

    @Override
    public OperationCostProbe costProbe() {
        return () -> engine.counters().callingThreadTotals();
    }

    @Override
    public Optional<FabricCounters.Snapshot> fabricCounters() {
        long requests = 0;
        long sent = 0;
        long received = 0;
        for (var counts : engine.counters().snapshot().byOperation().values()) {
            requests += counts.roundTrips();
            sent += counts.bytesSent();
            received += counts.bytesReceived();
        }
        return Optional.of(new FabricCounters.Snapshot(requests, 0, 0, 0, 0, received, sent));
    }

    @Override
    public OptionalLong modelCacheBytes() {
        return OptionalLong.empty();
    }

    @Override
    public OptionalLong retrains() {
        return OptionalLong.empty();
    }

    @Override
    public OptionalDouble memoryNodeCpuSeconds() {
        return process == null ? OptionalDouble.empty() : OptionalDouble.of(process.cpuSeconds());
    }

    @Override
    public void close() {
        try {
            engine.close();
        } finally {
            if (inProcessServer != null) {
                inProcessServer.close();
            }
            if (process != null) {
                process.close();
            }
        }
    }
}
