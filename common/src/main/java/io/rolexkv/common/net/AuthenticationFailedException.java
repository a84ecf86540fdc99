package io.rolexkv.common.net;

import io.rolexkv.common.fabric.FabricException;

/**
 * A connection was refused because one end could not prove the cluster secret ({@link AuthHandshake}): a wrong
 * secret, none where one is required, or a server that cannot prove one. Thrown while connecting, before any request
 * was sent, so nothing ran on the server. Retrying with the same configuration fails the same way.
 */
public final class AuthenticationFailedException extends FabricException {
    private static final long serialVersionUID = 1L;

    public AuthenticationFailedException(String message) {
        super(message);
    }
}
