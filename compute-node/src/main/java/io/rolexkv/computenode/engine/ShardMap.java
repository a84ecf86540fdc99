package io.rolexkv.computenode.engine;

import io.rolexkv.common.fabric.WordOrder;
import io.rolexkv.computenode.KeyText;
import io.rolexkv.computenode.value.ValueRegionDescriptor;

import java.lang.foreign.MemorySegment;
import java.util.Arrays;

/**
 * Which memory node owns which keys: the cluster's ranges, kept in the memory of its home node (the node with the
 * lowest memory node id; {@link ValueRegionDescriptor} has the layout) so that every compute node that opens the
 * cluster routes by the same map, whatever order its config lists the nodes in.
 *
 * <h2>The cluster word</h2>
 * One 8-byte word on the home node, changed only by CAS, says what the map is doing and how many compute nodes have it
 * open:
 * <pre>
 *   | state u8 (bits 56-63) | epoch, low 24 bits (bits 32-55) | compute nodes open u32 (bits 0-31) |
 * </pre>
 * States: {@link #NONE} (no map yet: a fresh cluster), {@link #INITIALIZING} (the first compute node is writing the
 * first map), {@link #LEARNING} (ranges are a provisional even split; the first compute node to see enough keys learns
 * ranges from them), {@link #LEARNED} (ranges chosen from the keys; re-chosen when one node holds much more than the
 * others), {@link #FIXED} (ranges named in the config; never moved), {@link #MIGRATING} (a compute node is moving keys
 * between nodes or bulk loading). A compute node joins by CAS of the word it read, with the map read in the same
 * doorbell, plus one; since every change of the map also changes the word (its state or epoch), a join that succeeds
 * read the map that is current. It waits while the state is {@link #INITIALIZING} or {@link #MIGRATING}.
 *
 * <h2>Who may move keys</h2>
 * Moving keys between nodes is safe only when no other compute node routes by the old map, so a compute node moves keys
 * only when the count says it is alone: it CASes (state, epoch, 1) to (MIGRATING, epoch, 1), which fails if another
 * compute node joined meanwhile, and one that tries to join meanwhile waits for the move to finish. A compute node that
 * dies without closing leaves the count too high, which only ever stops moves (the safe side) until leases on compute
 * nodes exist; one that dies while MIGRATING leaves the cluster waiting (see the engine's docs).
 *
 * @param epoch     counts map changes; 1 for the first map
 * @param state     the state the map is in (never NONE, INITIALIZING or MIGRATING in a map the engine routes by)
 * @param firstKeys the first key of each range, strictly increasing unsigned, the first 0
 * @param nodeIds   the memory node id that holds each range
 */
record ShardMap(long epoch, int state, long[] firstKeys, int[] nodeIds) {
    static final int NONE = 0;
    static final int INITIALIZING = 1;
    static final int LEARNING = 2;
    static final int LEARNED = 3;
    static final int FIXED = 4;
    static final int MIGRATING = 5;

    private static final int STATE_SHIFT = 56;
    private static final int EPOCH_SHIFT = 32;
    private static final long EPOCH_MASK = (1L << 24) - 1;
    private static final long COUNT_MASK = (1L << 32) - 1;

    ShardMap {
        if (firstKeys.length == 0 || firstKeys.length != nodeIds.length
                || firstKeys.length > ValueRegionDescriptor.SHARD_MAP_MAX_RANGES) {
            throw new IllegalArgumentException("shard map of ranges=" + firstKeys.length + " node ids=" + nodeIds.length);
        }
        if (firstKeys[0] != 0) {
            throw new IllegalArgumentException("shard map's first range starts at " + KeyText.decimal(firstKeys[0]));
        }
        for (int i = 1; i < firstKeys.length; i++) {
            if (Long.compareUnsigned(firstKeys[i - 1], firstKeys[i]) >= 0) {
                throw new IllegalArgumentException("shard map first keys not increasing: " + describe(firstKeys));
            }
        }
    }

    int ranges() {
        return firstKeys.length;
    }

    /** The last key of range {@code i}. */
    long lastKey(int i) {
        return i + 1 < firstKeys.length ? firstKeys[i + 1] - 1 : -1L;
    }

    static String stateName(int state) {
        return switch (state) {
            case NONE -> "none";
            case INITIALIZING -> "initializing";
            case LEARNING -> "learning";
            case LEARNED -> "learned";
            case FIXED -> "fixed";
            case MIGRATING -> "migrating";
            default -> "unknown(" + state + ")";
        };
    }

    // ------------------------------------------------------------------ the cluster word

    static long clusterWord(int state, long epoch, long computeNodes) {
        return ((long) state << STATE_SHIFT) | ((epoch & EPOCH_MASK) << EPOCH_SHIFT) | (computeNodes & COUNT_MASK);
    }

    static int state(long clusterWord) {
        return (int) (clusterWord >>> STATE_SHIFT);
    }

    static long computeNodes(long clusterWord) {
        return clusterWord & COUNT_MASK;
    }

    static long withComputeNodes(long clusterWord, long computeNodes) {
        return (clusterWord & ~COUNT_MASK) | (computeNodes & COUNT_MASK);
    }

