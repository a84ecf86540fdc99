package io.rolexkv.computenode.engine;

import io.rolexkv.common.config.ConfigException;
import io.rolexkv.common.fabric.BatchResult;
import io.rolexkv.common.fabric.CorruptDataException;
import io.rolexkv.common.fabric.DoorbellBatch;
import io.rolexkv.common.fabric.FabricConnection;
import io.rolexkv.common.fabric.FabricCounters;
import io.rolexkv.common.fabric.FabricTransport;
import io.rolexkv.common.fabric.FabricTransports;
import io.rolexkv.common.kv.BaseKV;
import io.rolexkv.common.kv.KeyValueBytes;
import io.rolexkv.common.kv.KeyValueChecks;
import io.rolexkv.computenode.KeyText;
import io.rolexkv.computenode.value.PreparedValue;
import io.rolexkv.computenode.value.SizeClasses;
import io.rolexkv.computenode.value.ValueAllocator;
import io.rolexkv.computenode.value.ValueBlockDescriptor;
import io.rolexkv.computenode.value.ValueFormat;
import io.rolexkv.computenode.value.ValueRegionDescriptor;
import io.rolexkv.computenode.value.ValueStore;
import io.rolexkv.computenode.value.ValueWord;
import io.rolexkv.rolex.index.DoorbellExtras;
import io.rolexkv.rolex.index.FoundWord;
import io.rolexkv.rolex.index.IndexCounters;
import io.rolexkv.rolex.index.KeyValue;
import io.rolexkv.rolex.index.LeanIndex;
import io.rolexkv.rolex.index.WordIndex;
import io.rolexkv.rolex.index.WordUpdate;
import io.rolexkv.rolex.index.WriteResult;
import io.rolexkv.rolex.model.UnsignedKeys;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.OptionalLong;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.atomic.LongAdder;
import java.util.concurrent.locks.ReentrantReadWriteLock;
import java.util.function.ToLongFunction;
import java.util.function.UnaryOperator;

/**
 * The {@value RolexKVConfig#ENGINE_TYPE} engine: {@link BaseKV} over ROLEX indexes on memory nodes, driven one-sidedly
 * from this compute node. Like RecStore's composite engine it is an index plus a value store: the index maps a key to
 * an 8-byte word ({@link WordIndex}), the value store turns values into words and back ({@link ValueStore}: the word
 * itself for {@code inline8}, an inline word or a handle to a value block for {@code blocks}; see
 * {@link ValueWord}).
 *
 * <h2>The index is pluggable</h2>
 * The index on each memory node is ROLEX ({@link LeanIndex}, {@link RolexIndexKind}) unless the engine is opened with
 * another {@link IndexKind}, as the B+tree baseline is, so that baseline and learned index are measured under the same
 * value store, fabric and harness. The engine uses only the {@link WordIndex} operations; what differs between kinds
 * (regions, readiness, building, counters) is the kind's business. The costs below are ROLEX's; another index
 * documents its own.
 *
 * <h2>Memory nodes, and ranges that follow the data</h2>
 * The unsigned key space is split into contiguous ranges, one per memory node; each node holds its own index over its
 * range and the value blocks of its keys, so every verb of an operation on one key goes to one node. Batch calls split
 * their keys per node and run the nodes in parallel (a virtual thread each); scans walk the nodes in key order.
 *
 * <p>The ranges are the cluster's {@link ShardMap}, kept on its home memory node and read when the engine opens, so every
 * compute node routes alike. Unless the config fixes them ({@code first_key}), they follow the keys: a bulk load
 * chooses them so each node gets an equal share of its keys; a fresh cluster starts from an even split and, once
 * {@value RolexKVConfig#SHARD_LEARN_KEYS_PROP_NAME} keys are in, chooses them from the keys it holds; later, when one
 * node holds more than {@value #REBALANCE_RATIO} times the mean, it chooses again. Choosing again moves keys between
 * nodes: the engine pauses its own operations, copies the keys that change node, switches the map, and removes the old
 * copies. It does so only when the map's count of open compute nodes says it is the only one (see {@link ShardMap});
 * with more than one open, ranges stay as they are. A move that fails part way leaves the old map in force and stray
 * copies that the next move removes; a compute node that dies in the middle leaves the cluster {@code migrating}, and
 * engines that open it then give up after {@link #MAP_WAIT_NANOS} (recovering from that needs leases on compute nodes).
 *
 * <h2>Costs, in doorbells (round trips), uncontended, with a warm model cache</h2>
 * <ul>
 *   <li>get: 1 (leaf READ) for an inline value; 2 (then the block READ) for a value in a block. A block that fails
 *       validation (reclaimed meanwhile, see {@link ValueAllocator}) sends the reader back to the leaf.</li>
 *   <li>put: 2. The new block's WRITE rides the index's first doorbell, ahead of the lock CAS
 *       ({@link LeanIndex#put(long, long, DoorbellExtras)}); when the allocator wants a new spare chunk, its claim FAA
 *       rides there too, and the index hands back its answer. The replaced block is retired after the leaf write.</li>
 *   <li>update: 3. Lock and leaf READ; the old block READ under the lock; new block WRITE, leaf WRITE and unlock.</li>
 *   <li>delete: 2. batchGet: per memory node, one doorbell per {@value LeanIndex#KEYS_PER_DOORBELL} keys for the
 *       leaves, then the blocks packed into as few doorbells as the node takes; batchPut: per node, two doorbells per
 *       {@value LeanIndex#KEYS_PER_DOORBELL} keys. Memory nodes run in parallel.</li>
 * </ul>
 * A leaf that splits, a lock conflict or a cache miss on a synonym link costs more, as the index documents.
 *
 * <h2>Failures</h2>
 * A write that fails says by its type what happened to it (see each type): {@link io.rolexkv.rolex.index.IndexGaveUpException}
 * (and {@link io.rolexkv.rolex.index.IndexFullException}, {@link io.rolexkv.computenode.value.ValueRegionFullException}):
 * nothing was stored, and a new value block is reused at once; {@link io.rolexkv.common.fabric.FabricException}: the
 * outcome is unknown, and the block is kept (leaked rather than risked); {@link CorruptDataException}: a structure on
 * the memory node is damaged. {@link IllegalArgumentException} is the caller's mistake, refused before anything moved.
 *
 * <h2>Counters</h2>
 * {@link #counters()} totals every doorbell of this engine; {@link #threadCounters()} holds those posted for the
 * calling thread's own calls (including the helper threads of its batch calls), which is how a benchmark attributes
 * round trips to the operation it timed: snapshot before, snapshot after, subtract.
 *
 * <p>{@link #bulkLoad} and {@link #clear} rebuild the indexes: they are for a store no other compute node is writing
 * meanwhile, and other engines must reopen the store afterwards. Everything else is safe to call from any number of
 * threads and compute nodes at once.
 */
public final class RolexKV implements BaseKV {
    /** Attempts at reading a key whose block keeps failing validation before the engine calls it corrupt. */
    static final int MAX_STALE_BLOCK_RETRIES = 1000;
    /** Bytes per WRITE when a bulk load lays value blocks out. */
    static final int BULK_WRITE_BYTES = 4 << 20;

    private final RolexKVConfig config;
    private final IndexKind kind;
    private final FabricTransport transport;
    private final boolean ownsTransport;
    private final FabricCounters totals = new FabricCounters();
    private final ThreadCosts threadCosts = new ThreadCosts();
    /** How far above the mean one node's record count may go before the engine chooses the ranges again. */
    static final double REBALANCE_RATIO = 1.5;
    /** How long an opening engine waits for another compute node that is writing the shard map. */
    static final long MAP_WAIT_NANOS = java.util.concurrent.TimeUnit.SECONDS.toNanos(30);

