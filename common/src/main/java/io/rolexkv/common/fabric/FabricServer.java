package io.rolexkv.common.fabric;

/**
 * A memory node's registered memory, served to clients by one transport. The server's data path is the
 * {@link VerbExecutor} and nothing else. Closing it stops serving and breaks open connections; it does not free the
 * memory (the memory node owns that).
 */
public interface FabricServer extends AutoCloseable {

    /** What clients pass to {@link FabricTransport#connect}: {@code host:port} with the bound port, or a loopback name. */
    String endpoint();

    @Override
    void close();
}
