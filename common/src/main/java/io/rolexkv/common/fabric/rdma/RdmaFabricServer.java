package io.rolexkv.common.fabric.rdma;

import com.ibm.disni.RdmaActiveEndpointGroup;
import com.ibm.disni.RdmaServerEndpoint;
import com.ibm.disni.verbs.IbvMr;
import com.ibm.disni.verbs.IbvPd;
import io.rolexkv.common.fabric.FabricServer;
import io.rolexkv.common.fabric.RegionInfo;
import io.rolexkv.common.fabric.RegisteredMemory;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.net.InetSocketAddress;
import java.net.SocketAddress;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;

/**
 * The memory-node side of the rdma transport: registers every region of a {@link RegisteredMemory} with the NIC for
 * remote READ, WRITE and atomics, accepts connections, and SENDs each new client the hello of
 * {@link RdmaHandshakeDescriptor} (memory node id, incarnation; per region id, name, length, base address, rkeys). After that the
 * node's CPU takes no part: clients' verbs go straight from their NIC to registered memory.
 *
 * <p>Regions are registered in chunks of {@code 1 << registrationChunkShift} bytes (see {@link RdmaRemoteRegion});
 * the region list is taken when serving starts, so register every region before. Close this server before closing
 * the memory: closing deregisters the regions, after which no NIC can touch them.
 *
 * <p>One platform thread accepts connections. DiSNI's accept waits for the connection to be established and ignores
 * error events, so a client that vanishes mid-handshake is cut off after the connect timeout rather than blocking
 * every later client.
 */
public final class RdmaFabricServer implements FabricServer {
    /** What remote clients may do to registered regions. */
    static final int REGION_ACCESS = IbvMr.IBV_ACCESS_LOCAL_WRITE | IbvMr.IBV_ACCESS_REMOTE_WRITE
            | IbvMr.IBV_ACCESS_REMOTE_READ | IbvMr.IBV_ACCESS_REMOTE_ATOMIC;
    /** The server's queue pairs only ever carry the hello SEND. */
    private static final int SERVER_QUEUE_DEPTH = 16;
    private static final int SERVER_COMPLETION_QUEUE_SIZE = 1024;
    private static final int LISTEN_BACKLOG = 128;

    private final String endpoint;
    private final RdmaActiveEndpointGroup<DisniEndpoint> group;
    private final RdmaServerEndpoint<DisniEndpoint> listener;
    private final List<IbvMr> regionRegistrations;
    private final Arena helloArena;
    private final IbvMr helloRegistration;
    private final int helloLength;
    private final RdmaRegionTable regions;
    private final Set<DisniEndpoint> pending;
    private final Set<DisniEndpoint> clients = ConcurrentHashMap.newKeySet();
    private final ExecutorService closer = Executors.newThreadPerTaskExecutor(
            Thread.ofVirtual().name("rdma-server-close-", 0).factory());
    private final Consumer<RdmaFabricServer> onClose;
    private final Thread acceptor;
    private volatile boolean closing;

    private RdmaFabricServer(String endpoint, RdmaActiveEndpointGroup<DisniEndpoint> group,
                             RdmaServerEndpoint<DisniEndpoint> listener, List<IbvMr> regionRegistrations, Arena helloArena,
                             IbvMr helloRegistration, int helloLength, RdmaRegionTable regions,
                             Set<DisniEndpoint> pending, Consumer<RdmaFabricServer> onClose) {
        this.endpoint = endpoint;
        this.group = group;
        this.listener = listener;
        this.regionRegistrations = regionRegistrations;
        this.helloArena = helloArena;
        this.helloRegistration = helloRegistration;
        this.helloLength = helloLength;
        this.regions = regions;
        this.pending = pending;
        this.onClose = onClose;
        this.acceptor = Thread.ofPlatform().name("rdma-accept-" + endpoint).daemon().unstarted(this::acceptLoop);
    }

