package io.rolexkv.bench.baseline.btree;

import io.rolexkv.rolex.model.UnsignedKeys;

import java.util.Arrays;
import java.util.Iterator;
import java.util.concurrent.ConcurrentHashMap;

/**
 * A compute node's cache of internal B+tree nodes, as Sherman keeps: enough of the tree's upper levels that a lookup
 * goes straight to its leaf. Entries are immutable snapshots of a node as some READ (or this compute node's own WRITE)
 * saw it; a snapshot may be stale, and stays safe to use, because in a B-link tree a node's low fence never changes and
 * every pointer in a stale snapshot still leads to a node at or left of the right one, from which the reader moves
 * right. Stale snapshots are dropped when a read shows them wrong ({@link #invalidate}) and fetched again on the next
 * miss.
 *
 * <p>Bounded by {@code capacityBytes}, counted as whole nodes of {@code nodeBytes} (what the same nodes take in the
 * memory node); over budget, a sample of entries is examined and the lowest-level one evicted, so the upper levels,
 * which every lookup needs, stay. Concurrent fetches may overshoot the budget by one node each for a moment.
 * Thread-safe.
 */
final class InternalNodeCache {
    private static final int EVICTION_SAMPLE = 8;

    private final ConcurrentHashMap<Long, Snapshot> nodes = new ConcurrentHashMap<>();
    private final int nodeBytes;
    private final long capacityNodes;

    /**
     * An internal node as read: its number, level, fences, sibling and version, and its routing entries (entry i sends
     * keys in {@code [keys[i], keys[i+1])} to {@code children[i]}).
     */
    record Snapshot(long node, int level, long lowFence, long highFence, long sibling, int version, long[] keys,
                    long[] children) {

        static Snapshot of(long node, BTreeNode contents) {
            if (contents.isLeaf()) {
                throw new IllegalArgumentException("node=" + node + " is a leaf; only internal nodes are cached");
            }
            long[] keys = new long[contents.count()];
            long[] children = new long[contents.count()];
            for (int i = 0; i < keys.length; i++) {
                keys[i] = contents.key(i);
                children[i] = contents.value(i);
            }
            return new Snapshot(node, contents.level(), contents.lowFence(), contents.highFence(), contents.sibling(),
                    contents.version(), keys, children);
        }

        boolean isAbove(long key) {
            return Long.compareUnsigned(key, highFence) > 0;
        }

        boolean isBelow(long key) {
            return Long.compareUnsigned(key, lowFence) < 0;
        }

        /** Index of the entry that routes {@code key} (at least the low fence). */
        int indexFor(long key) {
            return UnsignedKeys.floorIndex(keys, key);
        }

        long childFor(long key) {
            return children[indexFor(key)];
        }

        @Override
        public boolean equals(Object other) {
            return other instanceof Snapshot that && node == that.node && version == that.version && level == that.level
                    && lowFence == that.lowFence && highFence == that.highFence && sibling == that.sibling
                    && Arrays.equals(keys, that.keys) && Arrays.equals(children, that.children);
        }

        @Override
        public int hashCode() {
            return Long.hashCode(node) * 31 + version;
        }

        @Override
        public String toString() {
            return "Snapshot[node=" + node + " level=" + level + " version=" + version + " fences=["
                    + Long.toUnsignedString(lowFence) + "," + Long.toUnsignedString(highFence) + "] sibling=" + sibling
                    + " entries=" + keys.length + "]";
        }
    }

    InternalNodeCache(int nodeBytes, long capacityBytes) {
        this.nodeBytes = nodeBytes;
        this.capacityNodes = capacityBytes / nodeBytes;
    }

    /** The cached snapshot of {@code node}, or {@code null}. */
    Snapshot get(long node) {
        return nodes.get(node);
    }

    /**
     * Caches {@code snapshot}, unless a newer version of the node is cached already (two threads of this compute node
     * may offer snapshots of one node out of order), evicting others if over budget.
     */
    void offer(Snapshot snapshot) {
        if (capacityNodes == 0) {
            return;
        }
        nodes.merge(snapshot.node(), snapshot, InternalNodeCache::newer);
        while (nodes.size() > capacityNodes) {
            if (!evictOneBesides(snapshot.node())) {
                return;
            }
        }
    }

    private static Snapshot newer(Snapshot cached, Snapshot offered) {
        int ahead = (offered.version() - cached.version()) & BTreeNodeDescriptor.VERSION_MASK;
        return ahead < (1 << 30) ? offered : cached;
    }

    private boolean evictOneBesides(long keep) {
        Snapshot victim = null;
        Iterator<Snapshot> iterator = nodes.values().iterator();
        for (int seen = 0; seen < EVICTION_SAMPLE && iterator.hasNext(); ) {
            Snapshot candidate = iterator.next();
            if (candidate.node() == keep) {
                continue;
            }
            seen++;
            if (victim == null || candidate.level() < victim.level()) {
                victim = candidate;
            }
        }
        if (victim == null) {
            return false;
        }
        nodes.remove(victim.node(), victim);
        return true;
    }

    /** Whether one more node fits without evicting. */
    boolean hasRoom() {
        return nodes.size() < capacityNodes;
    }

    /** Drops {@code node}'s snapshot (0 is no node: nothing happens). */
    void invalidate(long node) {
        if (node != 0) {
            nodes.remove(node);
        }
    }

    void clear() {
        nodes.clear();
    }

    int size() {
        return nodes.size();
    }

    /** Bytes of internal nodes cached, counted as the memory node stores them. */
    long bytes() {
        return (long) nodes.size() * nodeBytes;
    }
}
