package io.rolexkv.rolex.index;

/**
 * An insert found no room: the key's leaf is full and its model's synonym leaf table has no free slot, or the leaf
 * region has no free leaf. Nothing was stored; the index is unchanged and keeps serving. Retraining the model (which
 * gives it fresh synonym tables) makes room again.
 *
 * <p>A kind of {@link IndexGaveUpException}, with the same promise (nothing linked, the blocks a write carried are
 * free to reuse): a caller that only needs to know whether the write changed anything catches that one; a caller that
 * reports "full" to its user or waits for a retraining catches this one first.
 */
public final class IndexFullException extends IndexGaveUpException {
    private static final long serialVersionUID = 1L;

    private final boolean retrainingMakesRoom;

    /**
     * @param retrainingMakesRoom true if the model's synonym table is full (retraining gives it a fresh one), false if
     *                            the leaf region itself is out of leaves
     */
    public IndexFullException(boolean retrainingMakesRoom, String message) {
        super(message);
        this.retrainingMakesRoom = retrainingMakesRoom;
    }

    public boolean retrainingMakesRoom() {
        return retrainingMakesRoom;
    }
}