    private final List<Shard> shards;
    private final Shard home;
    private volatile Routing routing;
    /** Per shard position: keys this engine added net of those it removed, since the last count. */
    private final LongAdder[] netInserts;
    /** Per shard position: the node's records at the last count (0 until this engine counted). */
    private final long[] countedRecords;
    private final java.util.concurrent.atomic.AtomicLong insertsSinceCheck = new java.util.concurrent.atomic.AtomicLong();
    private final java.util.concurrent.locks.ReentrantLock rebalancing = new java.util.concurrent.locks.ReentrantLock();
    private volatile boolean rebalanceWanted;
    private final LongAdder rebalances = new LongAdder();
    private final LongAdder keysMoved = new LongAdder();

    /** The map in force and, per range, the shard that holds it. */
    private record Routing(ShardMap map, Shard[] shardOfRange) {
        int rangeOf(long key) {
            return UnsignedKeys.floorIndex(map.firstKeys(), key);
        }

        RolexKVConfig.MemoryNodeRange range(int i) {
            return new RolexKVConfig.MemoryNodeRange(shardOfRange[i].endpoint, map.firstKeys()[i], map.lastKey(i));
        }

        RolexKVConfig.MemoryNodeRange rangeOf(Shard shard) {
            for (int i = 0; i < shardOfRange.length; i++) {
                if (shardOfRange[i] == shard) {
                    return range(i);
                }
            }
            throw new IllegalStateException("no range for " + shard);
        }
    }
    private final ExecutorService helpers = Executors.newVirtualThreadPerTaskExecutor();
    private final LongAdder staleBlockReads = new LongAdder();
    /** Per thread: where a single-key read puts what it found (see {@link ValueRead}). */
    private final ThreadLocal<ValueRead> valueReads = ThreadLocal.withInitial(ValueRead::new);
    private final ReentrantReadWriteLock gate = new ReentrantReadWriteLock();
    private volatile boolean closed;

    private RolexKV(RolexKVConfig config, FabricTransport transport, boolean ownsTransport, IndexKind kind) {
        this.config = config;
        this.kind = kind;
        this.transport = transport;
        this.ownsTransport = ownsTransport;
        List<Shard> opened = new ArrayList<>();
        Shard homeShard = null;
        boolean joined = false;
        try {
            for (int i = 0; i < config.memoryNodes().size(); i++) {
                opened.add(Shard.connect(i, config, kind, transport, totals, threadCosts));
            }
            checkDistinctMemoryNodes(opened);
            homeShard = opened.stream().min(java.util.Comparator.comparingInt(Shard::memoryNodeId)).orElseThrow();
            ShardMap map = join(homeShard, opened, config);
            joined = true;
            Routing joinedRouting = routingFor(map, opened);
            for (Shard shard : opened) {
                shard.openIndex(joinedRouting.rangeOf(shard));
            }
            this.routing = joinedRouting;
        } catch (RuntimeException e) {
            if (joined) {
                leave(homeShard);
            }
            opened.forEach(shard -> shard.connection.close());
            helpers.close();
            throw e;
        }
        this.shards = List.copyOf(opened);
        this.home = homeShard;
        this.netInserts = new LongAdder[shards.size()];
        Arrays.setAll(netInserts, i -> new LongAdder());
        this.countedRecords = new long[shards.size()];
    }

    // ------------------------------------------------------------------ the shard map

    private static Routing routingFor(ShardMap map, List<Shard> shards) {
        Shard[] shardOfRange = new Shard[map.ranges()];
        for (int i = 0; i < map.ranges(); i++) {
            for (Shard shard : shards) {
                if (shard.memoryNodeId() == map.nodeIds()[i]) {
                    shardOfRange[i] = shard;
                }
            }
        }
        return new Routing(map, shardOfRange);
    }

    /**
     * Joins the cluster on its home node: the first compute node of a fresh cluster writes the first map (the config's
     * ranges); every one adds itself to the count of open compute nodes, by CAS of the cluster word read in the doorbell
     * that read the map, so the map it returns is the one in force. Waits while another compute node writes the map.
     */
    private static ShardMap join(Shard home, List<Shard> shards, RolexKVConfig config) {
        long clusterAddress = home.headerAddress(ValueRegionDescriptor.CLUSTER_OFFSET);
        long waitingSince = System.nanoTime();
        long lastSeen = -1;
        while (true) {
            DoorbellBatch look = new DoorbellBatch();
            int wordRead = look.read(clusterAddress, 8);
            int mapRead = look.read(home.headerAddress(ValueRegionDescriptor.SHARD_MAP_EPOCH_OFFSET),
                    ValueRegionDescriptor.SHARD_MAP_BYTES);
            BatchResult seen = home.connection.execute(look);
            long word = seen.readLong(wordRead, 0);
            int state = ShardMap.state(word);
            if (word != lastSeen) {
                lastSeen = word;
                waitingSince = System.nanoTime();
            }
            if (state == ShardMap.NONE) {
                long initializing = ShardMap.clusterWord(ShardMap.INITIALIZING, 0, 0);
                DoorbellBatch claim = new DoorbellBatch();
                int cas = claim.compareAndSwap(clusterAddress, word, initializing);
                if (!home.connection.execute(claim).casSucceeded(cas)) {
                    continue;
                }
                ShardMap first = initialMap(shards, config);
                DoorbellBatch publish = new DoorbellBatch();
                publish.write(home.headerAddress(ValueRegionDescriptor.SHARD_MAP_EPOCH_OFFSET), first.encode());
                publish.compareAndSwap(clusterAddress, initializing, first.clusterWord(1));
                home.connection.execute(publish);
                return first;
            }
            if (state == ShardMap.INITIALIZING || state == ShardMap.MIGRATING) {
                if (System.nanoTime() - waitingSince > MAP_WAIT_NANOS) {
                    throw new IllegalStateException("the shard map on memory node " + home.memoryNodeId() + " at endpoint="
                            + home.endpoint + " has been " + ShardMap.stateName(state) + " for "
                            + java.util.concurrent.TimeUnit.NANOSECONDS.toSeconds(MAP_WAIT_NANOS) + " s: the compute node"
                            + " changing it may have died; cluster word=0x" + Long.toHexString(word));
                }
                java.util.concurrent.locks.LockSupport.parkNanos(java.util.concurrent.TimeUnit.MILLISECONDS.toNanos(5));
                continue;
            }
            ShardMap map;
            try {
                map = ShardMap.decode(seen.read(mapRead));
            } catch (IllegalStateException e) {
                throw new CorruptDataException("the shard map on memory node " + home.memoryNodeId() + " at endpoint="
                        + home.endpoint + " is damaged: " + e.getMessage());
            }
            checkMapMatches(map, shards, config);
            DoorbellBatch enter = new DoorbellBatch();
            int cas = enter.compareAndSwap(clusterAddress, word,
                    ShardMap.withComputeNodes(word, ShardMap.computeNodes(word) + 1));
            if (home.connection.execute(enter).casSucceeded(cas)) {
                return map;
            }
        }
    }

    /** The map a fresh cluster starts from: the config's ranges, fixed if it names them, else a provisional even split. */
    private static ShardMap initialMap(List<Shard> shards, RolexKVConfig config) {
        long[] firstKeys = new long[shards.size()];
        int[] nodeIds = new int[shards.size()];
        for (int i = 0; i < shards.size(); i++) {
            firstKeys[i] = config.memoryNodes().get(i).firstKey();
            nodeIds[i] = shards.get(i).memoryNodeId();
        }
        return new ShardMap(1, config.rangesFixed() ? ShardMap.FIXED : ShardMap.LEARNING, firstKeys, nodeIds);
    }

    private static void checkMapMatches(ShardMap map, List<Shard> shards, RolexKVConfig config) {
        java.util.Set<Integer> mapped = new java.util.TreeSet<>();
        for (int id : map.nodeIds()) {
            mapped.add(id);
        }
        java.util.Set<Integer> reached = new java.util.TreeSet<>();
        shards.forEach(shard -> reached.add(shard.memoryNodeId()));
        if (!mapped.equals(reached)) {
            throw new ConfigException("does not match the cluster's memory nodes", RolexKVConfig.MEMORY_NODES_PROP_NAME,
                    "found memory_node_ids=" + reached + " cluster memory_node_ids=" + mapped + " (" + map
                            + "): list every memory node of the cluster, and only those");
        }
        if (!config.rangesFixed()) {
            return;
        }
        for (int i = 0; i < shards.size(); i++) {
            if (map.state() != ShardMap.FIXED || map.nodeIds()[i] != shards.get(i).memoryNodeId()
                    || map.firstKeys()[i] != config.memoryNodes().get(i).firstKey()) {
                throw new ConfigException("conflicts with the store's ranges",
                        RolexKVConfig.MEMORY_NODES_PROP_NAME + "[" + i + "]." + RolexKVConfig.FIRST_KEY_PROP_NAME,
                        "found=" + config.memoryNodes() + " store=" + map + "; drop first_key to use the store's ranges");
            }
        }
    }

