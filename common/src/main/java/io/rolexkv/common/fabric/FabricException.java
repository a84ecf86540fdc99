package io.rolexkv.common.fabric;

/**
 * A doorbell batch could not be completed. Subclasses say why: the memory node rejected a verb
 * ({@link VerbRejectedException}) or the connection to it is gone ({@link ConnectionLostException}).
 */
public class FabricException extends RuntimeException {
    private static final long serialVersionUID = 1L;

    public FabricException(String message) {
        super(message);
    }

    public FabricException(String message, Throwable cause) {
        super(message, cause);
    }
}
