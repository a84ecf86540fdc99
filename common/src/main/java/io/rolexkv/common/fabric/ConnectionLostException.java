package io.rolexkv.common.fabric;

/**
 * The connection to a memory node is closed or broke: the node died, the network dropped, or the client closed it.
 * Every pending and later batch on that connection fails with this; whether a pending batch's verbs were applied
 * before the break is unknown.
 */
public final class ConnectionLostException extends FabricException {
    private static final long serialVersionUID = 1L;

    public ConnectionLostException(String message) {
        super(message);
    }

    public ConnectionLostException(String message, Throwable cause) {
        super(message, cause);
    }
}
