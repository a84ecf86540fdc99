package io.rolexkv.rolex.index;

import io.rolexkv.rolex.layout.GroupWord;
import io.rolexkv.rolex.layout.LeafDescriptor;

/**
 * The shape of an index, fixed when it is created or bulk loaded and recorded in the meta region (the memory node's
 * retrainer keeps it when it rebuilds models).
 *
 * <p>The defaults were chosen by measurement ({@code bench/GEOMETRY.md}): with epsilon 12 a lookup reads a window of
 * about 26 base entries (under 512 bytes with the group heads and the reuse floor) and the models of 1M or 10M
 * bulk-loaded keys cache in under 0.25 bytes per key; groups of 32 base entries keep the lock words few without making
 * writers of neighbouring keys collide often; delta leaves of 16 entries hold a burst of inserts into one group in one
 * leaf and cost one 320-byte READ when a lookup must walk them.
 *
 * @param epsilon          the error bound the models are trained with: a lookup reads {@code 2 * epsilon + 2} entries
 * @param groupSize        base entries under one lock word, and per delta chain
 * @param leafCapacity     entries of a delta leaf
 * @param emptyIndexGroups groups (each a deleted fence key) an index created empty starts with, spread evenly over the
 *                         key space, so that inserts spread over that many delta chains until the first retraining
 */
public record IndexGeometry(int epsilon, int groupSize, int leafCapacity, int emptyIndexGroups) {
    public static final String EPSILON_PROP_NAME = "epsilon";
    public static final int EPSILON_DEFAULT = 12;
    public static final int EPSILON_MAX = 1 << 12;
    public static final String GROUP_SIZE_PROP_NAME = "group_size";
    public static final int GROUP_SIZE_DEFAULT = 32;
    public static final String LEAF_CAPACITY_PROP_NAME = "leaf_capacity";
    public static final int LEAF_CAPACITY_DEFAULT = 16;
    public static final String EMPTY_INDEX_GROUPS_PROP_NAME = "empty_index_groups";
    public static final int EMPTY_INDEX_GROUPS_DEFAULT = 1024;
    public static final int EMPTY_INDEX_GROUPS_MAX = 1 << 24;
    /** Leaves a compute node claims per FAA on the leaf region's counter, then hands out locally. */
    public static final int LEAF_ALLOCATION_CHUNK = 8;

    public static final IndexGeometry DEFAULT = new IndexGeometry(EPSILON_DEFAULT, GROUP_SIZE_DEFAULT,
            LEAF_CAPACITY_DEFAULT, EMPTY_INDEX_GROUPS_DEFAULT);

    public IndexGeometry {
        if (epsilon < 1 || epsilon > EPSILON_MAX) {
            throw new IllegalArgumentException(EPSILON_PROP_NAME + "=" + epsilon + " allowed=[1," + EPSILON_MAX + "]");
        }
        if (groupSize < 1 || groupSize > GroupWord.MAX_GROUP_SIZE) {
            throw new IllegalArgumentException(GROUP_SIZE_PROP_NAME + "=" + groupSize + " allowed=[1,"
                    + GroupWord.MAX_GROUP_SIZE + "]");
        }
        LeafDescriptor.checkCapacity(leafCapacity);
        if (emptyIndexGroups < 1 || emptyIndexGroups > EMPTY_INDEX_GROUPS_MAX) {
            throw new IllegalArgumentException(EMPTY_INDEX_GROUPS_PROP_NAME + "=" + emptyIndexGroups + " allowed=[1,"
                    + EMPTY_INDEX_GROUPS_MAX + "]");
        }
    }

    public IndexGeometry withEmptyIndexGroups(int groups) {
        return new IndexGeometry(epsilon, groupSize, leafCapacity, groups);
    }

    public int leafBytes() {
        return LeafDescriptor.leafBytes(leafCapacity);
    }
}