    /**
     * Registers {@code memory}'s regions and starts accepting at {@code bindEndpoint}.
     *
     * @param timers runs the set-up timeouts of accepted connections
     * @throws RdmaUnavailableException if this JVM cannot do RDMA
     * @throws IllegalArgumentException if the endpoint is malformed or a wildcard address
     * @throws IllegalStateException if binding or registering fails, naming the endpoint and the cause
     */
    public static RdmaFabricServer start(RegisteredMemory memory, String bindEndpoint, RdmaSettings settings,
                                         ScheduledExecutorService timers, Consumer<RdmaFabricServer> onClose) {
        RdmaAvailability.requireAvailable();
        InetSocketAddress address = DisniGroups.parseEndpoint(bindEndpoint);
        if (address.getAddress().isAnyLocalAddress()) {
            throw new IllegalArgumentException("rdma bind endpoint=" + bindEndpoint + " is a wildcard address; bind to "
                    + "the IPv4 address of an RDMA interface (`rdma link` names its netdev, `ip -4 addr show dev NETDEV` "
                    + "its address): the connection manager needs a bound device to register memory on");
        }
        Set<DisniEndpoint> pending = ConcurrentHashMap.newKeySet();
        int timeoutMillis = settings.connectTimeoutMillis();
        RdmaActiveEndpointGroup<DisniEndpoint> group = null;
        List<IbvMr> registrations = new ArrayList<>();
        Arena helloArena = Arena.ofShared();
        try {
            group = DisniGroups.newGroup(SERVER_QUEUE_DEPTH, SERVER_COMPLETION_QUEUE_SIZE, false, created -> {
                // Created on the connection manager thread when a connect request arrives.
                pending.add(created);
                timers.schedule(() -> created.abortSetUp("no connection within " + timeoutMillis + " ms"),
                        timeoutMillis, TimeUnit.MILLISECONDS);
            });
            RdmaServerEndpoint<DisniEndpoint> listener = group.createServerEndpoint();
            listener.bind(address, LISTEN_BACKLOG);
            IbvPd protectionDomain = listener.getPd();
            List<RdmaRemoteRegion> remote = new ArrayList<>();
            memory.markWrittenBeyondCpu(); // the NIC writes registered memory; this CPU never sees those writes
            for (RegionInfo info : memory.regions()) {
                remote.add(registerRegion(protectionDomain, info, memory.segment(info.id()),
                        settings.registrationChunkShift(), registrations));
            }
            RdmaRegionTable table = new RdmaRegionTable(memory.memoryNodeId(), memory.incarnation(), remote);
            byte[] hello = RdmaHandshakeDescriptor.encode(table);
            MemorySegment helloSegment = helloArena.allocate(hello.length, 8);
            MemorySegment.copy(MemorySegment.ofArray(hello), 0, helloSegment, 0, hello.length);
            IbvMr helloRegistration = DisniEndpoint.register(protectionDomain, helloSegment.asByteBuffer(),
                    IbvMr.IBV_ACCESS_LOCAL_WRITE);
            registrations.add(helloRegistration);
            String boundEndpoint = describe(listener.getSrcAddr(), address);
            RdmaFabricServer server = new RdmaFabricServer(boundEndpoint, group, listener, registrations, helloArena,
                    helloRegistration, hello.length, table, pending, onClose);
            server.acceptor.start();
            return server;
        } catch (Exception e) {
            DisniGroups.closeQuietly(group);
            for (IbvMr registration : registrations) {
                DisniEndpoint.deregisterQuietly(registration);
            }
            helloArena.close();
            if (e instanceof InterruptedException) {
                Thread.currentThread().interrupt();
            }
            if (e instanceof IllegalArgumentException illegal) {
                throw illegal;
            }
            throw new IllegalStateException("cannot serve rdma at endpoint=" + bindEndpoint + ": "
                    + String.valueOf(e.getMessage()).strip(), e);
        }
    }

