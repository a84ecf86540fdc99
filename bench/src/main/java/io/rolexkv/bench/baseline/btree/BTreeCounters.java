package io.rolexkv.bench.baseline.btree;

import java.util.concurrent.atomic.LongAdder;

/**
 * What the B+tree's operations did, beyond the fabric's own cost counters: splits, lost lock races, torn reads met,
 * internal-node cache hits and misses, and moves right along sibling links (each one a split the cache did not know).
 */
public final class BTreeCounters {
    final LongAdder leafSplits = new LongAdder();
    final LongAdder internalSplits = new LongAdder();
    final LongAdder lockConflicts = new LongAdder();
    final LongAdder tornReads = new LongAdder();
    final LongAdder cacheHits = new LongAdder();
    final LongAdder cacheMisses = new LongAdder();
    final LongAdder siblingHops = new LongAdder();
    final LongAdder unroutedSplits = new LongAdder();

    /**
     * @param leafSplits     leaves split by this compute node
     * @param internalSplits internal nodes split (a root split counts here and installs a new root)
     * @param lockConflicts  lock attempts that found the node locked by someone else
     * @param tornReads      node reads that failed the check words and were read again
     * @param cacheHits      internal nodes a descent found in the cache
     * @param cacheMisses    internal nodes a descent had to READ
     * @param siblingHops    moves to a right sibling because a node no longer held the key
     * @param unroutedSplits leaf splits whose new leaf the level above never learned of (its lock not won in time, or
     *                       no node left to split it): the key was stored and stays reachable by sibling link
     */
    public record Snapshot(long leafSplits, long internalSplits, long lockConflicts, long tornReads, long cacheHits,
                           long cacheMisses, long siblingHops, long unroutedSplits) {
        public long splits() {
            return leafSplits + internalSplits;
        }
    }

    public Snapshot snapshot() {
        return new Snapshot(leafSplits.sum(), internalSplits.sum(), lockConflicts.sum(), tornReads.sum(),
                cacheHits.sum(), cacheMisses.sum(), siblingHops.sum(), unroutedSplits.sum());
    }
}
