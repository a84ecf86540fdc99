package io.rolexkv.rolex.index;

import java.util.concurrent.atomic.LongAdder;

/**
 * What the index's operations did, beyond the fabric's own cost counters: how often readers met torn leaves or
 * links their cache did not know, how often writers lost a lock race, split a leaf, or found no room.
 */
public final class IndexCounters {
    final LongAdder tornLeafReads = new LongAdder();
    final LongAdder unknownLinksFollowed = new LongAdder();
    final LongAdder lockConflicts = new LongAdder();
    final LongAdder staleLeafTableEntries = new LongAdder();
    final LongAdder splits = new LongAdder();
    final LongAdder insertsRejected = new LongAdder();
    final LongAdder roomWaits = new LongAdder();
    final LongAdder refreshes = new LongAdder();

    /**
     * @param roomWaits writes that found their model's synonym table full and waited for its retraining
     * @param refreshes model cache reloads after a newer model epoch was seen
     */
    public record Snapshot(long tornLeafReads, long unknownLinksFollowed, long lockConflicts, long staleLeafTableEntries,
                           long splits, long insertsRejected, long roomWaits, long refreshes) {
    }

    public Snapshot snapshot() {
        return new Snapshot(tornLeafReads.sum(), unknownLinksFollowed.sum(), lockConflicts.sum(),
                staleLeafTableEntries.sum(), splits.sum(), insertsRejected.sum(), roomWaits.sum(), refreshes.sum());
    }
}