    /**
     * Registers one region chunk by chunk. DiSNI registers direct ByteBuffers; a region is an off-heap MemorySegment,
     * whose {@link MemorySegment#asByteBuffer()} is a direct buffer over the same bytes (no copy), limited to 2 GiB,
     * hence the chunks. The segment stays owned by the {@link RegisteredMemory}.
     */
    static RdmaRemoteRegion registerRegion(IbvPd protectionDomain, RegionInfo info, MemorySegment segment,
                                           int chunkShift, List<IbvMr> registrations) throws IOException {
        if (!segment.isNative()) {
            throw new IllegalArgumentException("region " + info.name() + " is not off-heap memory");
        }
        int chunks = RdmaRemoteRegion.chunkCount(info.length(), chunkShift);
        int[] rkeys = new int[chunks];
        for (int chunk = 0; chunk < chunks; chunk++) {
            long start = (long) chunk << chunkShift;
            long length = Math.min(1L << chunkShift, info.length() - start);
            IbvMr registration = DisniEndpoint.register(protectionDomain, segment.asSlice(start, length).asByteBuffer(),
                    REGION_ACCESS);
            registrations.add(registration);
            rkeys[chunk] = registration.getRkey();
        }
        return new RdmaRemoteRegion(info, segment.address(), chunkShift, rkeys);
    }

    private static String describe(SocketAddress bound, InetSocketAddress requested) {
        if (bound instanceof InetSocketAddress inet && inet.getPort() != 0) {
            return requested.getAddress().getHostAddress() + ":" + inet.getPort();
        }
        return requested.getAddress().getHostAddress() + ":" + requested.getPort();
    }

    private void acceptLoop() {
        while (!closing) {
            DisniEndpoint client;
            try {
                client = listener.accept();
            } catch (IOException e) {
                if (closing) {
                    return;
                }
                dropFailedSetUp();
                continue;
            }
            String aborted = client.finishSetUp();
            pending.remove(client);
            if (aborted != null || closing) {
                closeLater(client);
                continue;
            }
            welcome(client);
        }
    }

    /** The connection the failed accept was setting up is the one whose set-up started; drop it. */
    private void dropFailedSetUp() {
        for (DisniEndpoint candidate : pending) {
            if (candidate.setUpStarted()) {
                candidate.finishSetUp();
                pending.remove(candidate);
                closeLater(candidate);
            }
        }
        Thread.interrupted();
    }

    private void welcome(DisniEndpoint client) {
        clients.add(client);
        client.start(new RdmaQueuePair.Events() {
            @Override
            public void onCompletion(long workRequestId, int status, int vendorError) {
                // Clients never make this side post anything but the hello.
            }

            @Override
            public void onDisconnected(String reason) {
                if (clients.remove(client)) {
                    closeLater(client);
                }
            }
        });
        client.controlCompletion().whenComplete((length, failure) -> {
            if (failure != null && clients.remove(client)) {
                closeLater(client);
            }
        });
        try {
            client.sendHello(helloRegistration, helloLength);
        } catch (IOException | RuntimeException e) {
            if (clients.remove(client)) {
                closeLater(client);
            }
        }
    }

    private void closeLater(DisniEndpoint client) {
        // Never on DiSNI's event thread: closing waits for the disconnect event that thread delivers.
        try {
            closer.execute(client::closeQuietly);
        } catch (java.util.concurrent.RejectedExecutionException e) {
            client.closeQuietly();
        }
    }

    @Override
    public String endpoint() {
        return endpoint;
    }

    /** The regions as clients see them (addresses and rkeys), for tests and diagnostics. */
    public RdmaRegionTable regions() {
        return regions;
    }

    /** Stops accepting, disconnects every client and deregisters the regions. Idempotent. */
    @Override
    public void close() {
        if (closing) {
            return;
        }
        closing = true;
        acceptor.interrupt();
        try {
            acceptor.join(TimeUnit.SECONDS.toMillis(5));
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        for (DisniEndpoint client : List.copyOf(clients)) {
            client.closeQuietly();
        }
        clients.clear();
        for (DisniEndpoint waiting : List.copyOf(pending)) {
            waiting.closeQuietly();
        }
        pending.clear();
        try {
            listener.close();
        } catch (IOException | RuntimeException e) {
            // The group's close below releases what is left.
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        DisniGroups.closeQuietly(group);
        // Queue pairs are gone: no NIC can reach the regions through them any more.
        for (IbvMr registration : regionRegistrations) {
            DisniEndpoint.deregisterQuietly(registration);
        }
        helloArena.close();
        closer.shutdown();
        onClose.accept(this);
    }

    @Override
    public String toString() {
        return "RdmaFabricServer[endpoint=" + endpoint + " memoryNode=" + regions.memoryNodeId() + " regions="
                + regions.regionCount() + "]";
    }
}
