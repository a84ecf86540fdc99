package io.rolexkv.computenode.value;

import io.rolexkv.common.fabric.BatchResult;
import io.rolexkv.common.fabric.DoorbellBatch;
import io.rolexkv.rolex.index.DoorbellExtras;
import io.rolexkv.rolex.index.IndexGaveUpException;

/**
 * A value made ready to be linked into a leaf: the word to store, and for an out-of-place value the block to WRITE
 * first (with, sometimes, a chunk claim riding along, whose answer the doorbell's {@link #completed} result carries).
 * As {@link DoorbellExtras} it rides a write's first doorbell. Whoever links the word reports how it went, exactly once:
 * {@link #linked()}, {@link #unlinked()}, {@link #outcomeUnknown()}, or {@link #failed} with the exception the write
 * threw, which decides what becomes of the block.
 */
public final class PreparedValue implements DoorbellExtras {
    private final long word;
    private final byte[] block;
    private final ValueAllocator.Allocation allocation;
    private final ValueAllocator allocator;
    /** The claim FAA's verb in the doorbell it was last appended to, until that doorbell's result is in; else -1. */
    private int claimVerb = -1;
    private boolean claimAnswered;

    private PreparedValue(long word, byte[] block, ValueAllocator.Allocation allocation, ValueAllocator allocator) {
        this.word = word;
        this.block = block;
        this.allocation = allocation;
        this.allocator = allocator;
    }

    /** A value that lives in its word: nothing to write, nothing to undo. */
    public static PreparedValue inline(long word) {
        return new PreparedValue(word, null, null, null);
    }

    /** A value in the block {@code allocation} names, whose bytes are {@code block}. */
    public static PreparedValue inBlock(ValueAllocator.Allocation allocation, byte[] block, ValueAllocator allocator) {
        return new PreparedValue(allocation.handle(), block, allocation, allocator);
    }

    /** The word to link into the leaf. */
    public long word() {
        return word;
    }

    public boolean hasBlock() {
        return block != null;
    }

    /** Bytes {@link #appendTo} adds to a doorbell. */
    public int writeBytes() {
        return block == null ? 0 : block.length;
    }

    /**
     * Appends the block's WRITE, and the chunk claim's FAA if this allocation carries one whose answer is not in yet,
     * to {@code batch}, which must be posted on this value's memory node before the word is linked (a put's first
     * doorbell, an update's final one); report its result to {@link #completed}. Appending again (the index starts its
     * write over after a model refresh) repeats the WRITE, which is harmless, but not a claim already answered.
     */
    @Override
    public void appendTo(DoorbellBatch batch) {
        if (block == null) {
            return;
        }
        batch.write(allocation.address(), block);
        if (allocation.claim() != null && !claimAnswered) {
            claimVerb = allocation.appendClaim(batch);
        }
    }

    /** The doorbell {@link #appendTo} last wrote into completed: takes in the chunk claim's answer, if it carried one. */
    @Override
    public void completed(BatchResult result) {
        if (claimVerb >= 0) {
            allocation.claim().complete(result.oldValue(claimVerb));
            claimVerb = -1;
            claimAnswered = true;
        }
    }

    /** The word is in a leaf: the block is live. */
    public void linked() {
        finishClaim();
    }

    /** The word never reached a leaf: its block is reused at once, since no reader can hold its handle. */
    public void unlinked() {
        finishClaim();
        if (block != null) {
            allocator.release(word);
        }
    }

    /** Whether the word reached a leaf is unknown (the linking doorbell failed in flight): the block is leaked. */
    public void outcomeUnknown() {
        finishClaim();
    }

    /**
     * Reports a write that threw {@code failure} while linking this value. Only an {@link IndexGaveUpException} (a lock
     * time-out, model churn, no room) promises that nothing was linked, so only then is the block reused; a fabric
     * failure, corruption or anything unforeseen leaves the outcome unknown, and the block is leaked rather than risked.
     */
    public void failed(RuntimeException failure) {
        if (failure instanceof IndexGaveUpException) {
            unlinked();
        } else {
            outcomeUnknown();
        }
    }

    private void finishClaim() {
        if (allocation != null && allocation.claim() != null) {
            allocation.claim().abandon(); // a no-op if the doorbell completed it
        }
    }
}
