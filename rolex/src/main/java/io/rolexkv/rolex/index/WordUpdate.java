package io.rolexkv.rolex.index;

import io.rolexkv.common.fabric.BatchResult;
import io.rolexkv.common.fabric.DoorbellBatch;

import java.util.OptionalLong;

/**
 * A change of one key's word, applied by a {@link WordIndex} under the lock that guards the key (so no other write of
 * the key can interleave). It may post doorbells of its own on the index's connection (to read a value block, say) and
 * append verbs to {@code finalDoorbell}, which the index runs before the write that links the new word and the unlock,
 * in the same doorbell. It may be called again if the write has to be retried, so it must not have effects beyond
 * those verbs. When that doorbell has completed (the new word is linked), the index calls
 * {@link #finalDoorbellCompleted} with its result, so the update can read the answers of its own verbs.
 */
@FunctionalInterface
public interface WordUpdate {
    /**
     * @param current       the key's word, or empty if the key is absent
     * @param finalDoorbell verbs to run before the index's own write, in the same doorbell
     * @return the new word, or empty to delete the key
     */
    OptionalLong apply(OptionalLong current, DoorbellBatch finalDoorbell);

    /**
     * The doorbell that carried the verbs of the last {@link #apply} completed. Not called if it failed or was never
     * posted (the write then throws, or applies the update again).
     */
    default void finalDoorbellCompleted(BatchResult result) {
    }
}
