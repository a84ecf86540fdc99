package io.rolexkv.bench.baseline.btree;

import java.util.concurrent.TimeUnit;

/**
 * Settings of the Sherman-style B+tree. Two kinds: the tree's shape ({@code nodeBytes}, {@code loadFactor}), fixed
 * when a tree is built and recorded in the region (an opener reads the node size from there and ignores these), and
 * one compute node's client settings (allocation chunk, cache budget, lock timeout, warm-up), which every instance
 * takes from its own options.
 *
 * @param nodeBytes            bytes per node, leaf or internal (1 KB as in Sherman; smaller in tests for tall trees)
 * @param loadFactor           fill of leaves and internal nodes at bulk load, in (0, 1]; below 1 so that the first
 *                             inserts after a load find room without splitting
 * @param allocationChunkNodes node numbers claimed per fetch-and-add on the region's allocation counter
 * @param cacheCapacityBytes   most bytes of internal nodes this compute node caches ({@link Long#MAX_VALUE}: all)
 * @param lockTimeoutNanos     how long a writer keeps trying to lock one node before it gives up with an exception
 * @param warmCacheOnOpen      whether {@link ShermanBTree#open} reads every internal node into the cache (as
 *                             ROLEX's open loads every model), or starts cold and fetches paths on demand
 */
public record BTreeOptions(int nodeBytes, double loadFactor, int allocationChunkNodes, long cacheCapacityBytes,
                           long lockTimeoutNanos, boolean warmCacheOnOpen) {
    public static final String NODE_BYTES_PROP_NAME = "node_bytes";
    public static final int NODE_BYTES_DEFAULT = 1024;
    public static final String LOAD_FACTOR_PROP_NAME = "load_factor";
    public static final double LOAD_FACTOR_DEFAULT = 0.75;
    public static final String ALLOCATION_CHUNK_NODES_PROP_NAME = "allocation_chunk_nodes";
    public static final int ALLOCATION_CHUNK_NODES_DEFAULT = 16;
    public static final String CACHE_CAPACITY_BYTES_PROP_NAME = "cache_capacity_bytes";
    public static final long CACHE_CAPACITY_BYTES_DEFAULT = Long.MAX_VALUE;
    public static final String LOCK_TIMEOUT_MILLIS_PROP_NAME = "lock_timeout_millis";
    public static final long LOCK_TIMEOUT_MILLIS_DEFAULT = 10_000;
    public static final String WARM_CACHE_ON_OPEN_PROP_NAME = "warm_cache_on_open";
    public static final boolean WARM_CACHE_ON_OPEN_DEFAULT = true;

    public static final BTreeOptions DEFAULT = new BTreeOptions(NODE_BYTES_DEFAULT, LOAD_FACTOR_DEFAULT,
            ALLOCATION_CHUNK_NODES_DEFAULT, CACHE_CAPACITY_BYTES_DEFAULT,
            TimeUnit.MILLISECONDS.toNanos(LOCK_TIMEOUT_MILLIS_DEFAULT), WARM_CACHE_ON_OPEN_DEFAULT);

    public BTreeOptions {
        BTreeNodeDescriptor.checkNodeBytes(nodeBytes);
        if (!(loadFactor > 0 && loadFactor <= 1)) {
            throw new IllegalArgumentException(LOAD_FACTOR_PROP_NAME + "=" + loadFactor + " allowed=(0,1]");
        }
        if (allocationChunkNodes < 1 || allocationChunkNodes > 1 << 20) {
            throw new IllegalArgumentException(ALLOCATION_CHUNK_NODES_PROP_NAME + "=" + allocationChunkNodes
                    + " allowed=[1," + (1 << 20) + "]");
        }
        if (cacheCapacityBytes < 0) {
            throw new IllegalArgumentException(CACHE_CAPACITY_BYTES_PROP_NAME + "=" + cacheCapacityBytes + " must be >= 0");
        }
        if (lockTimeoutNanos < TimeUnit.MILLISECONDS.toNanos(1) || lockTimeoutNanos > TimeUnit.HOURS.toNanos(1)) {
            throw new IllegalArgumentException(LOCK_TIMEOUT_MILLIS_PROP_NAME + "="
                    + TimeUnit.NANOSECONDS.toMillis(lockTimeoutNanos) + " allowed=[1," + TimeUnit.HOURS.toMillis(1) + "]");
        }
    }

    /** Entries per node. */
    public int capacity() {
        return BTreeNodeDescriptor.capacity(nodeBytes);
    }

    /** Entries a leaf gets at bulk load. */
    public int keysPerLeafAtLoad() {
        return Math.max(1, (int) Math.floor(capacity() * loadFactor));
    }

    /** Children an internal node gets at bulk load: at least 2, or the tree would not narrow. */
    public int childrenPerInternalAtLoad() {
        return Math.max(2, (int) Math.floor(capacity() * loadFactor));
    }

    public BTreeOptions withNodeBytes(int bytes) {
        return new BTreeOptions(bytes, loadFactor, allocationChunkNodes, cacheCapacityBytes, lockTimeoutNanos, warmCacheOnOpen);
    }

    public BTreeOptions withLoadFactor(double factor) {
        return new BTreeOptions(nodeBytes, factor, allocationChunkNodes, cacheCapacityBytes, lockTimeoutNanos, warmCacheOnOpen);
    }

    public BTreeOptions withAllocationChunkNodes(int nodes) {
        return new BTreeOptions(nodeBytes, loadFactor, nodes, cacheCapacityBytes, lockTimeoutNanos, warmCacheOnOpen);
    }

    public BTreeOptions withCacheCapacityBytes(long bytes) {
        return new BTreeOptions(nodeBytes, loadFactor, allocationChunkNodes, bytes, lockTimeoutNanos, warmCacheOnOpen);
    }

    public BTreeOptions withLockTimeoutMillis(long millis) {
        return new BTreeOptions(nodeBytes, loadFactor, allocationChunkNodes, cacheCapacityBytes,
                TimeUnit.MILLISECONDS.toNanos(millis), warmCacheOnOpen);
    }

    public BTreeOptions withWarmCacheOnOpen(boolean warm) {
        return new BTreeOptions(nodeBytes, loadFactor, allocationChunkNodes, cacheCapacityBytes, lockTimeoutNanos, warm);
    }
}