    /** Takes this compute node off the count of open compute nodes (best effort: an unreachable home keeps it). */
    private static void leave(Shard home) {
        if (!home.isConnected()) {
            // Closing does not wait for a node that is away; the count keeps this engine, as it keeps one that died.
            return;
        }
        long clusterAddress = home.headerAddress(ValueRegionDescriptor.CLUSTER_OFFSET);
        try {
            for (int attempt = 0; attempt < 1000; attempt++) {
                DoorbellBatch look = new DoorbellBatch();
                int wordRead = look.read(clusterAddress, 8);
                long word = home.connection.execute(look).readLong(wordRead, 0);
                if (ShardMap.computeNodes(word) == 0) {
                    return;
                }
                DoorbellBatch leave = new DoorbellBatch();
                int cas = leave.compareAndSwap(clusterAddress, word,
                        ShardMap.withComputeNodes(word, ShardMap.computeNodes(word) - 1));
                if (home.connection.execute(leave).casSucceeded(cas)) {
                    return;
                }
            }
        } catch (io.rolexkv.common.fabric.FabricException e) {
            // the count stays one too high: moves of ranges stop, which is the safe side
        }
    }

    /**
     * Opens the engine on a transport of its own, made from the config's {@code transport}; closing the engine closes
     * it. For {@code loopback}, whose memory nodes live in this process, use {@link #open(RolexKVConfig, FabricTransport)}
     * with the transport that serves them.
     */
    public static RolexKV open(RolexKVConfig config) {
        FabricTransport transport = FabricTransports.create(config.transport(), config.limits(),
                FabricTransports.secret(config.authSecretFile()));
        try {
            return new RolexKV(config, transport, true, RolexIndexKind.INSTANCE);
        } catch (RuntimeException e) {
            transport.close();
            throw e;
        }
    }

    /** Opens the engine on {@code transport}, which the caller keeps and closes (an embedded cluster's, say). */
    public static RolexKV open(RolexKVConfig config, FabricTransport transport) {
        return open(config, transport, RolexIndexKind.INSTANCE);
    }

    /**
     * Opens the engine on {@code transport} (which the caller keeps and closes) with an index of {@code kind} on every
     * memory node instead of ROLEX: same value store, same fabric, same costs accounting. The config's index fields
     * ({@code geometry}, {@code index_room_wait_ms}) are ROLEX's and mean what {@code kind} makes of them.
     */
    public static RolexKV open(RolexKVConfig config, FabricTransport transport, IndexKind kind) {
        if (kind == null) {
            throw new IllegalArgumentException("index kind is null");
        }
        if (!transport.name().equals(config.transport())) {
            throw new ConfigException("does not match the transport given", RolexKVConfig.TRANSPORT_PROP_NAME,
                    "found=\"" + config.transport() + "\" given=\"" + transport.name() + "\"");
        }
        return new RolexKV(config, transport, false, kind);
    }

    /** How to fix two endpoints that reach one memory node id: the usual cause is nodes started without an id. */
    static final String DISTINCT_NODES_HINT = "; list each memory node once and start each with its own --node-id"
            + " (or memory_node.memory_node_id in its config)";

    private static void checkDistinctMemoryNodes(List<Shard> shards) {
        Map<Integer, Shard> byId = new HashMap<>();
        for (Shard shard : shards) {
            Shard other = byId.putIfAbsent(shard.memoryNodeId(), shard);
            if (other != null) {
                throw new ConfigException("two endpoints reach the same memory node",
                        RolexKVConfig.MEMORY_NODES_PROP_NAME + "[" + shard.position + "]." + RolexKVConfig.ENDPOINT_PROP_NAME,
                        "found=\"" + shard.endpoint + "\" memory_node_id=" + shard.memoryNodeId() + " same as "
                                + RolexKVConfig.MEMORY_NODES_PROP_NAME + "[" + other.position + "] endpoint=\""
                                + other.endpoint + "\"" + DISTINCT_NODES_HINT);
            }
        }
    }

    public RolexKVConfig config() {
        return config;
    }

    // ------------------------------------------------------------------ reads

    @Override
    public Optional<byte[]> get(long key) {
        enter();
        try {
            Shard shard = shardFor(key);
            ValueRead read = valueReads.get();
            if (!readValue(shard, key, read)) {
                return Optional.empty();
            }
            MemorySegment block = read.takeBlock();
            // An inline word becomes the caller's array at once: no view of it to make and copy out again.
            return Optional.of(block == null ? shard.values.inlineValue(read.word.word()) : block.toArray(ValueLayout.JAVA_BYTE));
        } finally {
            exit();
        }
    }

    /** Zero-copy: the view is a read-only slice of the bytes the block READ returned. */
    @Override
    public Optional<MemorySegment> getView(long key) {
        enter();
        try {
            Shard shard = shardFor(key);
            ValueRead read = valueReads.get();
            return readValue(shard, key, read) ? Optional.of(read.view(shard.values)) : Optional.empty();
        } finally {
            exit();
        }
    }

    /**
     * What a single-key read found, one per thread and reused from call to call, so that a lookup allocates nothing of
     * its own: the word the index holds for the key, and the block's bytes when the word names a block.
     */
    private static final class ValueRead {
        final FoundWord word = new FoundWord();
        private MemorySegment block;

        /** The block's bytes (let go of here), or {@code null} when the word holds the value itself. */
        MemorySegment takeBlock() {
            MemorySegment taken = block;
            block = null;
            return taken;
        }

        /** The value found, as a read-only view. */
        MemorySegment view(ValueStore values) {
            MemorySegment taken = takeBlock();
            return taken != null ? taken : MemorySegment.ofArray(values.inlineValue(word.word())).asReadOnly();
        }
    }

    /**
     * Reads the value of {@code key} into {@code read}: the leaf's word, then (for a block) the block, re-read from the
     * leaf if the block is stale. False if the key is absent. For a word that holds its value (inline values) this is
     * the index lookup alone, which allocates nothing where the index and transport do not.
     */
    private boolean readValue(Shard shard, long key, ValueRead read) {
        read.block = null;
        for (int attempt = 0; ; attempt++) {
            if (!shard.index().find(key, read.word)) {
                return false;
            }
            long word = read.word.word();
            if (!shard.values.needsRead(word)) {
                return true;
            }
            read.block = readBlock(shard, key, word);
            if (read.block != null) {
                return true;
            }
            staleBlockReads.increment();
            checkStaleRetries(shard, key, word, attempt);
        }
    }

    /** The value in the block {@code word} names, read-only, or {@code null} if the block is no longer that one. */
    private MemorySegment readBlock(Shard shard, long key, long word) {
        ValueStore values = shard.values;
        DoorbellBatch batch = new DoorbellBatch();
        int verb = values.appendRead(batch, word);
        return values.valueOrNull(shard.connection.execute(batch).read(verb), key, word);
    }

    private static void checkStaleRetries(Shard shard, long key, long word, int attempt) {
        if (attempt >= MAX_STALE_BLOCK_RETRIES) {
            throw new CorruptDataException("the value block of key=" + KeyText.decimal(key) + " on memory node "
                    + shard.memoryNodeId() + " failed validation " + attempt + " times in a row: "
                    + ValueWord.toString(word) + " (corrupt block or values region)");
        }
    }

