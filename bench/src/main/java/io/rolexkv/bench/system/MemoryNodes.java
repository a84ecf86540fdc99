package io.rolexkv.bench.system;

import io.rolexkv.common.fabric.FabricLimits;
import io.rolexkv.common.fabric.FabricTransport;
import io.rolexkv.common.fabric.FabricTransports;
import io.rolexkv.computenode.EmbeddedCluster;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.OptionalDouble;

/**
 * The memory nodes a one-sided system runs against, and the transport that reaches them: an in-process node for
 * {@code --fabric loopback}; by default a memory node of its own (a separate JVM, as on a real cluster, so its CPU time
 * is measured apart) served over tcp on 127.0.0.1; or memory nodes already running ({@code --memory-nodes}), which it
 * leaves running. Whatever it started, {@link #close()} stops.
 */
final class MemoryNodes implements AutoCloseable {
    private final List<String> endpoints;
    private final FabricTransport transport;
    private final EmbeddedCluster cluster;
    private final List<ChildProcess> processes;

    private MemoryNodes(List<String> endpoints, FabricTransport transport, EmbeddedCluster cluster, List<ChildProcess> processes) {
        this.endpoints = endpoints;
        this.transport = transport;
        this.cluster = cluster;
        this.processes = processes;
    }

    /**
     * Starts (or finds) the memory nodes {@code options} ask for, each with {@code regions} (name to bytes). An embedded
     * node retrains in the background if {@code retrain} (a child memory node decides for itself: it retrains when it
     * has ROLEX's regions).
     */
    static MemoryNodes start(SystemOptions options, Map<String, Long> regions, boolean retrain) {
        List<ChildProcess> processes = new ArrayList<>();
        EmbeddedCluster cluster = null;
        FabricTransport transport = null;
        try {
            if (!options.memoryNodes().isEmpty()) {
                transport = FabricTransports.create(options.fabric(), FabricLimits.DEFAULT, options.secret());
                return new MemoryNodes(options.memoryNodes(), transport, null, processes);
            }
            if ("loopback".equals(options.fabric())) {
                cluster = EmbeddedCluster.start("loopback", 1, regions, retrain);
                return new MemoryNodes(cluster.endpoints(), cluster.transport(), cluster, processes);
            }
            processes.add(startMemoryNode(0, regions, options.authSecretArguments()));
            transport = FabricTransports.create(options.fabric(), FabricLimits.DEFAULT, options.secret());
            return new MemoryNodes(List.of(processes.getFirst().readyLine()), transport, null, processes);
        } catch (RuntimeException e) {
            processes.forEach(ChildProcess::close);
            if (cluster != null) {
                cluster.close();
            } else if (transport != null) {
                transport.close();
            }
            throw e;
        }
    }

    /** A memory node process serving {@code regions} over tcp on a free port of 127.0.0.1. */
    private static ChildProcess startMemoryNode(int nodeId, Map<String, Long> regions, List<String> authArguments) {
        List<String> arguments = new ArrayList<>(List.of("memory-node", "--host", "127.0.0.1", "--port", "0",
                "--node-id", String.valueOf(nodeId)));
        arguments.addAll(authArguments);
        regions.forEach((name, bytes) -> {
            arguments.add("--region");
            arguments.add(name + "=" + bytes);
        });
        return ChildProcess.start("memory-node-" + nodeId, "io.rolexkv.bench.cli.RolexKvCli", arguments,
                ChildProcess.valueOn("memory node ready", "endpoint"));
    }

    List<String> endpoints() {
        return endpoints;
    }

    /** The transport that reaches the nodes (the embedded cluster's for loopback). */
    FabricTransport transport() {
        return transport;
    }

    /** CPU seconds the memory-node processes have used so far; empty when they are not processes of ours. */
    OptionalDouble cpuSeconds() {
        if (processes.isEmpty()) {
            return OptionalDouble.empty();
        }
        return OptionalDouble.of(processes.stream().mapToDouble(ChildProcess::cpuSeconds).sum());
    }

    @Override
    public void close() {
        try {
            processes.forEach(ChildProcess::close);
        } finally {
            if (cluster != null) {
                cluster.close();
            } else {
                transport.close();
            }
        }
    }
}
