package io.rolexkv.rolex.index;

import io.rolexkv.rolex.layout.LeafDescriptor;

/**
 * The shape of an index, fixed when it is created or bulk loaded and recorded in the meta region.
 *
 * @param leafCapacity       key/value pairs a leaf holds
 * @param keysPerLeafAtLoad  pairs a leaf gets at bulk load (below capacity, so in-distribution inserts fit without a
 *                           synonym leaf); also the rank-to-leaf divisor of every model
 * @param epsilon            the error bound the models are trained with
 * @param emptyIndexLeaves   leaves of the single model an index created empty starts with
 * @param leafAllocationChunk leaves a compute node claims per FAA on the leaf counter, then hands out locally
 */
public record IndexGeometry(int leafCapacity, int keysPerLeafAtLoad, int epsilon, int emptyIndexLeaves,
                            int leafAllocationChunk) {
    public static final String LEAF_CAPACITY_PROP_NAME = "leaf_capacity";
    public static final int LEAF_CAPACITY_DEFAULT = 32;
    public static final String LOAD_FACTOR_PROP_NAME = "load_factor";
    public static final double LOAD_FACTOR_DEFAULT = 0.75;
    public static final String EPSILON_PROP_NAME = "epsilon";
    public static final int EPSILON_DEFAULT = 16;
    public static final String EMPTY_INDEX_LEAVES_PROP_NAME = "empty_index_leaves";
    public static final int EMPTY_INDEX_LEAVES_DEFAULT = 1024;
    public static final String LEAF_ALLOCATION_CHUNK_PROP_NAME = "leaf_allocation_chunk";
    public static final int LEAF_ALLOCATION_CHUNK_DEFAULT = 8;

    public static final IndexGeometry DEFAULT = of(LEAF_CAPACITY_DEFAULT, LOAD_FACTOR_DEFAULT, EPSILON_DEFAULT);

    public IndexGeometry {
        LeafDescriptor.checkCapacity(leafCapacity);
        if (keysPerLeafAtLoad < 1 || keysPerLeafAtLoad > leafCapacity) {
            throw new IllegalArgumentException("keys_per_leaf_at_load=" + keysPerLeafAtLoad + " allowed=[1," + leafCapacity + "]");
        }
        if (epsilon < 1 || epsilon > 1 << 20) {
            throw new IllegalArgumentException(EPSILON_PROP_NAME + "=" + epsilon + " allowed=[1," + (1 << 20) + "]");
        }
        if (emptyIndexLeaves < 1 || emptyIndexLeaves > 1 << 24) {
            throw new IllegalArgumentException(EMPTY_INDEX_LEAVES_PROP_NAME + "=" + emptyIndexLeaves + " allowed=[1," + (1 << 24) + "]");
        }
        if (leafAllocationChunk < 1 || leafAllocationChunk > 1024) {
            throw new IllegalArgumentException(LEAF_ALLOCATION_CHUNK_PROP_NAME + "=" + leafAllocationChunk + " allowed=[1,1024]");
        }
    }

    /** A geometry from the user-facing settings: capacity, fill at load (0 < loadFactor <= 1) and epsilon. */
    public static IndexGeometry of(int leafCapacity, double loadFactor, int epsilon) {
        if (!(loadFactor > 0 && loadFactor <= 1)) {
            throw new IllegalArgumentException(LOAD_FACTOR_PROP_NAME + "=" + loadFactor + " allowed=(0,1]");
        }
        int keysPerLeaf = Math.max(1, (int) Math.floor(leafCapacity * loadFactor));
        return new IndexGeometry(leafCapacity, keysPerLeaf, epsilon, EMPTY_INDEX_LEAVES_DEFAULT, LEAF_ALLOCATION_CHUNK_DEFAULT);
    }

    public IndexGeometry withEmptyIndexLeaves(int leaves) {
        return new IndexGeometry(leafCapacity, keysPerLeafAtLoad, epsilon, leaves, leafAllocationChunk);
    }

    public IndexGeometry withLeafAllocationChunk(int chunk) {
        return new IndexGeometry(leafCapacity, keysPerLeafAtLoad, epsilon, emptyIndexLeaves, chunk);
    }

    public int leafBytes() {
        return LeafDescriptor.leafBytes(leafCapacity);
    }
}