    /**
     * Per memory node, in parallel: the index lookups of all its keys ({@link LeanIndex#getAll}: one doorbell per
     * {@value LeanIndex#KEYS_PER_DOORBELL} keys), then every block READ in as few doorbells as the node's limits allow,
     * posted together. A key asked twice is read once.
     */
    @Override
    public List<Optional<byte[]>> batchGet(long[] keys) {
        enter();
        try {
            if (keys == null) {
                throw new IllegalArgumentException("keys is null");
            }
            // Helper threads fill disjoint positions; waiting for them orders their writes before the return.
            List<Optional<byte[]>> out = new ArrayList<>(Collections.nCopies(keys.length, Optional.empty()));
            Map<Shard, List<Integer>> perShard = splitByShard(keys);
            runPerShard(perShard, (shard, positions) -> batchGetOnShard(shard, keys, positions, out));
            return out;
        } finally {
            exit();
        }
    }

    private void batchGetOnShard(Shard shard, long[] keys, List<Integer> positions, List<Optional<byte[]>> out) {
        LinkedHashMap<Long, List<Integer>> unique = new LinkedHashMap<>();
        for (int position : positions) {
            unique.computeIfAbsent(keys[position], k -> new ArrayList<>(1)).add(position);
        }
        long[] uniqueKeys = new long[unique.size()];
        int next = 0;
        for (long key : unique.keySet()) {
            uniqueKeys[next++] = key;
        }
        OptionalLong[] words = lookup(shard, uniqueKeys);
        MemorySegment[] values = resolve(shard, uniqueKeys, words);
        for (int i = 0; i < uniqueKeys.length; i++) {
            for (int position : unique.get(uniqueKeys[i])) {
                out.set(position, values[i] == null ? Optional.empty() : Optional.of(values[i].toArray(ValueLayout.JAVA_BYTE)));
            }
        }
    }

    /** The words of {@code keys} on one node, empty where absent: one doorbell per {@value LeanIndex#KEYS_PER_DOORBELL} keys. */
    private static OptionalLong[] lookup(Shard shard, long[] keys) {
        return shard.index().getAll(keys);
    }

    /**
     * The values the words of {@code keys} hold or name, reading every block in packed doorbells posted together;
     * {@code null} where a key is absent. A block found stale is read again from its leaf.
     */
    private MemorySegment[] resolve(Shard shard, long[] keys, OptionalLong[] words) {
        ValueStore values = shard.values;
        MemorySegment[] out = new MemorySegment[keys.length];
        DoorbellPacker packer = new DoorbellPacker(config.limits());
        long[] positions = new long[keys.length];
        for (int i = 0; i < keys.length; i++) {
            if (words[i].isEmpty()) {
                continue;
            }
            long word = words[i].getAsLong();
            if (values.needsRead(word)) {
                DoorbellBatch batch = packer.batchFor(1, values.readBytes(word));
                positions[i] = ((long) (packer.size() - 1) << 32) | values.appendRead(batch, word);
            } else {
                out[i] = MemorySegment.ofArray(values.inlineValue(word)).asReadOnly();
            }
        }
        if (packer.size() > 0) {
            packer.execute(shard.connection);
        }
        for (int i = 0; i < keys.length; i++) {
            if (words[i].isPresent() && values.needsRead(words[i].getAsLong())) {
                out[i] = values.valueOrNull(packer.read(positions[i]), keys[i], words[i].getAsLong());
                if (out[i] == null) {
                    staleBlockReads.increment();
                    ValueRead read = valueReads.get();
                    out[i] = readValue(shard, keys[i], read) ? read.view(values) : null;
                }
            }
        }
        return out;
    }

    @Override
    public List<KeyValueBytes> scan(long fromKey, long toKey, int limit) {
        enter();
        try {
            if (limit < 0) {
                throw new IllegalArgumentException("limit=" + limit + " must be >= 0");
            }
            List<KeyValueBytes> out = new ArrayList<>(Math.min(limit, 1024));
            if (limit == 0 || Long.compareUnsigned(fromKey, toKey) > 0) {
                return out;
            }
            Routing ranges = routing;
            for (int s = ranges.rangeOf(fromKey); s < ranges.map().ranges() && out.size() < limit; s++) {
                Shard shard = ranges.shardOfRange()[s];
                long firstKey = ranges.map().firstKeys()[s];
                long lastKey = ranges.map().lastKey(s);
                long from = Long.compareUnsigned(fromKey, firstKey) > 0 ? fromKey : firstKey;
                long to = Long.compareUnsigned(toKey, lastKey) < 0 ? toKey : lastKey;
                if (Long.compareUnsigned(from, to) > 0) {
                    break;
                }
                List<KeyValue> pairs = shard.index().scan(from, to, limit - out.size());
                long[] keys = new long[pairs.size()];
                OptionalLong[] words = new OptionalLong[pairs.size()];
                for (int i = 0; i < pairs.size(); i++) {
                    keys[i] = pairs.get(i).key();
                    words[i] = OptionalLong.of(pairs.get(i).value());
                }
                MemorySegment[] values = resolve(shard, keys, words);
                for (int i = 0; i < keys.length; i++) {
                    if (values[i] != null) { // null: deleted while the scan ran
                        out.add(new KeyValueBytes(keys[i], values[i].toArray(ValueLayout.JAVA_BYTE)));
                    }
                }
                if (Long.compareUnsigned(to, toKey) >= 0) {
                    break;
                }
            }
            return out;
        } finally {
            exit();
        }
    }

    // ------------------------------------------------------------------ writes

    @Override
    public void put(long key, byte[] value) {
        enter();
        try {
            Shard shard = shardFor(key);
            shard.values.check(value);
            PreparedValue prepared = shard.values.prepare(key, value);
            WriteResult result;
            try {
                result = shard.index().put(key, prepared.word(), prepared);
            } catch (RuntimeException e) {
                prepared.failed(e);
                throw e;
            }
            prepared.linked();
            retireReplaced(shard, result);
            countWrite(shard, result);
        } finally {
            exit();
        }
    }

    /** Counts a key the write added or removed, and asks for new ranges when enough keys came in (see the class docs). */
    private void countWrite(Shard shard, WriteResult result) {
        boolean added = result.previous().isEmpty() && result.written().isPresent();
        boolean removed = result.previous().isPresent() && result.written().isEmpty();
        if (removed) {
            netInserts[shard.position].decrement();
        }
        if (!added) {
            return;
        }
        netInserts[shard.position].increment();
        long learnKeys = config.shardLearnKeys();
        int state = routing.map().state();
        if (learnKeys == 0 || (state != ShardMap.LEARNING && state != ShardMap.LEARNED)) {
            return;
        }
        long inserts = insertsSinceCheck.incrementAndGet();
        long checkEvery = state == ShardMap.LEARNING ? learnKeys : Math.max(1, learnKeys / 4);
        if (inserts >= checkEvery) {
            if (state == ShardMap.LEARNING || looksUneven()) {
                rebalanceWanted = true;
            } else {
                insertsSinceCheck.addAndGet(-inserts);
            }
        }
    }

    /** Whether one node holds more than {@value #REBALANCE_RATIO} times the mean, by this engine's counts. */
    private boolean looksUneven() {
        long total = 0;
        long most = 0;
        for (int i = 0; i < shards.size(); i++) {
            long records = Math.max(0, countedRecords[i] + netInserts[i].sum());
            total += records;
            most = Math.max(most, records);
        }
        return shards.size() > 1 && total >= config.shardLearnKeys() && most > REBALANCE_RATIO * total / shards.size();
    }

    private static void retireReplaced(Shard shard, WriteResult result) {
        if (result.previous().isPresent()
                && (result.written().isEmpty() || result.written().getAsLong() != result.previous().getAsLong())) {
            shard.values.retire(result.previous().getAsLong());
        }
    }

