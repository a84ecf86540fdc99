package io.rolexkv.common.fabric;

import java.util.concurrent.atomic.LongAdder;

/**
 * Client-side cost counters: doorbells (network round trips), verbs by kind, bytes read and written. These are
 * the project's hardware-independent cost figures, so every transport records every posted batch here exactly
 * once, at post time, through {@link #recordPosted(DoorbellBatch)}.
 *
 * <p>Counters nest: a connection's counters may have a parent (the client's totals across all its connections),
 * and recording on the child also records on the parent. Safe for concurrent use.
 */
public final class FabricCounters {
    private final FabricCounters parent;
    private final LongAdder doorbells = new LongAdder();
    private final LongAdder reads = new LongAdder();
    private final LongAdder writes = new LongAdder();
    private final LongAdder compareAndSwaps = new LongAdder();
    private final LongAdder fetchAndAdds = new LongAdder();
    private final LongAdder bytesRead = new LongAdder();
    private final LongAdder bytesWritten = new LongAdder();

    /** Top-level counters. */
    public FabricCounters() {
        this(null);
    }

    /** Counters that also add everything they record to {@code parent} (may be {@code null}). */
    public FabricCounters(FabricCounters parent) {
        this.parent = parent;
    }

    /** Records one doorbell carrying {@code batch}'s verbs. */
    public void recordPosted(DoorbellBatch batch) {
        int reads = 0;
        int writes = 0;
        int compareAndSwaps = 0;
        int fetchAndAdds = 0;
        for (int i = 0; i < batch.size(); i++) {
            switch (batch.kind(i)) {
                case READ -> reads++;
                case WRITE -> writes++;
                case CAS -> compareAndSwaps++;
                case FAA -> fetchAndAdds++;
            }
        }
        record(1, reads, writes, compareAndSwaps, fetchAndAdds, batch.bytesToRead(), batch.bytesToWrite());
    }

    private void record(long doorbells, long reads, long writes, long compareAndSwaps, long fetchAndAdds,
                        long bytesRead, long bytesWritten) {
        // Each add is an atomic read-modify-write on every doorbell of every thread: skip the ones that add nothing (a
        // lookup's doorbell is all READs, so its WRITE, CAS, FAA and written-byte counters stay untouched).
        addUnlessZero(this.doorbells, doorbells);
        addUnlessZero(this.reads, reads);
        addUnlessZero(this.writes, writes);
        addUnlessZero(this.compareAndSwaps, compareAndSwaps);
        addUnlessZero(this.fetchAndAdds, fetchAndAdds);
        addUnlessZero(this.bytesRead, bytesRead);
        addUnlessZero(this.bytesWritten, bytesWritten);
        if (parent != null) {
            parent.record(doorbells, reads, writes, compareAndSwaps, fetchAndAdds, bytesRead, bytesWritten);
        }
    }

    private static void addUnlessZero(LongAdder counter, long delta) {
        if (delta != 0) {
            counter.add(delta);
        }
    }

    /** A consistent-enough copy for reporting (each field is read once; concurrent posts may straddle it). */
    public Snapshot snapshot() {
        return new Snapshot(doorbells.sum(), reads.sum(), writes.sum(), compareAndSwaps.sum(), fetchAndAdds.sum(),
                bytesRead.sum(), bytesWritten.sum());
    }

    /**
     * The counters at one moment. Subtract two snapshots to get the cost of what ran between them.
     */
    public record Snapshot(long doorbells, long reads, long writes, long compareAndSwaps, long fetchAndAdds,
                           long bytesRead, long bytesWritten) {
        public static final Snapshot ZERO = new Snapshot(0, 0, 0, 0, 0, 0, 0);

        public Snapshot minus(Snapshot earlier) {
            return new Snapshot(doorbells - earlier.doorbells, reads - earlier.reads, writes - earlier.writes,
                    compareAndSwaps - earlier.compareAndSwaps, fetchAndAdds - earlier.fetchAndAdds,
                    bytesRead - earlier.bytesRead, bytesWritten - earlier.bytesWritten);
        }

        public Snapshot plus(Snapshot other) {
            return new Snapshot(doorbells + other.doorbells, reads + other.reads, writes + other.writes,
                    compareAndSwaps + other.compareAndSwaps, fetchAndAdds + other.fetchAndAdds,
                    bytesRead + other.bytesRead, bytesWritten + other.bytesWritten);
        }

        public long verbs() {
            return reads + writes + compareAndSwaps + fetchAndAdds;
        }
    }
}
