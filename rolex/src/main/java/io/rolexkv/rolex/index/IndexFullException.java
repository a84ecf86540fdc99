package io.rolexkv.rolex.index;

/**
 * An insert found no room: the key's leaf is full and its model's synonym leaf table has no free slot, or the leaf
 * region has no free leaf. Nothing was stored; the index is unchanged and keeps serving. Retraining the model (which
 * gives it fresh synonym tables) makes room again.
 */
public final class IndexFullException extends RuntimeException {
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