    /**
     * As if the pairs were put in order: a repeated key keeps its last value (only that one is written). Per memory
     * node, in parallel, per {@value LeanIndex#KEYS_PER_DOORBELL} keys: one locked write of the index
     * ({@link LeanIndex#updateAll}) whose first doorbell also carries the new blocks' WRITEs, so two doorbells link
     * them all (plus one per leaf that splits). Blocks too large to ride along go first, in packed doorbells of their own.
     */
    @Override
    public void batchPut(long[] keys, List<byte[]> values) {
        enter();
        try {
            if (keys == null || values == null) {
                throw new IllegalArgumentException("keys and values must not be null");
            }
            KeyValueChecks.checkBatch(keys, values);
            for (int i = 0; i < keys.length; i++) {
                shardFor(keys[i]).values.check(values.get(i));
            }
            // The last occurrence of each key wins; earlier ones are not written at all.
            LinkedHashMap<Long, Integer> last = new LinkedHashMap<>();
            for (int i = 0; i < keys.length; i++) {
                last.put(keys[i], i);
            }
            long[] uniqueKeys = new long[last.size()];
            int next = 0;
            for (long key : last.keySet()) {
                uniqueKeys[next++] = key;
            }
            Map<Shard, List<Integer>> perShard = splitByShard(uniqueKeys);
            runPerShard(perShard, (shard, positions) -> {
                long[] shardKeys = new long[positions.size()];
                byte[][] shardValues = new byte[positions.size()][];
                for (int i = 0; i < positions.size(); i++) {
                    shardKeys[i] = uniqueKeys[positions.get(i)];
                    shardValues[i] = values.get(last.get(shardKeys[i]));
                }
                batchPutOnShard(shard, shardKeys, shardValues);
            });
        } finally {
            exit();
        }
    }

    private void batchPutOnShard(Shard shard, long[] keys, byte[][] values) {
        int perCall = shard.index().maxAtomicBatchKeys();
        for (int start = 0; start < keys.length; start += perCall) {
            int end = Math.min(keys.length, start + perCall);
            batchPutChunk(shard, Arrays.copyOfRange(keys, start, end), Arrays.copyOfRange(values, start, end));
        }
    }

    /** One locked write of up to {@link WordIndex#maxAtomicBatchKeys()} keys: all linked, or (on failure) none. */
    private void batchPutChunk(Shard shard, long[] keys, byte[][] values) {
        PreparedValue[] prepared = new PreparedValue[keys.length];
        boolean linking = false;
        try {
            long blockBytes = 0;
            for (int i = 0; i < keys.length; i++) {
                prepared[i] = shard.values.prepare(keys[i], values[i]);
                blockBytes += prepared[i].writeBytes();
            }
            DoorbellExtras extras = null;
            if (blockBytes <= config.limits().maxBytesPerBatch() / 4 && keys.length <= config.limits().maxVerbsPerBatch() / 8) {
                extras = new DoorbellExtras() {
                    @Override
                    public void appendTo(DoorbellBatch batch) {
                        for (PreparedValue value : prepared) {
                            value.appendTo(batch);
                        }
                    }

                    @Override
                    public void completed(BatchResult result) {
                        for (PreparedValue value : prepared) {
                            value.completed(result);
                        }
                    }
                };
            } else {
                DoorbellPacker packer = new DoorbellPacker(config.limits());
                int[] batchOf = new int[keys.length];
                for (int i = 0; i < keys.length; i++) {
                    if (prepared[i].hasBlock()) {
                        prepared[i].appendTo(packer.batchFor(2, prepared[i].writeBytes()));
                        batchOf[i] = packer.size() - 1;
                    }
                }
                packer.execute(shard.connection);
                for (int i = 0; i < keys.length; i++) {
                    if (prepared[i].hasBlock()) {
                        prepared[i].completed(packer.result(batchOf[i]));
                    }
                }
            }
            WordUpdate[] updates = new WordUpdate[keys.length];
            for (int i = 0; i < keys.length; i++) {
                OptionalLong word = OptionalLong.of(prepared[i].word());
                updates[i] = (current, finalDoorbell) -> word;
            }
            linking = true;
            WriteResult[] results = shard.index().updateAll(keys, updates, extras);
            for (int i = 0; i < keys.length; i++) {
                prepared[i].linked();
                retireReplaced(shard, results[i]);
                countWrite(shard, results[i]);
            }
        } catch (RuntimeException e) {
            for (PreparedValue value : prepared) {
                if (value != null) {
                    if (linking) {
                        value.failed(e); // the chunk is all or nothing: only a give-up says nothing was linked
                    } else {
                        value.unlinked();
                    }
                }
            }
            throw e;
        }
    }

    @Override
    public boolean delete(long key) {
        enter();
        try {
            Shard shard = shardFor(key);
            OptionalLong previous = shard.index().remove(key);
            previous.ifPresent(shard.values::retire);
            if (previous.isPresent()) {
                netInserts[shard.position].decrement();
            }
            return previous.isPresent();
        } finally {
            exit();
        }
    }

    /**
     * Under the key's lock: the old value (its block READ in a doorbell of its own), the function, then the new block's
     * WRITE in the doorbell that writes the leaf and unlocks. Three doorbells; never a get followed by a racing put.
     */
    @Override
    public Optional<byte[]> update(long key, UnaryOperator<Optional<byte[]>> function) {
        enter();
        try {
            if (function == null) {
                throw new IllegalArgumentException("function is null");
            }
            Shard shard = shardFor(key);
            PreparedValue[] pending = new PreparedValue[1];
            byte[][] written = new byte[1][];
            WriteResult result;
            try {
                result = shard.index().update(key, new WordUpdate() {
                    @Override
                    public OptionalLong apply(OptionalLong current, DoorbellBatch finalDoorbell) {
                        if (pending[0] != null) {
                            pending[0].unlinked(); // a retried attempt: the earlier block was never linked
                            pending[0] = null;
                        }
                        Optional<byte[]> currentValue = current.isPresent()
                                ? Optional.of(readLocked(shard, key, current.getAsLong())) : Optional.empty();
                        Optional<byte[]> next = function.apply(currentValue);
                        if (next == null) {
                            throw new IllegalArgumentException("update function returned null for key=" + KeyText.decimal(key)
                                    + "; return Optional.empty() to delete the key");
                        }
                        if (next.isEmpty()) {
                            written[0] = null;
                            return OptionalLong.empty();
                        }
                        shard.values.check(next.get());
                        written[0] = next.get().clone();
                        PreparedValue prepared = shard.values.prepare(key, written[0]);
                        pending[0] = prepared;
                        prepared.appendTo(finalDoorbell);
                        return OptionalLong.of(prepared.word());
                    }

                    @Override
                    public void finalDoorbellCompleted(BatchResult finalDoorbell) {
                        if (pending[0] != null) {
                            pending[0].completed(finalDoorbell);
                        }
                    }
                });
            } catch (RuntimeException e) {
                if (pending[0] != null) {
                    pending[0].failed(e);
                }
                throw e;
            }
            if (pending[0] != null) {
                pending[0].linked();
            }
            retireReplaced(shard, result);
            countWrite(shard, result);
            return written[0] == null ? Optional.empty() : Optional.of(written[0].clone());
        } finally {
            exit();
        }
    }

    /** The value of a word read under its key's lock: its block cannot change, so a stale block is corruption. */
    private static byte[] readLocked(Shard shard, long key, long word) {
        ValueStore values = shard.values;
        if (!values.needsRead(word)) {
            return values.inlineValue(word);
        }
        DoorbellBatch batch = new DoorbellBatch();
        int verb = values.appendRead(batch, word);
        MemorySegment value = values.valueOrNull(shard.connection.execute(batch).read(verb), key, word);
        if (value == null) {
            throw new CorruptDataException("the value block of key=" + KeyText.decimal(key) + " on memory node "
                    + shard.memoryNodeId() + " fails validation while the key is locked: " + ValueWord.toString(word)
                    + " (corrupt block or values region)");
        }
        return value.toArray(ValueLayout.JAVA_BYTE);
    }

    // ------------------------------------------------------------------ whole-store operations

