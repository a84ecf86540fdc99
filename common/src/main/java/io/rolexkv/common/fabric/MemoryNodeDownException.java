package io.rolexkv.common.fabric;

import java.util.Optional;

/**
 * A memory node is marked down: the connection to it broke and no reconnect succeeded within the reconnect deadline,
 * or the node that answers at its endpoint is not the one the connection was opened to. The message names the node's
 * id and endpoint and why.
 *
 * <h2>What the caller may assume</h2>
 * Nothing of the batch that fails with this was sent: a connection that is down refuses batches before posting them.
 * (A batch that was in flight when the connection broke failed with {@link ConnectionLostException}, outcome unknown,
 * before the node was marked down.) The node stays down for the connection that marked it: every later batch fails
 * the same way at once. Reopen the engine once the node is back.
 *
 * <p>A node that came back without its data is marked down with the subclass {@link MemoryNodeDataLostException}.
 */
public class MemoryNodeDownException extends FabricException {
    private static final long serialVersionUID = 1L;

    private final int memoryNodeId;
    private final String endpoint;
    private final String reason;

    public MemoryNodeDownException(int memoryNodeId, String endpoint, String reason, Throwable cause) {
        super("memory node " + memoryNodeId + " at endpoint=" + endpoint + " is down: " + reason, cause);
        this.memoryNodeId = memoryNodeId;
        this.endpoint = endpoint;
        this.reason = reason;
    }

    public int memoryNodeId() {
        return memoryNodeId;
    }

    public String endpoint() {
        return endpoint;
    }

    /** Why the node was marked down, without the node's name. */
    public String reason() {
        return reason;
    }

    /**
     * The same news with a fresh stack trace, of this exception's own class: what a caller that rethrows it (waiting
     * for a doorbell, waiting for a reconnect) throws, so the trace shows that caller and the type says what happened.
     */
    MemoryNodeDownException copy() {
        return new MemoryNodeDownException(memoryNodeId, endpoint, reason, getCause());
    }

    /** The first {@code MemoryNodeDownException} in {@code failure}'s chain of causes, if any. */
    public static Optional<MemoryNodeDownException> in(Throwable failure) {
        for (Throwable cause = failure; cause != null; cause = cause.getCause() == cause ? null : cause.getCause()) {
            if (cause instanceof MemoryNodeDownException down) {
                return Optional.of(down);
            }
            for (Throwable suppressed : cause.getSuppressed()) {
                if (suppressed instanceof MemoryNodeDownException down) {
                    return Optional.of(down);
                }
            }
        }
        return Optional.empty();
    }
}
