package io.rolexkv.common.fabric.rdma;

import com.ibm.disni.RdmaActiveEndpointGroup;
import io.rolexkv.common.fabric.ConnectionLostException;
import io.rolexkv.common.fabric.FabricConnection;
import io.rolexkv.common.fabric.FabricCounters;
import io.rolexkv.common.fabric.FabricLimits;
import io.rolexkv.common.fabric.FabricServer;
import io.rolexkv.common.fabric.FabricTransport;
import io.rolexkv.common.fabric.RegisteredMemory;

import java.io.IOException;
import java.lang.foreign.MemorySegment;
import java.net.InetSocketAddress;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

/**
 * The {@code rdma} transport: one-sided verbs on real RDMA hardware through DiSNI. A connection is one reliable queue
 * pair to a memory node; a doorbell batch is one chain of work requests posted with one {@code ibv_post_send}
 * (see {@link RdmaWorkRequests}, {@link RdmaConnection}); the memory node's CPU takes no part after the connection's
 * region exchange ({@link RdmaFabricServer}).
 *
 * <p>Creating one first runs {@link RdmaAvailability}: without libdisni, an RDMA device, an atomics-capable DiSNI
 * and the JVM flag DiSNI needs it throws {@link RdmaUnavailableException} naming what to install, and touches nothing
 * else. Machines without RDMA use the tcp or loopback transport, which keep the same semantics.
 *
 * <p>All client connections share one DiSNI endpoint group (one completion queue and completion thread per device),
 * created on the first connect; futures complete on virtual threads of this transport.
 */
public final class RdmaTransport implements FabricTransport {
    public static final String NAME = "rdma";

    private final FabricLimits limits;
    private final RdmaSettings settings;
    private final ExecutorService completions;
    private final ScheduledExecutorService timers;
    private final Set<RdmaConnection> connections = ConcurrentHashMap.newKeySet();
    private final Set<RdmaFabricServer> servers = ConcurrentHashMap.newKeySet();
    private RdmaActiveEndpointGroup<DisniEndpoint> clientGroup;
    private volatile boolean closed;

    /** A transport with the default limits and settings. */
    public RdmaTransport() {
        this(FabricLimits.DEFAULT);
    }

    /** A transport with default settings, its send queue sized for the largest batch {@code limits} allow. */
    public RdmaTransport(FabricLimits limits) {
        this(limits, RdmaSettings.forLimits(limits));
    }

    /**
     * @throws RdmaUnavailableException if this JVM cannot do RDMA, naming every reason and its fix
     * @throws IllegalArgumentException if the send queue cannot take the largest batch {@code limits} allow
     */
    public RdmaTransport(FabricLimits limits, RdmaSettings settings) {
        RdmaAvailability.requireAvailable();
        if (settings.sendQueueDepth() < limits.maxVerbsPerBatch()) {
            throw new IllegalArgumentException(RdmaSettings.SEND_QUEUE_DEPTH_PROP_NAME + "=" + settings.sendQueueDepth()
                    + " must be >= " + FabricLimits.MAX_VERBS_PER_BATCH_PROP_NAME + "=" + limits.maxVerbsPerBatch()
                    + " so every batch the memory node accepts fits the send queue");
        }
        this.limits = limits;
        this.settings = settings;
        this.completions = Executors.newThreadPerTaskExecutor(Thread.ofVirtual().name("rdma-completion-", 0).factory());
        this.timers = Executors.newSingleThreadScheduledExecutor(Thread.ofPlatform().name("rdma-timer").daemon().factory());
    }

    @Override
    public String name() {
        return NAME;
    }

    public RdmaSettings settings() {
        return settings;
    }

