package io.rolexkv.common.fabric;

/**
 * A way to reach memory nodes: {@code loopback} (in-process), {@code tcp} (Netty, emulating one-sided verbs) or
 * {@code rdma} (DiSNI). Opens {@link FabricConnection}s; owns whatever the connections share (event loops, device
 * contexts), released on {@link #close()}.
 */
public interface FabricTransport extends AutoCloseable {

    /** The transport's name as written in config: {@code loopback}, {@code tcp}, {@code rdma}. */
    String name();

    /**
     * Opens a connection to the memory node at {@code endpoint} ({@code host:port} for tcp and rdma; the name a
     * memory node was served under for loopback), recording costs on new counters whose parent is
     * {@code totals} (may be {@code null}).
     *
     * @throws ConnectionLostException if the node cannot be reached, naming the endpoint
     */
    FabricConnection connect(String endpoint, FabricCounters totals);

    /**
     * Serves {@code memory} at {@code bindEndpoint} ({@code host:port}, port 0 for any free port, for tcp and rdma;
     * any unused name for loopback) and returns the running server.
     */
    FabricServer serve(RegisteredMemory memory, String bindEndpoint);

    /** Closes every connection this transport opened and releases shared resources. */
    @Override
    void close();
}
