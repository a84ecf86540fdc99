package io.rolexkv.rolex.index;

import io.rolexkv.common.fabric.BatchResult;
import io.rolexkv.common.fabric.DoorbellBatch;

/**
 * Verbs a caller of a {@link WordIndex} write adds to the write's first doorbell, and what it does with their answers:
 * the engine WRITEs a new value block there (so the block exists before any leaf names it, at no extra round trip) and
 * sometimes a FAA that claims the next chunk of its values region, whose answer it needs.
 *
 * <p>The index calls {@link #appendTo} for the first doorbell it posts, and {@link #completed} once that doorbell has
 * completed, before it posts anything else. A write that starts over (the models changed under it) may call
 * {@link #appendTo} again for its new first doorbell, after {@link #completed} of the earlier one; an implementation
 * must not repeat a verb whose effect adds up (a FAA it already has the answer of). If the doorbell fails,
 * {@link #completed} is not called and the write throws.
 */
@FunctionalInterface
public interface DoorbellExtras {
    /** Appends the verbs to {@code firstDoorbell}, ahead of the index's own. */
    void appendTo(DoorbellBatch firstDoorbell);

    /** The doorbell the verbs went into completed; {@code result} holds their answers. */
    default void completed(BatchResult result) {
    }
}
