package io.rolexkv.computenode.engine;

import io.rolexkv.common.config.ConfigException;
import io.rolexkv.common.fabric.BatchResult;
import io.rolexkv.common.fabric.DoorbellBatch;
import io.rolexkv.common.fabric.FabricConnection;
import io.rolexkv.common.fabric.FabricException;
import io.rolexkv.common.fabric.FabricCounters;
import io.rolexkv.common.fabric.FabricTransport;
import io.rolexkv.common.fabric.GlobalAddress;
import io.rolexkv.common.fabric.ReconnectingConnection;
import io.rolexkv.common.fabric.RegionInfo;
import io.rolexkv.computenode.value.BlockValueStore;
import io.rolexkv.computenode.value.Inline8ValueStore;
import io.rolexkv.computenode.value.ValueAllocator;
import io.rolexkv.computenode.value.ValueFormat;
import io.rolexkv.computenode.value.ValueRegionDescriptor;
import io.rolexkv.computenode.value.ValueStore;
import io.rolexkv.rolex.index.IndexCounters;
import io.rolexkv.rolex.index.KeyValue;
import io.rolexkv.rolex.index.WordIndex;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.LockSupport;

/**
 * One memory node as the engine uses it: the connection, the index over the keys the cluster's {@link ShardMap} gives
 * the node (of the engine's {@link IndexKind}), and the value store for the blocks of those keys. Opening a shard
 * agrees on the store's value format with the other compute nodes (CAS on the values region's format word) and builds
 * the node's index if it has none yet, electing one builder among compute nodes that start together.
 */
final class Shard {
    /** How long a compute node waits for another one to build a missing index before it takes the job over. */
    static final long INDEX_BUILD_WAIT_NANOS = TimeUnit.SECONDS.toNanos(30);
    /** Keys per scan page when the engine walks a whole index (to retire every block before a rebuild). */
    static final int RETIRE_PAGE_KEYS = 4096;

    final int position;
    final String endpoint;
    final EngineConnection connection;
    /** The connection under {@link #connection}, which replaces a broken one (or marks the node down). */
    private final ReconnectingConnection link;
    final ValueStore values;
    private final RolexKVConfig config;
    private final IndexKind kind;
    private final long readyProbeAddress;
    private final long valuesHeaderAddress;
    private volatile WordIndex index;

    private Shard(int position, String endpoint, ReconnectingConnection link, EngineConnection connection,
                  ValueStore values, RolexKVConfig config, IndexKind kind, long readyProbeAddress,
                  long valuesHeaderAddress) {
        this.position = position;
        this.endpoint = endpoint;
        this.link = link;
        this.connection = connection;
        this.values = values;
        this.config = config;
        this.kind = kind;
        this.readyProbeAddress = readyProbeAddress;
        this.valuesHeaderAddress = valuesHeaderAddress;
    }

    /**
     * Connects to memory node {@code position} of the config and checks it has the regions the engine needs; the index
     * is opened by {@link #openIndex} once the engine knows the node's keys.
     */
    static Shard connect(int position, RolexKVConfig config, IndexKind kind, FabricTransport transport, FabricCounters totals,
                         ThreadCosts threadCosts) {
        RolexKVConfig.MemoryNodeRange range = config.memoryNodes().get(position);
        // The engine's one way to reach a node: a connection that outlives the node's restarts (or marks it down).
        ReconnectingConnection raw = new ReconnectingConnection(transport, range.endpoint(), totals, config.reconnectPolicy());
        try {
            EngineConnection connection = new EngineConnection(raw, threadCosts);
            int node = connection.memoryNodeId();
            List<String> needed = new ArrayList<>(kind.regionNames());
            needed.add(ValueRegionDescriptor.REGION_NAME);
            for (String name : needed) {
                if (connection.regions().stream().noneMatch(region -> region.name().equals(name))) {
                    throw new IllegalStateException("memory node " + node + " at endpoint=" + range.endpoint()
                            + " has no region named " + name + "; the engine with index=" + kind.name() + " needs "
                            + needed + " and it has " + connection.regions().stream().map(RegionInfo::name).toList());
                }
            }
            RegionInfo valuesRegion = connection.region(ValueRegionDescriptor.REGION_NAME);
            long valuesHeader = GlobalAddress.of(node, valuesRegion.id(), 0);
            ValueStore values;
            if (config.valueFormat() == ValueFormat.INLINE8) {
                values = new Inline8ValueStore();
            } else {
                ValueAllocator allocator = new ValueAllocator(node, valuesRegion, config.valueChunkBytes(),
                        TimeUnit.MILLISECONDS.toNanos(config.reuseGraceMillis()), System::nanoTime);
                values = new BlockValueStore(config.maxValueBytes(), allocator, connection);
            }
            return new Shard(position, range.endpoint(), raw, connection, values, config, kind,
                    kind.readyProbeAddress(connection), valuesHeader);
        } catch (RuntimeException e) {
            raw.close();
            throw e;
        }
    }

