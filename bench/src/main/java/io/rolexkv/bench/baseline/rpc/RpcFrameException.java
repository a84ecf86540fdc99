package io.rolexkv.bench.baseline.rpc;

/**
 * A frame that breaks {@link RpcFrameDescriptor}'s layout: a broken or hostile peer. Whoever catches it closes that
 * one connection with the message as the logged reason. Checked, so no decoder can forget it.
 */
public final class RpcFrameException extends Exception {
    private static final long serialVersionUID = 1L;

    public RpcFrameException(String message) {
        super(message);
    }
}
