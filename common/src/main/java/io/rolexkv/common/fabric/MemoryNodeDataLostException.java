package io.rolexkv.common.fabric;

/**
 * A memory node came back without its data: the node that answers at its endpoint has its id and its regions, but
 * another incarnation ({@link FabricConnection#incarnation()}), so its memory was created afresh (restarted without
 * {@code --data-dir}, or with region files that were lost) and everything acknowledged on it before is gone. The
 * connection that finds this is marked down for good rather than carry on: its caller's cached models and value
 * addresses point into memory that now holds zeros, and reading them would answer "absent" for keys that were
 * written.
 *
 * <h2>What the caller may assume</h2>
 * As for {@link MemoryNodeDownException}: nothing of the batch that fails with this was sent, and the node stays down
 * for this connection. In addition, what the node held is lost: reopening the engine finds an empty node, so the data
 * must be loaded again.
 */
public final class MemoryNodeDataLostException extends MemoryNodeDownException {
    private static final long serialVersionUID = 1L;

    private final long incarnation;
    private final long previousIncarnation;

    /**
     * @param incarnation         the incarnation the node answers with now
     * @param previousIncarnation the one it had when the connection was first opened
     */
    public MemoryNodeDataLostException(int memoryNodeId, String endpoint, long incarnation, long previousIncarnation) {
        super(memoryNodeId, endpoint, "it restarted without its data: incarnation "
                + RegisteredMemory.incarnationText(incarnation) + ", was " + RegisteredMemory.incarnationText(previousIncarnation)
                + "; what it held is gone, so nothing more is read from it (reopen the engine and load the data again)",
                null);
        this.incarnation = incarnation;
        this.previousIncarnation = previousIncarnation;
    }

    /** The incarnation the node answers with now. */
    public long incarnation() {
        return incarnation;
    }

    /** The incarnation the node had when the connection was first opened. */
    public long previousIncarnation() {
        return previousIncarnation;
    }

    @Override
    MemoryNodeDataLostException copy() {
        return new MemoryNodeDataLostException(memoryNodeId(), endpoint(), incarnation, previousIncarnation);
    }
}