    /**
     * Agrees on the value format and opens (or builds, for {@code range}) the node's index of the engine's kind.
     *
     * @throws ConfigException if the store holds values in another {@value ValueFormat#PROP_NAME}
     */
    void openIndex(RolexKVConfig.MemoryNodeRange range) {
        boolean indexReady = hello(config.valueFormat());
        index = indexReady ? kind.open(connection, config, range) : buildOrAwaitIndex(range);
    }

    /** The global address of a word of this node's values region header. */
    long headerAddress(int offset) {
        return GlobalAddress.plus(valuesHeaderAddress, offset);
    }

    /**
     * The first doorbell: agree on the value format (CAS from 0, or check), see whether the index exists, and claim
     * two chunks of values region so the first writes need no claim of their own. Returns whether the index is ready.
     */
    private boolean hello(ValueFormat format) {
        DoorbellBatch hello = new DoorbellBatch();
        int metaRead = hello.read(readyProbeAddress, IndexKind.READY_PROBE_BYTES);
        long formatWord = ValueRegionDescriptor.formatWord(format);
        int formatCas = hello.compareAndSwap(GlobalAddress.plus(valuesHeaderAddress, ValueRegionDescriptor.FORMAT_OFFSET), 0, formatWord);
        ValueAllocator allocator = values.allocator();
        ValueAllocator.ChunkClaim first = allocator == null ? null : allocator.newClaim();
        ValueAllocator.ChunkClaim second = allocator == null ? null : allocator.newClaim();
        int firstVerb = first == null ? -1 : first.appendTo(hello);
        int secondVerb = second == null ? -1 : second.appendTo(hello);
        BatchResult result = connection.execute(hello);
        if (first != null) {
            first.complete(result.oldValue(firstVerb));
            second.complete(result.oldValue(secondVerb));
        }
        long found = result.oldValue(formatCas);
        if (found != 0 && found != formatWord) {
            ValueFormat stored = ValueRegionDescriptor.formatOf(found);
            if (stored == null) {
                throw new IllegalStateException("the " + ValueRegionDescriptor.REGION_NAME + " region of memory node "
                        + connection.memoryNodeId() + " at endpoint=" + endpoint + " holds something else: format word=0x"
                        + Long.toHexString(found));
            }
            throw new ConfigException("conflicts with the store", ValueFormat.PROP_NAME, "found=\"" + format.configName()
                    + "\" store=\"" + stored.configName() + "\" memory_node=" + connection.memoryNodeId() + " endpoint="
                    + endpoint + ": every compute node of a store must use the store's value layout");
        }
        return kind.isReady(result.read(metaRead));
    }

