package io.rolexkv.common.fabric;

/**
 * The fabric failed a doorbell batch: the transport could not complete it (connection lost, interrupted while
 * waiting, a completion that never came) or the memory node refused it. This is a transport failure and nothing else:
 * an index that gives up (a lock time-out) or finds corruption says so with its own type.
 *
 * <h2>What the caller may assume</h2>
 * Unless a subclass says more, <b>the outcome is unknown</b>: any prefix of the batch's verbs may have run on the
 * memory node, so a write that fails with this may or may not be visible, and anything it was about to link (a value
 * block) must be neither reused nor freed. {@link VerbRejectedException} says more: nothing of that batch ran.
 * {@link ConnectionLostException}: the connection is unusable from now on.
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