    /**
     * Per memory node, in parallel: claims one run of values region for all its blocks (one FAA), lays the blocks out
     * back to back and WRITEs them in {@value #BULK_WRITE_BYTES}-byte pieces, then bulk loads the node's index with
     * the handles ({@link LeanIndex#bulkLoad}). The blocks the old index linked are retired first.
     */
    @Override
    public void bulkLoad(long[] sortedKeys, List<byte[]> values) {
        enterAlone();
        try {
            if (sortedKeys == null || values == null) {
                throw new IllegalArgumentException("keys and values must not be null");
            }
            KeyValueChecks.checkBatch(sortedKeys, values);
            KeyValueChecks.checkStrictlyIncreasing(sortedKeys);
            for (int i = 0; i < sortedKeys.length; i++) {
                shardFor(sortedKeys[i]).values.check(values.get(i));
            }
            Routing before = routing;
            ShardMap map = before.map();
            long[] chosen = map.state() == ShardMap.FIXED ? null : ShardMap.quantiles(sortedKeys, map.ranges());
            if (chosen != null) {
                replaceMap(map.withRanges(chosen, ShardMap.LEARNED));
            }
            Routing ranges = routing;
            Map<Shard, List<Integer>> perShard = new LinkedHashMap<>();
            for (Shard shard : shards) {
                perShard.put(shard, new ArrayList<>());
            }
            for (int i = 0; i < sortedKeys.length; i++) {
                perShard.get(shardFor(sortedKeys[i])).add(i);
            }
            runPerShard(perShard, (shard, positions) -> {
                long[] keys = new long[positions.size()];
                byte[][] shardValues = new byte[positions.size()][];
                for (int i = 0; i < positions.size(); i++) {
                    keys[i] = sortedKeys[positions.get(i)];
                    shardValues[i] = values.get(positions.get(i));
                }
                shard.bulkLoad(before.rangeOf(shard), ranges.rangeOf(shard), keys, layOutBlocks(shard, keys, shardValues));
            });
            recount(ranges, List.of());
            for (int i = 0; i < ranges.map().ranges(); i++) {
                countedRecords[ranges.shardOfRange()[i].position] = perShard.get(ranges.shardOfRange()[i]).size();
            }
        } finally {
            exitAlone();
        }
    }

    /** Whole-store operations ({@link #bulkLoad}, {@link #clear}) hold the gate alone: nothing else of this engine runs. */
    private void enterAlone() {
        gate.writeLock().lock();
        if (closed) {
            gate.writeLock().unlock();
            throw new IllegalStateException("engine " + RolexKVConfig.ENGINE_TYPE + " is closed");
        }
    }

    private void exitAlone() {
        gate.writeLock().unlock();
    }

    /**
     * Puts {@code next} in force on the home node for a whole-store operation: the cluster word goes to migrating (so
     * no compute node joins with the old map meanwhile), the map is written, and the word names the new map, its count
     * of open compute nodes kept. Other open engines keep routing by the map they read; as before, a bulk load or clear
     * is for a store nobody else uses meanwhile, and other engines must reopen it afterwards.
     */
    private void replaceMap(ShardMap next) {
        long clusterAddress = home.headerAddress(ValueRegionDescriptor.CLUSTER_OFFSET);
        while (true) {
            DoorbellBatch look = new DoorbellBatch();
            int wordRead = look.read(clusterAddress, 8);
            long word = home.connection.execute(look).readLong(wordRead, 0);
            int state = ShardMap.state(word);
            if (state == ShardMap.MIGRATING || state == ShardMap.INITIALIZING) {
                throw new IllegalStateException("the shard map on memory node " + home.memoryNodeId() + " is "
                        + ShardMap.stateName(state) + " by another compute node; a whole-store operation needs the store alone");
            }
            long migrating = ShardMap.withState(word, ShardMap.MIGRATING);
            DoorbellBatch claim = new DoorbellBatch();
            int cas = claim.compareAndSwap(clusterAddress, word, migrating);
            if (!home.connection.execute(claim).casSucceeded(cas)) {
                continue;
            }
            DoorbellBatch publish = new DoorbellBatch();
            publish.write(home.headerAddress(ValueRegionDescriptor.SHARD_MAP_EPOCH_OFFSET), next.encode());
            publish.compareAndSwap(clusterAddress, migrating, next.clusterWord(ShardMap.computeNodes(word)));
            home.connection.execute(publish);
            routing = new Routing(next, routing.shardOfRange());
            return;
        }
    }

    /** Writes the blocks of a bulk load in one claimed run and returns every key's word. */
    private long[] layOutBlocks(Shard shard, long[] keys, byte[][] values) {
        ValueStore store = shard.values;
        long[] words = new long[keys.length];
        long runBytes = 0;
        for (int i = 0; i < keys.length; i++) {
            if (store.allocator() != null && values[i].length > ValueWord.MAX_INLINE_BYTES) {
                runBytes += SizeClasses.classOfValue(values[i].length);
            } else {
                words[i] = store.prepare(keys[i], values[i]).word();
            }
        }
        if (runBytes == 0) {
            return words;
        }
        ValueAllocator allocator = store.allocator();
        long start = allocator.claimRun(runBytes, shard.connection);
        BulkWriter writer = new BulkWriter(shard, allocator, start);
        long offset = start;
        for (int i = 0; i < keys.length; i++) {
            if (values[i].length > ValueWord.MAX_INLINE_BYTES) {
                words[i] = ValueWord.ofHandle(offset, values[i].length, 0);
                writer.put(offset, ValueBlockDescriptor.encode(keys[i], 0, values[i]));
                offset += SizeClasses.classOfValue(values[i].length);
            }
        }
        writer.flush();
        return words;
    }

    /** Streams a run of blocks into the values region as large WRITEs, one doorbell each. */
    private static final class BulkWriter {
        private final Shard shard;
        private final ValueAllocator allocator;
        private final byte[] piece = new byte[BULK_WRITE_BYTES];
        private long pieceStart;
        private int pieceUsed;

        BulkWriter(Shard shard, ValueAllocator allocator, long runStart) {
            this.shard = shard;
            this.allocator = allocator;
            this.pieceStart = runStart;
        }

        /** Places {@code block} at region offset {@code offset}, which only grows from call to call. */
        void put(long offset, byte[] block) {
            int written = 0;
            while (written < block.length) {
                long at = offset + written;
                if (at - pieceStart >= piece.length) {
                    flush();
                    pieceStart = at;
                }
                int into = (int) (at - pieceStart);
                int length = Math.min(block.length - written, piece.length - into);
                System.arraycopy(block, written, piece, into, length);
                written += length;
                pieceUsed = Math.max(pieceUsed, into + length);
            }
        }

        void flush() {
            if (pieceUsed == 0) {
                return;
            }
            DoorbellBatch batch = new DoorbellBatch();
            batch.write(allocator.address(pieceStart), Arrays.copyOf(piece, pieceUsed));
            shard.connection.execute(batch);
            pieceStart += pieceUsed;
            Arrays.fill(piece, 0, pieceUsed, (byte) 0);
            pieceUsed = 0;
        }
    }

    /** Empties every node; ranges that follow the data go back to learning from the keys put next. */
    @Override
    public void clear() {
        enterAlone();
        try {
            Routing ranges = routing;
            Map<Shard, List<Integer>> all = new LinkedHashMap<>();
            // Each node is emptied of the keys of its range; ranges stay as they are until keys come in again.
            for (Shard shard : shards) {
                all.put(shard, List.of());
            }
            runPerShard(all, (shard, ignored) -> shard.clear(ranges.rangeOf(shard)));
            ShardMap map = ranges.map();
            if (map.state() != ShardMap.FIXED) {
                replaceMap(map.withRanges(map.firstKeys(), ShardMap.LEARNING));
            }
            recount(routing, List.of());
            insertsSinceCheck.set(0);
        } finally {
            exitAlone();
        }
    }

    @Override
    public int maxValueBytes() {
        return config.maxValueBytes();
    }

    /**
     * Waits for the operations in flight, hands the value space this engine claimed back to each memory node (the
     * unused rest of its chunks, its free blocks, and its retired blocks, which whoever takes them keeps for a whole
     * grace period more: {@link ValueAllocator#returnAll}), and closes the connections. Space on a node that cannot be
     * reached stays claimed. Must not be called from inside one of this engine's operations (an update's function).
     */
    @Override
    public void close() {
        gate.writeLock().lock();
        try {
            if (closed) {
                return;
            }
            closed = true;
        } finally {
            gate.writeLock().unlock();
        }
        for (Shard shard : shards) {
            shard.returnValueSpace();
        }
        leave(home);
        for (Shard shard : shards) {
            shard.connection.close();
        }
        helpers.close();
        if (ownsTransport) {
            transport.close();
        }
    }

