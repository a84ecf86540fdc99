package io.rolexkv.computenode.engine;

import io.rolexkv.common.config.ByteSize;
import io.rolexkv.common.config.ConfigException;
import io.rolexkv.common.config.ConfigNode;
import io.rolexkv.common.fabric.FabricLimits;
import io.rolexkv.common.fabric.FabricTransports;
import io.rolexkv.common.fabric.GlobalAddress;
import io.rolexkv.common.fabric.ReconnectingConnection;
import io.rolexkv.computenode.KeyText;
import io.rolexkv.computenode.value.SizeClasses;
import io.rolexkv.computenode.value.ValueBlockDescriptor;
import io.rolexkv.computenode.value.ValueFormat;
import io.rolexkv.computenode.value.ValueWord;
import io.rolexkv.rolex.index.IndexGeometry;
import io.rolexkv.rolex.layout.GroupWord;
import io.rolexkv.rolex.layout.LeafDescriptor;

import java.math.BigInteger;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;

/**
 * The settings of the {@value #ENGINE_TYPE} engine, read and validated in one place ({@link #from}) from the engine's
 * JSON object:
 *
 * <pre>{@code
 * {
 *   "engine_type": "rolex",
 *   "transport": "tcp",
 *   "memory_nodes": [
 *     {"endpoint": "10.0.0.1:7000"},
 *     {"endpoint": "10.0.0.2:7000"}
 *   ],
 *   "value_layout": "blocks",
 *   "max_value_bytes": "64KiB",
 *   "auth_secret_file": "/etc/rolexkv/cluster.secret",
 *   "epsilon": 12, "group_size": 32, "leaf_capacity": 16
 * }
 * }</pre>
 *
 * Each memory node owns a contiguous range of the unsigned key space and holds its own ROLEX index and values region
 * for it. If every node names its {@code first_key} (the first node's must be 0), those ranges are fixed: a node owns
 * from its first key up to the next node's first key minus one, the last up to 2^64-1. Otherwise the ranges follow the
 * data ({@link ShardMap}): a fresh cluster starts from an even split, learns its ranges from the first
 * {@value #SHARD_LEARN_KEYS_PROP_NAME} keys put, re-chooses them when one node holds much more than the others, and a
 * bulk load chooses them from its keys. The ranges in force are kept on the memory nodes, so every compute node routes
 * alike.
 *
 * @param transport       one of {@link FabricTransports#NAMES}
 * @param memoryNodes     the memory nodes in key order, with their ranges
 * @param valueFormat     how values become leaf words
 * @param maxValueBytes   the longest value accepted
 * @param geometry        the shape of indexes this engine creates (an existing index keeps its own)
 * @param limits          what one doorbell may carry; no more than the memory nodes accept
 * @param valueChunkBytes bytes of values region claimed per FAA, then sub-allocated locally
 * @param reuseGraceMillis how long a replaced or deleted value block waits before its memory is reused
 * @param roomWaitMillis  how long a write into a model whose synonym table is full waits for the memory node to
 *                        compact it before failing with {@link io.rolexkv.rolex.index.IndexFullException}
 * @param authSecretFile  the file of the cluster secret the engine proves to its memory nodes (and they to it), or
 *                        empty for memory nodes that ask for none; tcp only
 * @param rangesFixed     whether {@code memoryNodes} name their ranges ({@value #FIRST_KEY_PROP_NAME}); if not, their
 *                        ranges are only the even split a fresh cluster starts from
 * @param shardLearnKeys  keys a fresh cluster takes before it chooses ranges from them, and the fewest keys put between
 *                        two re-choices; 0: never move ranges
 * @param reconnectDeadlineMillis how long a memory node whose connection broke may stay unreachable before the engine
 *                        marks it down ({@link io.rolexkv.common.fabric.ReconnectingConnection}); 0: at the first
 *                        failed reconnect
 */