    /**
     * The node has no index: one compute node builds an empty one, elected by CAS on the values header's
     * indexBuilder word; the others wait for it to be published. A builder that vanished is replaced after
     * {@link #INDEX_BUILD_WAIT_NANOS}.
     */
    private WordIndex buildOrAwaitIndex(RolexKVConfig.MemoryNodeRange range) {
        long token = ThreadLocalRandom.current().nextLong(1, Long.MAX_VALUE);
        long builderAddress = GlobalAddress.plus(valuesHeaderAddress, ValueRegionDescriptor.INDEX_BUILDER_OFFSET);
        long waitingSince = System.nanoTime();
        long lastBuilder = 0;
        while (true) {
            DoorbellBatch probe = new DoorbellBatch();
            int metaRead = probe.read(readyProbeAddress, IndexKind.READY_PROBE_BYTES);
            int builderRead = probe.read(builderAddress, 8);
            BatchResult seen = connection.execute(probe);
            if (kind.isReady(seen.read(metaRead))) {
                return kind.open(connection, config, range);
            }
            long builder = seen.readLong(builderRead, 0);
            if (builder != lastBuilder) {
                lastBuilder = builder;
                waitingSince = System.nanoTime();
            }
            if (builder == 0 || System.nanoTime() - waitingSince > INDEX_BUILD_WAIT_NANOS) {
                DoorbellBatch claim = new DoorbellBatch();
                int cas = claim.compareAndSwap(builderAddress, builder, token);
                if (connection.execute(claim).casSucceeded(cas)) {
                    try {
                        return kind.createEmpty(connection, config, range);
                    } finally {
                        DoorbellBatch done = new DoorbellBatch();
                        done.compareAndSwap(builderAddress, token, 0);
                        connection.execute(done);
                    }
                }
                continue;
            }
            LockSupport.parkNanos(TimeUnit.MILLISECONDS.toNanos(5));
        }
    }

    WordIndex index() {
        return index;
    }

    /** Replaces the whole index with an empty one for {@code range}, retiring every block the old one linked. */
    void clear(RolexKVConfig.MemoryNodeRange range) {
        retireAll(range);
        index = kind.createEmpty(connection, config, range);
    }

    /** Replaces the whole index with one bulk loaded from {@code keys} (all in {@code range}) and their {@code words}. */
    void bulkLoad(RolexKVConfig.MemoryNodeRange oldRange, RolexKVConfig.MemoryNodeRange range, long[] keys, long[] words) {
        retireAll(oldRange);
        index = kind.bulkLoad(connection, config, range, keys, words);
    }

    /**
     * Retires the block of every key of {@code range} in the index, page by page, ahead of replacing the index (a scan
     * of the range only: a scan of the whole key space reads every leaf an empty index has; stray copies outside the
     * range, left by a move of keys that did not finish, keep their blocks).
     */
    private void retireAll(RolexKVConfig.MemoryNodeRange range) {
        if (values.allocator() == null) {
            return;
        }
        forEachPair(range.firstKey(), range.lastKey(), pair -> values.retire(pair.value()));
    }

    /** Every pair in the node's index from {@code firstKey} to {@code lastKey}, in key order, page by page. */
    void forEachPair(long firstKey, long lastKey, java.util.function.Consumer<KeyValue> action) {
        WordIndex current = index;
        long from = firstKey;
        while (true) {
            List<KeyValue> page = current.scan(from, lastKey, RETIRE_PAGE_KEYS);
            for (KeyValue pair : page) {
                action.accept(pair);
            }
            if (page.size() < RETIRE_PAGE_KEYS) {
                return;
            }
            long last = page.getLast().key();
            if (last == lastKey) {
                return;
            }
            from = last + 1;
        }
    }

    /**
     * Whether the node is connected now; false while it is being reconnected or once it is down. Work on close checks
     * this so that closing never waits for a node that is away.
     */
    boolean isConnected() {
        return link.isConnected();
    }

    /**
     * Hands this node's value space back to its values region (see {@link ValueAllocator#returnAll}); a node that
     * cannot be reached keeps it claimed, as before there were returns.
     */
    void returnValueSpace() {
        ValueAllocator allocator = values.allocator();
        if (allocator == null || !isConnected()) {
            return;
        }
        try {
            allocator.returnAll(connection);
        } catch (FabricException e) {
            // outcome unknown: the space may or may not be on the stack; leaving it claimed is the safe side
        }
    }

    /** The index's counters, as its kind reports them. */
    IndexCounters.Snapshot indexCounters() {
        return kind.counters(index);
    }

    int memoryNodeId() {
        return connection.memoryNodeId();
    }

    @Override
    public String toString() {
        return "Shard[" + position + " memoryNode=" + connection.memoryNodeId() + " endpoint=" + endpoint + "]";
    }
}