    // ------------------------------------------------------------------ costs and state

    /** Every doorbell this engine posted, on every memory node. */
    public FabricCounters counters() {
        return totals;
    }

    /**
     * The doorbells posted for the calling thread's calls of this engine, helper threads of its batch calls included.
     * Snapshot around an operation to get its cost; only the calling thread should read them for a meaningful figure.
     */
    public FabricCounters threadCounters() {
        return threadCosts.current();
    }

    /**
     * Sums a figure each memory node keeps in its own memory (its retrainer's count, say), read by {@code figure} on this
     * engine's connection to each node. So the read goes through the reconnect layer like every operation: a node that is
     * away is waited for, and one that is down or came back without its data fails with
     * {@link io.rolexkv.common.fabric.MemoryNodeDownException}, where a connection of the reader's own would read
     * whatever answers at the endpoint. Its doorbells count in {@link #counters()} and the calling thread's costs.
     */
    public long sumOverMemoryNodes(ToLongFunction<FabricConnection> figure) {
        enter();
        try {
            long total = 0;
            for (Shard shard : shards) {
                total += figure.applyAsLong(shard.connection);
            }
            return total;
        } finally {
            exit();
        }
    }

    /** Bytes of cached models, leaf tables and synonym tables across memory nodes (the index's cache footprint). */
    public long modelCacheBytes() {
        long bytes = 0;
        for (Shard shard : shards) {
            bytes += shard.index().cachedBytes();
        }
        return bytes;
    }

    /**
     * The indexes' own counters, summed over memory nodes, in ROLEX's terms: another index kind fills the fields that
     * mean the same for it and leaves the rest zero ({@link IndexKind#counters}).
     */
    public IndexCounters.Snapshot indexCounters() {
        IndexCounters.Snapshot sum = IndexCounters.Snapshot.ZERO;
        for (Shard shard : shards) {
            sum = sum.plus(shard.indexCounters());
        }
        return sum;
    }

    /** Value blocks found reclaimed between a reader's leaf READ and its block READ (and so read again). */
    public long staleBlockReads() {
        return staleBlockReads.sum();
    }

    /** How this engine's allocators use the values regions, summed over memory nodes (zero for {@code inline8}). */
    public ValueAllocator.ValueSpace valueSpace() {
        ValueAllocator.ValueSpace sum = ValueAllocator.ValueSpace.ZERO;
        for (Shard shard : shards) {
            if (shard.values.allocator() != null) {
                sum = sum.plus(shard.values.allocator().space());
            }
        }
        return sum;
    }

    public ValueFormat valueFormat() {
        return config.valueFormat();
    }

    /** The memory nodes in key order, with the ranges they own now (the cluster's shard map, not the config's). */
    public List<RolexKVConfig.MemoryNodeRange> memoryNodes() {
        Routing current = routing;
        List<RolexKVConfig.MemoryNodeRange> ranges = new ArrayList<>(current.map().ranges());
        for (int i = 0; i < current.map().ranges(); i++) {
            ranges.add(current.range(i));
        }
        return ranges;
    }

    /** The shard map's state in words ({@code learning}, {@code learned}, {@code fixed}) and its epoch, for reports. */
    public String shardMapSummary() {
        ShardMap map = routing.map();
        return "state=" + ShardMap.stateName(map.state()) + " epoch=" + map.epoch() + " first_keys="
                + ShardMap.describe(map.firstKeys());
    }

    /** Times this engine chose the ranges again, and the keys it moved between memory nodes doing so. */
    public long rebalances() {
        return rebalances.sum();
    }

    public long keysMoved() {
        return keysMoved.sum();
    }

    /**
     * One memory node's share of the store and of this engine's traffic.
     *
     * @param endpoint     where the engine reaches it
     * @param memoryNodeId its id
     * @param firstKey     the first key of its range
     * @param lastKey      the last key of its range
     * @param records      keys in its range, counted by a scan (so this costs a walk of the store)
     * @param fabric       every doorbell this engine posted to it, the scan's included
     */
    public record MemoryNodeFigures(String endpoint, int memoryNodeId, long firstKey, long lastKey, long records,
                                    FabricCounters.Snapshot fabric) {
    }

    /**
     * Per memory node, in key order: its range, its records (a scan of the whole store, unless {@code countRecords} is
     * false: then 0) and this engine's doorbells to it, snapshot before that scan.
     */
    public List<MemoryNodeFigures> memoryNodeFigures(boolean countRecords) {
        enter();
        try {
            Routing current = routing;
            List<MemoryNodeFigures> figures = new ArrayList<>();
            for (int i = 0; i < current.map().ranges(); i++) {
                Shard shard = current.shardOfRange()[i];
                FabricCounters.Snapshot fabric = shard.connection.counters().snapshot();
                long records = countRecords ? countRecords(shard, current.map().firstKeys()[i], current.map().lastKey(i)) : 0;
                figures.add(new MemoryNodeFigures(shard.endpoint, shard.memoryNodeId(), current.map().firstKeys()[i],
                        current.map().lastKey(i), records, fabric));
            }
            return figures;
        } finally {
            exit();
        }
    }

    private static long countRecords(Shard shard, long firstKey, long lastKey) {
        long records = 0;
        long from = firstKey;
        while (true) {
            List<KeyValue> page = shard.index().scan(from, lastKey, Shard.RETIRE_PAGE_KEYS);
            records += page.size();
            if (page.size() < Shard.RETIRE_PAGE_KEYS || page.getLast().key() == lastKey) {
                return records;
            }
            from = page.getLast().key() + 1;
        }
    }

    /** The memory node id (as in global addresses) of the node that owns {@code key}. */
    public int memoryNodeOf(long key) {
        return shardFor(key).memoryNodeId();
    }

    // ------------------------------------------------------------------ routing and fan-out

    private Shard shardFor(long key) {
        Routing current = routing;
        return current.shardOfRange()[current.rangeOf(key)];
    }

    private Map<Shard, List<Integer>> splitByShard(long[] keys) {
        Map<Shard, List<Integer>> perShard = new LinkedHashMap<>();
        for (int i = 0; i < keys.length; i++) {
            perShard.computeIfAbsent(shardFor(keys[i]), s -> new ArrayList<>()).add(i);
        }
        return perShard;
    }

    @FunctionalInterface
    private interface ShardWork {
        void run(Shard shard, List<Integer> positions);
    }

    /**
     * Runs {@code work} for every shard of {@code perShard}: in this thread for one, else one virtual thread per shard,
     * each recording its doorbells on the caller's counters. Waits for all; rethrows the first failure.
     */
    private void runPerShard(Map<Shard, List<Integer>> perShard, ShardWork work) {
        if (perShard.size() == 1) {
            Map.Entry<Shard, List<Integer>> only = perShard.entrySet().iterator().next();
            work.run(only.getKey(), only.getValue());
            return;
        }
        FabricCounters caller = threadCosts.current();
        List<Future<Object>> running = new ArrayList<>(perShard.size());
        for (Map.Entry<Shard, List<Integer>> entry : perShard.entrySet()) {
            running.add(helpers.submit(() -> threadCosts.callRecordingOn(caller, () -> {
                work.run(entry.getKey(), entry.getValue());
                return null;
            })));
        }
        RuntimeException failure = null;
        for (Future<Object> future : running) {
            try {
                future.get();
            } catch (ExecutionException e) {
                if (failure == null) {
                    failure = e.getCause() instanceof RuntimeException runtime ? runtime
                            : new IllegalStateException("a memory node's part of a batch call failed", e.getCause());
                }
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new IllegalStateException("interrupted while waiting for memory nodes", e);
            }
        }
        if (failure != null) {
            throw failure;
        }
    }

