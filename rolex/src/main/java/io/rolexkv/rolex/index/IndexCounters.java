package io.rolexkv.rolex.index;

import java.util.concurrent.atomic.LongAdder;

/**
 * What the index's operations did, beyond the fabric's own cost counters: how often readers met torn leaves or walked
 * delta leaves their cache did not know, how often writers lost a lock race (to the retrainer, among them), made a new leaf, found no room or waited
 * for it, and how often the model cache was refreshed.
 */
public final class IndexCounters {
    final LongAdder tornReads = new LongAdder();
    final LongAdder chainDoorbells = new LongAdder();
    final LongAdder lockConflicts = new LongAdder();
    final LongAdder compactionWaits = new LongAdder();
    final LongAdder leavesStarted = new LongAdder();
    final LongAdder splits = new LongAdder();
    final LongAdder insertsRejected = new LongAdder();
    final LongAdder roomWaits = new LongAdder();
    final LongAdder refreshes = new LongAdder();
    final LongAdder fullReloads = new LongAdder();

    /**
     * @param tornReads       reads of a leaf that failed its checksum (a write landing) and were read again
     * @param chainDoorbells  doorbells spent reading leaves the cache did not know, beyond an operation's first
     * @param lockConflicts   lock races lost (each backs off and retries)
     * @param compactionWaits those of them lost to the retrainer (a model it froze or has not opened), each waited
     *                        out for about a compaction pass
     * @param leavesStarted   delta leaves made for a group that had none
     * @param splits          full leaves split (each makes a new leaf)
     * @param insertsRejected writes refused for want of room ({@link IndexFullException})
     * @param roomWaits       writes that found their model's synonym table full and waited for its compaction
     * @param refreshes       model cache refreshes after a newer model epoch was seen
     * @param fullReloads     refreshes that read the whole model set (no patch chain from the models they had)
     */
    public record Snapshot(long tornReads, long chainDoorbells, long lockConflicts, long compactionWaits,
                           long leavesStarted, long splits,
                           long insertsRejected, long roomWaits, long refreshes, long fullReloads) {
        public static final Snapshot ZERO = new Snapshot(0, 0, 0, 0, 0, 0, 0, 0, 0, 0);

        /** Leaves made by writes, of either kind. */
        public long newLeaves() {
            return leavesStarted + splits;
        }

        /** What happened since {@code earlier}, a snapshot of the same counters taken before this one. */
        public Snapshot minus(Snapshot earlier) {
            return new Snapshot(tornReads - earlier.tornReads, chainDoorbells - earlier.chainDoorbells,
                    lockConflicts - earlier.lockConflicts, compactionWaits - earlier.compactionWaits,
                    leavesStarted - earlier.leavesStarted, splits - earlier.splits,
                    insertsRejected - earlier.insertsRejected, roomWaits - earlier.roomWaits,
                    refreshes - earlier.refreshes, fullReloads - earlier.fullReloads);
        }

        public Snapshot plus(Snapshot other) {
            return new Snapshot(tornReads + other.tornReads, chainDoorbells + other.chainDoorbells,
                    lockConflicts + other.lockConflicts, compactionWaits + other.compactionWaits, leavesStarted + other.leavesStarted, splits + other.splits, insertsRejected + other.insertsRejected,
                    roomWaits + other.roomWaits, refreshes + other.refreshes, fullReloads + other.fullReloads);
        }
    }

    public Snapshot snapshot() {
        return new Snapshot(tornReads.sum(), chainDoorbells.sum(), lockConflicts.sum(), compactionWaits.sum(),
                leavesStarted.sum(), splits.sum(),
                insertsRejected.sum(), roomWaits.sum(), refreshes.sum(), fullReloads.sum());
    }
}