public record RolexKVConfig(String transport, List<MemoryNodeRange> memoryNodes, ValueFormat valueFormat,
                            int maxValueBytes, IndexGeometry geometry, FabricLimits limits, long valueChunkBytes,
                            long reuseGraceMillis, long roomWaitMillis, Optional<Path> authSecretFile,
                            boolean rangesFixed, long shardLearnKeys, long reconnectDeadlineMillis) {
    public static final String ENGINE_TYPE = "rolex";

    public static final String TRANSPORT_PROP_NAME = "transport";
    public static final String TRANSPORT_DEFAULT = "tcp";
    public static final String MEMORY_NODES_PROP_NAME = "memory_nodes";
    public static final String ENDPOINT_PROP_NAME = "endpoint";
    public static final String FIRST_KEY_PROP_NAME = "first_key";
    public static final String MAX_VALUE_BYTES_PROP_NAME = "max_value_bytes";
    public static final int MAX_VALUE_BYTES_DEFAULT = 64 << 10;
    /** The most {@value #MAX_VALUE_BYTES_PROP_NAME} may be: 1 MiB, well inside what a handle's length field holds. */
    public static final int MAX_VALUE_BYTES_LIMIT = 1 << 20;
    public static final String VALUE_CHUNK_BYTES_PROP_NAME = "value_chunk_bytes";
    public static final long VALUE_CHUNK_BYTES_MIN_DEFAULT = 256 << 10;
    public static final String REUSE_GRACE_MS_PROP_NAME = "value_reuse_grace_ms";
    public static final long REUSE_GRACE_MS_DEFAULT = 1000;
    public static final long REUSE_GRACE_MS_MAX = 3_600_000;
    public static final String ROOM_WAIT_MS_PROP_NAME = "index_room_wait_ms";
    /** No wait: a memory node without a retrainer never makes room, and a write should fail at once. */
    public static final long ROOM_WAIT_MS_DEFAULT = 0;
    public static final long ROOM_WAIT_MS_MAX = 3_600_000;
    /** Doorbell bytes a put needs beyond its value: leaf READs and WRITEs of a few groups. */
    static final long DOORBELL_HEADROOM_BYTES = 1 << 20;

    public static final String SHARD_LEARN_KEYS_PROP_NAME = "shard_learn_keys";
    public static final long SHARD_LEARN_KEYS_DEFAULT = 4096;
    public static final long SHARD_LEARN_KEYS_MAX = 1L << 30;

    public static final String AUTH_SECRET_FILE_PROP_NAME = FabricTransports.AUTH_SECRET_FILE_PROP_NAME;

    public static final String RECONNECT_DEADLINE_MS_PROP_NAME = "reconnect_deadline_ms";
    public static final long RECONNECT_DEADLINE_MS_DEFAULT = ReconnectingConnection.Policy.DEADLINE_MILLIS_DEFAULT;
    public static final long RECONNECT_DEADLINE_MS_MAX = 86_400_000;

    public RolexKVConfig {
        Objects.requireNonNull(authSecretFile, "authSecretFile");
        Objects.requireNonNull(transport, "transport");
        Objects.requireNonNull(valueFormat, "valueFormat");
        Objects.requireNonNull(geometry, "geometry");
        Objects.requireNonNull(limits, "limits");
        memoryNodes = List.copyOf(memoryNodes);
        if (memoryNodes.isEmpty()) {
            throw new IllegalArgumentException(MEMORY_NODES_PROP_NAME + " must name at least one memory node");
        }
    }

    /**
     * One memory node and the keys it owns, {@code [firstKey, lastKey]} unsigned.
     *
     * @param endpoint where to connect: {@code host:port} for tcp and rdma, the served name for loopback
     */
    public record MemoryNodeRange(String endpoint, long firstKey, long lastKey) {
        public MemoryNodeRange {
            Objects.requireNonNull(endpoint, "endpoint");
            if (Long.compareUnsigned(firstKey, lastKey) > 0) {
                throw new IllegalArgumentException("first key=" + KeyText.decimal(firstKey) + " above last key="
                        + KeyText.decimal(lastKey) + " for endpoint=" + endpoint);
            }
        }

        public boolean owns(long key) {
            return Long.compareUnsigned(key, firstKey) >= 0 && Long.compareUnsigned(key, lastKey) <= 0;
        }

        @Override
        public String toString() {
            return endpoint + "[" + KeyText.hex(firstKey) + "," + KeyText.hex(lastKey) + "]";
        }
    }

    /**
     * Reads and validates the engine object (the one holding {@code "engine_type": "rolex"}); every field but
     * {@value #MEMORY_NODES_PROP_NAME} is optional. Unknown fields are errors.
     *
     * @throws ConfigException naming the field path, what was found and what is allowed
     */
    public static RolexKVConfig from(ConfigNode config) {
        config.allowFields("engine_type");
        String transport = config.optionalOneOf(TRANSPORT_PROP_NAME, TRANSPORT_DEFAULT, FabricTransports.NAMES);
        List<MemoryNodeRange> memoryNodes = memoryNodes(config);
        ValueFormat format = ValueFormat.ofConfigName(
                config.optionalOneOf(ValueFormat.PROP_NAME, ValueFormat.DEFAULT.configName(), ValueFormat.configNames()));
        int maxValueBytes;
        if (format == ValueFormat.INLINE8) {
            maxValueBytes = (int) config.optionalSize(MAX_VALUE_BYTES_PROP_NAME, Long.BYTES, Long.BYTES, Long.BYTES);
        } else {
            maxValueBytes = (int) config.optionalSize(MAX_VALUE_BYTES_PROP_NAME, MAX_VALUE_BYTES_DEFAULT, 0, MAX_VALUE_BYTES_LIMIT);
        }
        IndexGeometry geometry = geometry(config);
        FabricLimits limits = FabricLimits.from(config);
        long neededPerDoorbell = ValueBlockDescriptor.HEADER_BYTES + (long) maxValueBytes + DOORBELL_HEADROOM_BYTES;
        if (limits.maxBytesPerBatch() < neededPerDoorbell) {
            throw config.error(FabricLimits.MAX_BYTES_PER_BATCH_PROP_NAME, "too small for the largest value",
                    "found=" + limits.maxBytesPerBatch() + " needed>=" + neededPerDoorbell + " for "
                            + MAX_VALUE_BYTES_PROP_NAME + "=" + maxValueBytes);
        }
        // Chunks must hold two of the largest block, so a spare chunk always fits the next one.
        long largestBlock = SizeClasses.classOfValue(Math.max(maxValueBytes, ValueWord.MAX_INLINE_BYTES + 1));
        long minimumChunk = 2 * largestBlock;
        long chunkDefault = Math.max(VALUE_CHUNK_BYTES_MIN_DEFAULT, minimumChunk);
        long chunkBytes = config.optionalSize(VALUE_CHUNK_BYTES_PROP_NAME, chunkDefault, minimumChunk, 1L << 40);
        if (chunkBytes % ValueWord.BLOCK_ALIGNMENT != 0) {
            throw config.error(VALUE_CHUNK_BYTES_PROP_NAME, "not a multiple of " + ValueWord.BLOCK_ALIGNMENT,
                    "found=" + config.describe(VALUE_CHUNK_BYTES_PROP_NAME));
        }
        long graceMillis = config.optionalLong(REUSE_GRACE_MS_PROP_NAME, REUSE_GRACE_MS_DEFAULT, 0, REUSE_GRACE_MS_MAX);
        long roomWaitMillis = config.optionalLong(ROOM_WAIT_MS_PROP_NAME, ROOM_WAIT_MS_DEFAULT, 0, ROOM_WAIT_MS_MAX);
        long learnKeys = config.optionalLong(SHARD_LEARN_KEYS_PROP_NAME, SHARD_LEARN_KEYS_DEFAULT, 0, SHARD_LEARN_KEYS_MAX);
        long reconnectDeadlineMillis = config.optionalLong(RECONNECT_DEADLINE_MS_PROP_NAME,
                RECONNECT_DEADLINE_MS_DEFAULT, 0, RECONNECT_DEADLINE_MS_MAX);
        boolean rangesFixed = config.array(MEMORY_NODES_PROP_NAME).getFirst().has(FIRST_KEY_PROP_NAME);
        Optional<Path> authSecretFile = FabricTransports.readAuthSecretFile(config, transport);
        config.rejectUnknownFields();
        return new RolexKVConfig(transport, memoryNodes, format, maxValueBytes, geometry, limits, chunkBytes, graceMillis,
                roomWaitMillis, authSecretFile, rangesFixed, learnKeys, reconnectDeadlineMillis);
    }

    private static IndexGeometry geometry(ConfigNode config) {
        int epsilon = config.optionalInt(IndexGeometry.EPSILON_PROP_NAME, IndexGeometry.EPSILON_DEFAULT, 1,
                IndexGeometry.EPSILON_MAX);
        int groupSize = config.optionalInt(IndexGeometry.GROUP_SIZE_PROP_NAME, IndexGeometry.GROUP_SIZE_DEFAULT, 1,
                GroupWord.MAX_GROUP_SIZE);
        int leafCapacity = config.optionalInt(IndexGeometry.LEAF_CAPACITY_PROP_NAME, IndexGeometry.LEAF_CAPACITY_DEFAULT,
                LeafDescriptor.MIN_CAPACITY, LeafDescriptor.MAX_CAPACITY);
        int emptyGroups = config.optionalInt(IndexGeometry.EMPTY_INDEX_GROUPS_PROP_NAME,
                IndexGeometry.EMPTY_INDEX_GROUPS_DEFAULT, 1, IndexGeometry.EMPTY_INDEX_GROUPS_MAX);
        return new IndexGeometry(epsilon, groupSize, leafCapacity, emptyGroups);
    }

    private static List<MemoryNodeRange> memoryNodes(ConfigNode config) {
        List<ConfigNode> nodes = config.array(MEMORY_NODES_PROP_NAME);
        if (nodes.isEmpty()) {
            throw config.error(MEMORY_NODES_PROP_NAME, "empty", "expected=at least one memory node");
        }
        if (nodes.size() > GlobalAddress.MAX_MEMORY_NODES) {
            throw config.error(MEMORY_NODES_PROP_NAME, "too many", "found=" + nodes.size() + " allowed=[1,"
                    + GlobalAddress.MAX_MEMORY_NODES + "]");
        }
        List<String> endpoints = new ArrayList<>();
        List<Long> firstKeys = new ArrayList<>();
        Set<String> seen = new HashSet<>();
        int withFirstKey = 0;
        for (ConfigNode node : nodes) {
            String endpoint = node.requireString(ENDPOINT_PROP_NAME);
            if (!seen.add(endpoint)) {
                throw node.error(ENDPOINT_PROP_NAME, "duplicate endpoint", "found=\"" + endpoint + "\"");
            }
            endpoints.add(endpoint);
            if (node.has(FIRST_KEY_PROP_NAME)) {
                withFirstKey++;
                String text = node.requireString(FIRST_KEY_PROP_NAME);
                try {
                    firstKeys.add(KeyText.parse(text));
                } catch (IllegalArgumentException e) {
                    throw node.error(FIRST_KEY_PROP_NAME, "bad key", e.getMessage());
                }
            }
            node.allowFields(FIRST_KEY_PROP_NAME).rejectUnknownFields();
        }
        if (withFirstKey == 0) {
            firstKeys = evenSplit(nodes.size());
        } else if (withFirstKey != nodes.size()) {
            throw config.error(MEMORY_NODES_PROP_NAME, "some memory nodes name a first_key and some do not",
                    "found=" + withFirstKey + " of " + nodes.size() + " expected=all or none (none: an even split)");
        } else {
            if (firstKeys.getFirst() != 0) {
                throw nodes.getFirst().error(FIRST_KEY_PROP_NAME, "the first memory node must own key 0",
                        "found=" + nodes.getFirst().describe(FIRST_KEY_PROP_NAME) + " expected=\"0\"");
            }
            for (int i = 1; i < firstKeys.size(); i++) {
                if (Long.compareUnsigned(firstKeys.get(i - 1), firstKeys.get(i)) >= 0) {
                    throw nodes.get(i).error(FIRST_KEY_PROP_NAME, "first keys must be strictly increasing",
                            "found=" + nodes.get(i).describe(FIRST_KEY_PROP_NAME) + " previous=\""
                                    + KeyText.decimal(firstKeys.get(i - 1)) + "\"");
                }
            }
        }
        List<MemoryNodeRange> ranges = new ArrayList<>(nodes.size());
        for (int i = 0; i < nodes.size(); i++) {
            long last = i + 1 < nodes.size() ? firstKeys.get(i + 1) - 1 : -1L;
            ranges.add(new MemoryNodeRange(endpoints.get(i), firstKeys.get(i), last));
        }
        return ranges;
    }

    /** First keys of {@code count} ranges of (nearly) equal size: {@code ceil(i * 2^64 / count)}. */
    public static List<Long> evenSplit(int count) {
        List<Long> firstKeys = new ArrayList<>(count);
        BigInteger keySpace = BigInteger.ONE.shiftLeft(64);
        for (int i = 0; i < count; i++) {
            BigInteger[] division = keySpace.multiply(BigInteger.valueOf(i)).divideAndRemainder(BigInteger.valueOf(count));
            firstKeys.add(division[0].add(division[1].signum() > 0 ? BigInteger.ONE : BigInteger.ZERO).longValue());
        }
        return firstKeys;
    }

    /** How the engine replaces a broken connection to a memory node. */
    public ReconnectingConnection.Policy reconnectPolicy() {
        return ReconnectingConnection.Policy.withDeadline(reconnectDeadlineMillis);
    }

    /** A one-line description for logs and the shell's stats. */
    public String summary() {
        return ENGINE_TYPE + " transport=" + transport + " memory_nodes=" + memoryNodes + " " + ValueFormat.PROP_NAME + "="
                + valueFormat.configName() + " " + MAX_VALUE_BYTES_PROP_NAME + "=" + ByteSize.format(maxValueBytes);
    }
}