    /**
     * Connects to the memory node at {@code endpoint} ({@code host:port}, IPv4, the address of the node's RDMA
     * interface), waits for its region list and registers this connection's staging buffer.
     *
     * @throws ConnectionLostException naming the endpoint and the reason (rejected, unreachable, timeout, ...)
     */
    @Override
    public FabricConnection connect(String endpoint, FabricCounters totals) {
        if (closed) {
            throw new ConnectionLostException("rdma transport is closed; cannot connect to endpoint=" + endpoint);
        }
        InetSocketAddress address;
        try {
            address = DisniGroups.parseEndpoint(endpoint);
        } catch (IllegalArgumentException e) {
            throw new ConnectionLostException(e.getMessage(), e);
        }
        DisniEndpoint queuePair = null;
        try {
            queuePair = clientGroup().createEndpoint();
            connectQueuePair(queuePair, address);
            int helloLength = queuePair.controlCompletion().get(settings.connectTimeoutMillis(), TimeUnit.MILLISECONDS);
            RdmaRegionTable regions = RdmaHandshakeDescriptor.decode(MemorySegment.ofBuffer(queuePair.helloBuffer()),
                    helloLength);
            RdmaConnection connection = RdmaConnection.open(endpoint, new DisniQueuePair(queuePair), regions, limits,
                    settings, new FabricCounters(totals), completions, connections::remove);
            connections.add(connection);
            if (closed) {
                connection.close();
                throw new ConnectionLostException("rdma transport closed while connecting to endpoint=" + endpoint);
            }
            return connection;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            closeQuietly(queuePair);
            throw new ConnectionLostException("interrupted while connecting to rdma memory node at endpoint=" + endpoint, e);
        } catch (IOException | ExecutionException | TimeoutException | IllegalArgumentException e) {
            closeQuietly(queuePair);
            String reason = e instanceof TimeoutException ? "no region list within " + settings.connectTimeoutMillis() + " ms"
                    : e instanceof ExecutionException ? String.valueOf(e.getCause()) : String.valueOf(e.getMessage()).strip();
            throw new ConnectionLostException("cannot connect to rdma memory node at endpoint=" + endpoint + ": " + reason, e);
        }
    }

    /**
     * DiSNI's connect waits for each connection manager state and ignores error events; abort it on an error event
     * or after the connect timeout (see {@link DisniEndpoint}).
     */
    private void connectQueuePair(DisniEndpoint queuePair, InetSocketAddress address)
            throws IOException, InterruptedException {
        queuePair.beginSetUp(Thread.currentThread());
        int timeoutMillis = settings.connectTimeoutMillis();
        ScheduledFuture<?> timeout = timers.schedule(
                () -> queuePair.abortSetUp("timeout after " + timeoutMillis + " ms"), timeoutMillis, TimeUnit.MILLISECONDS);
        Exception failure = null;
        try {
            queuePair.connect(address, timeoutMillis);
        } catch (Exception e) {
            failure = e;
        } finally {
            timeout.cancel(false);
        }
        String aborted = queuePair.finishSetUp();
        if (aborted != null) {
            throw new IOException(aborted, failure);
        }
        if (failure instanceof InterruptedException interrupted) {
            throw interrupted;
        }
        if (failure != null) {
            throw new IOException(String.valueOf(failure.getMessage()).strip(), failure);
        }
    }

    private synchronized RdmaActiveEndpointGroup<DisniEndpoint> clientGroup() throws IOException {
        if (clientGroup == null) {
            clientGroup = DisniGroups.newGroup(settings.sendQueueDepth(), settings.completionQueueSize(),
                    settings.polling(), endpoint -> {
                    });
        }
        return clientGroup;
    }

    private static void closeQuietly(DisniEndpoint queuePair) {
        if (queuePair != null) {
            queuePair.closeQuietly();
        }
    }

    /**
     * Registers every region of {@code memory} for remote read, write and atomics and serves them at
     * {@code bindEndpoint} ({@code host:port}; host: the IPv4 address of an RDMA interface, not a wildcard; port 0
     * for any free port).
     */
    @Override
    public FabricServer serve(RegisteredMemory memory, String bindEndpoint) {
        if (closed) {
            throw new IllegalStateException("rdma transport is closed; cannot serve " + bindEndpoint);
        }
        RdmaFabricServer server = RdmaFabricServer.start(memory, bindEndpoint, settings, timers, servers::remove);
        servers.add(server);
        return server;
    }

    /** Open connections (for tests and diagnostics). */
    List<RdmaConnection> openConnections() {
        return List.copyOf(connections);
    }

    @Override
    public void close() {
        closed = true;
        for (RdmaConnection connection : List.copyOf(connections)) {
            connection.close();
        }
        for (RdmaFabricServer server : List.copyOf(servers)) {
            server.close();
        }
        synchronized (this) {
            DisniGroups.closeQuietly(clientGroup);
            clientGroup = null;
        }
        timers.shutdownNow();
        completions.shutdown();
    }
}
