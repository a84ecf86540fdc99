package io.rolexkv.rolex.index;

import io.rolexkv.common.fabric.CompletionBuffer;
import io.rolexkv.common.fabric.DoorbellBatch;

import java.util.concurrent.atomic.AtomicReferenceArray;

/**
 * What one single-key lookup needs and reuses from call to call: the doorbell it builds and the buffer its completion
 * lands in. Lookups take one from a small shared pool and give it back, so a warm lookup allocates nothing of its own;
 * a pool rather than a thread local, because an operation typically runs on a virtual thread of its own, and a thread
 * local would then be made afresh for every operation.
 *
 * <p>Never shared: a scratch belongs to the one lookup that took it until that lookup gives it back.
 */
final class LookupScratch {
    private static final int POOL_SLOTS = 64;
    private static final int PROBES = 4;
    private static final AtomicReferenceArray<LookupScratch> POOL = new AtomicReferenceArray<>(POOL_SLOTS);

    final DoorbellBatch batch = new DoorbellBatch();
    /** Where {@link #batch}'s completion lands, reused from lookup to lookup. */
    final CompletionBuffer completion = new CompletionBuffer();
    /** What a found key holds. */
    long value;

    private LookupScratch() {
    }

    /** A scratch from the pool, or a new one if the pool has none at hand. */
    static LookupScratch take() {
        int start = slotOf(Thread.currentThread());
        for (int probe = 0; probe < PROBES; probe++) {
            LookupScratch scratch = POOL.getAndSet((start + probe) & (POOL_SLOTS - 1), null);
            if (scratch != null) {
                return scratch;
            }
        }
        return new LookupScratch();
    }

    /** Returns {@code scratch} to the pool (or lets it go if the pool is full); the caller must not use it again. */
    static void give(LookupScratch scratch) {
        scratch.batch.clear();
        int start = slotOf(Thread.currentThread());
        for (int probe = 0; probe < PROBES; probe++) {
            if (POOL.compareAndSet((start + probe) & (POOL_SLOTS - 1), null, scratch)) {
                return;
            }
        }
    }

    private static int slotOf(Thread thread) {
        return (int) (thread.threadId() * 0x9E37_79B9L >>> 7);
    }
}
