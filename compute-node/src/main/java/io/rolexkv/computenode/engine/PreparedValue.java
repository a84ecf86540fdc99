package io.rolexkv.computenode.engine;

import io.rolexkv.common.fabric.DoorbellBatch;
import io.rolexkv.common.fabric.FabricException;
import io.rolexkv.computenode.value.ValueAllocator;

/**
 * A value made ready to be linked into a leaf: the word to store, and for an out-of-place value the block to WRITE
 * first (with, sometimes, a chunk claim riding along). Whoever links the word reports how it went, exactly once:
 * {@link #linked()}, {@link #unlinked()} or {@link #outcomeUnknown()}, which decides what becomes of the block.
 */
final class PreparedValue {
    private final long word;
    private final byte[] block;
    private final ValueAllocator.Allocation allocation;
    private final ValueAllocator allocator;
    private final EngineConnection connection;
    private DoorbellBatch carrier;
    private boolean claimAppended;

    private PreparedValue(long word, byte[] block, ValueAllocator.Allocation allocation, ValueAllocator allocator,
                          EngineConnection connection) {
        this.word = word;
        this.block = block;
        this.allocation = allocation;
        this.allocator = allocator;
        this.connection = connection;
    }

    /** A value that lives in its word: nothing to write, nothing to undo. */
    static PreparedValue inline(long word) {
        return new PreparedValue(word, null, null, null, null);
    }

    /** A value in the block {@code allocation} names, whose bytes are {@code block}. */
    static PreparedValue inBlock(ValueAllocator.Allocation allocation, byte[] block, ValueAllocator allocator,
                                 EngineConnection connection) {
        return new PreparedValue(allocation.handle(), block, allocation, allocator, connection);
    }

    /** The word to link into the leaf. */
    long word() {
        return word;
    }

    boolean hasBlock() {
        return block != null;
    }

    /** Bytes {@link #appendTo} adds to a doorbell. */
    int writeBytes() {
        return block == null ? 0 : block.length;
    }

    /**
     * Appends the block's WRITE, and the chunk claim's FAA if this allocation carries one, to {@code batch}, which must
     * be posted on this value's connection before the word is linked (a put's first doorbell, an update's final one).
     * Appending again (the index retries its first doorbell after a model refresh) repeats the WRITE, which is
     * harmless, but never the claim.
     */
    void appendTo(DoorbellBatch batch) {
        if (block == null) {
            return;
        }
        batch.write(allocation.address(), block);
        if (allocation.claim() != null && !claimAppended) {
            claimAppended = true;
            int verb = allocation.appendClaim(batch);
            ValueAllocator.ChunkClaim claim = allocation.claim();
            carrier = batch;
            connection.onCompletion(batch, result -> claim.complete(result.oldValue(verb)));
        }
    }

    /** The word is in a leaf: the block is live. */
    void linked() {
        finishClaim();
    }

    /** The word never reached a leaf: its block is reused at once, since no reader can hold its handle. */
    void unlinked() {
        finishClaim();
        if (block != null) {
            allocator.release(word);
        }
    }

    /** Whether the word reached a leaf is unknown (the linking doorbell failed in flight): the block is leaked. */
    void outcomeUnknown() {
        finishClaim();
    }

    /** Reports a failed link: a fabric failure leaves the outcome unknown, anything else means nothing was linked. */
    void failed(RuntimeException failure) {
        if (failure instanceof FabricException) {
            outcomeUnknown();
        } else {
            unlinked();
        }
    }

    private void finishClaim() {
        if (allocation != null && allocation.claim() != null) {
            if (carrier != null) {
                connection.forget(carrier);
            }
            allocation.claim().abandon(); // a no-op if the doorbell completed it
        }
    }
}
