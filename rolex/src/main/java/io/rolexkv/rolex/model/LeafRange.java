package io.rolexkv.rolex.model;

/**
 * The leaves of one model an index must read for a key: {@code firstLeaf..lastLeaf} inclusive, numbered from 0
 * inside the model (a model's training keys fill its own leaves in rank order; see
 * {@link LearnedModels#leafRange(long, int)}). Index into that model's leaf table.
 */
public record LeafRange(int modelIndex, long firstLeaf, long lastLeaf) {

    /** Number of leaves in the range, at least 1. */
    public long leafCount() {
        return lastLeaf - firstLeaf + 1;
    }
}