    /** Every public operation runs between this and {@link #exit()}: {@link #close} waits for those in flight. */
    private void enter() {
        gate.readLock().lock();
        if (closed) {
            gate.readLock().unlock();
            throw new IllegalStateException("engine " + RolexKVConfig.ENGINE_TYPE + " is closed");
        }
    }

    private void exit() {
        gate.readLock().unlock();
        if (rebalanceWanted && gate.getReadHoldCount() == 0) {
            rebalanceIfAlone();
        }
    }

    private static final System.Logger LOG = System.getLogger(RolexKV.class.getName());

    /**
     * Chooses the ranges again from the keys the nodes hold and moves the keys that change node, with this engine's
     * operations paused, if this is the only compute node open (see the class docs). A failure is logged and leaves
     * the old ranges in force; the operation that asked has already completed.
     */
    private void rebalanceIfAlone() {
        if (!rebalancing.tryLock()) {
            return;
        }
        try {
            if (!rebalanceWanted) {
                return;
            }
            rebalanceWanted = false;
            insertsSinceCheck.set(0);
            gate.writeLock().lock();
            try {
                if (!closed) {
                    rebalance();
                }
            } finally {
                gate.writeLock().unlock();
            }
        } catch (RuntimeException e) {
            LOG.log(System.Logger.Level.WARNING, "choosing new ranges failed; the old ones stay: " + e, e);
        } finally {
            rebalancing.unlock();
        }
    }

    /** Under the gate's write lock: claim the map (alone), count, choose, copy, switch, remove the old copies. */
    private void rebalance() {
        Routing old = routing;
        ShardMap map = old.map();
        long clusterAddress = home.headerAddress(ValueRegionDescriptor.CLUSTER_OFFSET);
        long alone = map.clusterWord(1);
        long migrating = ShardMap.withState(alone, ShardMap.MIGRATING);
        DoorbellBatch claim = new DoorbellBatch();
        int cas = claim.compareAndSwap(clusterAddress, alone, migrating);
        if (!home.connection.execute(claim).casSucceeded(cas)) {
            return; // another compute node is open (or the map changed): ranges stay
        }
        boolean switched = false;
        try {
            int ranges = map.ranges();
            List<List<KeyValue>> held = new ArrayList<>(ranges);
            for (int i = 0; i < ranges; i++) {
                held.add(pairsInRange(old, i));
            }
            int total = held.stream().mapToInt(List::size).sum();
            long[] sorted = new long[total];
            int next = 0;
            for (List<KeyValue> pairs : held) {
                for (KeyValue pair : pairs) {
                    sorted[next++] = pair.key();
                }
            }
            long[] firstKeys = ShardMap.quantiles(sorted, ranges);
            long most = held.stream().mapToLong(List::size).max().orElse(0);
            boolean uneven = most > REBALANCE_RATIO * total / ranges;
            if (firstKeys == null || (map.state() == ShardMap.LEARNED && !uneven)) {
                recount(old, held);
                return;
            }
            ShardMap chosen = map.withRanges(firstKeys, ShardMap.LEARNED);
            Routing target = new Routing(chosen, old.shardOfRange());
            // Copy every key that changes node to its new node; the old map stays in force until the switch.
            List<List<KeyValue>> leaving = new ArrayList<>(ranges);
            for (int i = 0; i < ranges; i++) {
                Map<Integer, List<KeyValue>> byTarget = new LinkedHashMap<>();
                List<KeyValue> gone = new ArrayList<>();
                for (KeyValue pair : held.get(i)) {
                    int to = target.rangeOf(pair.key());
                    if (to != i) {
                        byTarget.computeIfAbsent(to, k -> new ArrayList<>()).add(pair);
                        gone.add(pair);
                    }
                }
                leaving.add(gone);
                Shard from = old.shardOfRange()[i];
                for (Map.Entry<Integer, List<KeyValue>> move : byTarget.entrySet()) {
                    copy(from, target.shardOfRange()[move.getKey()], move.getValue());
                }
            }
            DoorbellBatch publish = new DoorbellBatch();
            publish.write(home.headerAddress(ValueRegionDescriptor.SHARD_MAP_EPOCH_OFFSET), chosen.encode());
            int switchCas = publish.compareAndSwap(clusterAddress, migrating, chosen.clusterWord(1));
            if (!home.connection.execute(publish).casSucceeded(switchCas)) {
                throw new IllegalStateException("the cluster word changed while this engine held it migrating");
            }
            switched = true;
            routing = target;
            long moved = 0;
            for (int i = 0; i < ranges; i++) {
                Shard from = old.shardOfRange()[i];
                for (KeyValue pair : leaving.get(i)) {
                    from.index().remove(pair.key()).ifPresent(from.values::retire);
                    moved++;
                }
            }
            rebalances.increment();
            keysMoved.add(moved);
            List<List<KeyValue>> now = new ArrayList<>(ranges);
            for (int i = 0; i < ranges; i++) {
                now.add(new ArrayList<>());
            }
            for (List<KeyValue> pairs : held) {
                for (KeyValue pair : pairs) {
                    now.get(target.rangeOf(pair.key())).add(pair);
                }
            }
            recount(target, now);
        } finally {
            if (!switched) {
                DoorbellBatch restore = new DoorbellBatch();
                restore.compareAndSwap(clusterAddress, migrating, alone);
                home.connection.execute(restore);
            }
        }
    }

    /** Sets this engine's record counts to the pairs each range of {@code ranges} holds, and counts writes afresh. */
    private void recount(Routing ranges, List<List<KeyValue>> held) {
        Arrays.fill(countedRecords, 0);
        for (int i = 0; i < held.size(); i++) {
            countedRecords[ranges.shardOfRange()[i].position] = held.get(i).size();
        }
        for (LongAdder adder : netInserts) {
            adder.reset();
        }
    }

    /**
     * The pairs of range {@code i} on its node, in key order; pairs the node holds outside the range (copies left by a
     * move that did not finish) are removed on the way, their blocks retired.
     */
    private static List<KeyValue> pairsInRange(Routing routing, int i) {
        Shard shard = routing.shardOfRange()[i];
        long firstKey = routing.map().firstKeys()[i];
        long lastKey = routing.map().lastKey(i);
        List<KeyValue> inRange = new ArrayList<>();
        List<KeyValue> stray = new ArrayList<>();
        // The whole key space, to find stray copies a move that did not finish left outside the range.
        shard.forEachPair(0, -1L, pair -> {
            boolean inside = Long.compareUnsigned(pair.key(), firstKey) >= 0 && Long.compareUnsigned(pair.key(), lastKey) <= 0;
            (inside ? inRange : stray).add(pair);
        });
        for (KeyValue pair : stray) {
            shard.index().remove(pair.key()).ifPresent(shard.values::retire);
        }
        return inRange;
    }

    /** Writes {@code pairs} of {@code from} to {@code to}: values read from {@code from}, put as new blocks on {@code to}. */
    private void copy(Shard from, Shard to, List<KeyValue> pairs) {
        int perCall = 1024;
        for (int start = 0; start < pairs.size(); start += perCall) {
            int end = Math.min(pairs.size(), start + perCall);
            long[] keys = new long[end - start];
            OptionalLong[] words = new OptionalLong[end - start];
            for (int i = start; i < end; i++) {
                keys[i - start] = pairs.get(i).key();
                words[i - start] = OptionalLong.of(pairs.get(i).value());
            }
            MemorySegment[] values = resolve(from, keys, words);
            byte[][] bytes = new byte[keys.length][];
            for (int i = 0; i < keys.length; i++) {
                if (values[i] == null) {
                    throw new IllegalStateException("key=" + KeyText.decimal(keys[i]) + " vanished from memory node "
                            + from.memoryNodeId() + " while this engine alone was moving it");
                }
                bytes[i] = values[i].toArray(ValueLayout.JAVA_BYTE);
            }
            batchPutOnShard(to, keys, bytes);
        }
    }

    @Override
    public String toString() {
        return "RolexKV[index=" + kind.name() + " " + config.summary() + "]";
    }
}
