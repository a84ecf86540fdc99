package io.rolexkv.common.fabric.rdma;

import com.ibm.disni.RdmaActiveEndpointGroup;

import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.UnknownHostException;
import java.util.function.Consumer;

/**
 * Creates the DiSNI endpoint groups of the transport and the server, and parses endpoints, so both set up queue pairs
 * the same way. A group owns one completion queue and one completion thread per device, and the connection manager
 * thread.
 */
final class DisniGroups {
    /** How long DiSNI's connection manager and completion threads block before re-checking for shutdown. */
    static final int GROUP_POLL_TIMEOUT_MILLIS = 200;
    /** Transport retries before a work request fails with IBV_WC_RETRY_EXC_ERR (7 is the most the wire allows). */
    static final byte RETRY_COUNT = 7;
    /** Receiver-not-ready retries: 7 means retry forever, so the hello SEND never races the client's receive. */
    static final byte RNR_RETRY_COUNT = 7;
    /** Scatter/gather elements per work request: every work request of ours has exactly one. */
    static final int MAX_SCATTER_GATHER_ELEMENTS = 1;

    private DisniGroups() {
    }

    /**
     * A started group whose queue pairs have {@code maxWorkRequests} send (and receive) entries and share a completion
     * queue of {@code completionQueueSize}; {@code onCreated} sees each endpoint the group creates (the server's are
     * created on the connection manager thread when a connect request arrives).
     */
    static RdmaActiveEndpointGroup<DisniEndpoint> newGroup(int maxWorkRequests, int completionQueueSize, boolean polling,
                                                           Consumer<DisniEndpoint> onCreated) throws IOException {
        RdmaActiveEndpointGroup<DisniEndpoint> group = new RdmaActiveEndpointGroup<>(GROUP_POLL_TIMEOUT_MILLIS, polling,
                maxWorkRequests, MAX_SCATTER_GATHER_ELEMENTS, completionQueueSize);
        // DiSNI's default of 0 transport retries fails a queue pair on the first lost packet.
        group.getConnParam().setRetry_count(RETRY_COUNT);
        group.getConnParam().setRnr_retry_count(RNR_RETRY_COUNT);
        group.init((id, serverSide) -> {
            DisniEndpoint endpoint = new DisniEndpoint(group, id, serverSide);
            onCreated.accept(endpoint);
            return endpoint;
        });
        return group;
    }

    /** Closes {@code group} and its endpoints, ignoring failures. */
    static void closeQuietly(RdmaActiveEndpointGroup<DisniEndpoint> group) {
        if (group == null) {
            return;
        }
        try {
            group.close();
        } catch (IOException | RuntimeException e) {
            // Half-closed resources go with the process.
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    /**
     * {@code host:port} (IPv4 address or host name; DiSNI speaks IPv4 only) as a resolved socket address.
     *
     * @throws IllegalArgumentException naming the endpoint when it is malformed or the host unknown
     */
    static InetSocketAddress parseEndpoint(String endpoint) {
        int colon = endpoint.lastIndexOf(':');
        if (colon <= 0 || colon == endpoint.length() - 1) {
            throw new IllegalArgumentException("rdma endpoint=" + endpoint + " must be host:port");
        }
        String host = endpoint.substring(0, colon);
        int port;
        try {
            port = Integer.parseInt(endpoint.substring(colon + 1));
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException("rdma endpoint=" + endpoint + " has a bad port", e);
        }
        if (port < 0 || port > 65535) {
            throw new IllegalArgumentException("rdma endpoint=" + endpoint + " port=" + port + " allowed=[0,65535]");
        }
        try {
            return new InetSocketAddress(InetAddress.getByName(host), port);
        } catch (UnknownHostException e) {
            throw new IllegalArgumentException("rdma endpoint=" + endpoint + " has an unknown host", e);
        }
    }
}