    static long withState(long clusterWord, int state) {
        return (clusterWord & ~(0xFFL << STATE_SHIFT)) | ((long) state << STATE_SHIFT);
    }

    /** The cluster word naming this map, with {@code computeNodes} open. */
    long clusterWord(long computeNodes) {
        return clusterWord(state, epoch, computeNodes);
    }

    // ------------------------------------------------------------------ layout

    /** The map's bytes from {@link ValueRegionDescriptor#SHARD_MAP_EPOCH_OFFSET}, as one WRITE lays them down. */
    byte[] encode() {
        byte[] bytes = new byte[ValueRegionDescriptor.SHARD_MAP_BYTES];
        MemorySegment map = MemorySegment.ofArray(bytes);
        WordOrder.putLong(map, 0, epoch);
        WordOrder.putLong(map, ValueRegionDescriptor.SHARD_MAP_RANGES_OFFSET - ValueRegionDescriptor.SHARD_MAP_EPOCH_OFFSET,
                ((long) state << STATE_SHIFT) | firstKeys.length);
        for (int i = 0; i < firstKeys.length; i++) {
            WordOrder.putLong(map, firstKeysAt(i), firstKeys[i]);
            bytes[nodeIdAt(i)] = (byte) nodeIds[i];
        }
        return bytes;
    }

    /**
     * The map in {@code read} (the bytes {@link #encode} wrote).
     *
     * @throws IllegalStateException if they are not a map
     */
    static ShardMap decode(MemorySegment read) {
        long epoch = WordOrder.getLong(read, 0);
        long rangesWord = WordOrder.getLong(read, ValueRegionDescriptor.SHARD_MAP_RANGES_OFFSET
                - ValueRegionDescriptor.SHARD_MAP_EPOCH_OFFSET);
        int ranges = (int) (rangesWord & 0xFFFF_FFFFL);
        int state = (int) (rangesWord >>> STATE_SHIFT);
        if (ranges < 1 || ranges > ValueRegionDescriptor.SHARD_MAP_MAX_RANGES) {
            throw new IllegalStateException("shard map holds ranges=" + ranges);
        }
        long[] firstKeys = new long[ranges];
        int[] nodeIds = new int[ranges];
        for (int i = 0; i < ranges; i++) {
            firstKeys[i] = WordOrder.getLong(read, firstKeysAt(i));
            nodeIds[i] = Byte.toUnsignedInt(read.get(java.lang.foreign.ValueLayout.JAVA_BYTE, nodeIdAt(i)));
        }
        try {
            return new ShardMap(epoch, state, firstKeys, nodeIds);
        } catch (IllegalArgumentException e) {
            throw new IllegalStateException(e.getMessage());
        }
    }

    private static int firstKeysAt(int i) {
        return ValueRegionDescriptor.SHARD_MAP_FIRST_KEYS_OFFSET - ValueRegionDescriptor.SHARD_MAP_EPOCH_OFFSET + 8 * i;
    }

    private static int nodeIdAt(int i) {
        return ValueRegionDescriptor.SHARD_MAP_NODE_IDS_OFFSET - ValueRegionDescriptor.SHARD_MAP_EPOCH_OFFSET + i;
    }

    // ------------------------------------------------------------------ choosing ranges

    /**
     * First keys that give each of {@code ranges} ranges an equal share of {@code sortedKeys} (strictly increasing
     * unsigned): range i starts at the key of rank {@code ceil(i * n / ranges)}. Null if there are too few keys to
     * tell {@code ranges} ranges apart.
     */
    static long[] quantiles(long[] sortedKeys, int ranges) {
        int n = sortedKeys.length;
        if (n < ranges) {
            return null;
        }
        long[] firstKeys = new long[ranges];
        for (int i = 1; i < ranges; i++) {
            firstKeys[i] = sortedKeys[(int) (((long) i * n + ranges - 1) / ranges)];
            if (Long.compareUnsigned(firstKeys[i - 1], firstKeys[i]) >= 0) {
                return null;
            }
        }
        return firstKeys;
    }

    ShardMap withRanges(long[] newFirstKeys, int newState) {
        return new ShardMap(epoch + 1, newState, newFirstKeys, nodeIds);
    }

    static String describe(long[] firstKeys) {
        StringBuilder text = new StringBuilder("[");
        for (int i = 0; i < firstKeys.length; i++) {
            text.append(i == 0 ? "" : ",").append(KeyText.hex(firstKeys[i]));
        }
        return text.append(']').toString();
    }

    @Override
    public boolean equals(Object other) {
        return other instanceof ShardMap map && map.epoch == epoch && map.state == state
                && Arrays.equals(map.firstKeys, firstKeys) && Arrays.equals(map.nodeIds, nodeIds);
    }

    @Override
    public int hashCode() {
        return Long.hashCode(epoch) * 31 + Arrays.hashCode(firstKeys);
    }

    @Override
    public String toString() {
        return "ShardMap[epoch=" + epoch + " state=" + stateName(state) + " first_keys=" + describe(firstKeys)
                + " memory_node_ids=" + Arrays.toString(nodeIds) + "]";
    }
}
