package io.rolexkv.computenode.engine;

import io.rolexkv.common.config.ConfigException;
import io.rolexkv.common.fabric.BatchResult;
import io.rolexkv.common.fabric.CorruptDataException;
import io.rolexkv.common.fabric.DoorbellBatch;
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
import io.rolexkv.computenode.value.ValueStore;
import io.rolexkv.computenode.value.ValueWord;
import io.rolexkv.rolex.index.DoorbellExtras;
import io.rolexkv.rolex.index.IndexCounters;
import io.rolexkv.rolex.index.KeyValue;
import io.rolexkv.rolex.index.RolexIndex;
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
import java.util.function.UnaryOperator;

/**
 * The {@value RolexKVConfig#ENGINE_TYPE} engine: {@link BaseKV} over ROLEX indexes on memory nodes, driven one-sidedly
 * from this compute node. Like RecStore's composite engine it is an index plus a value store: the index maps a key to
 * an 8-byte word ({@link WordIndex}), the value store turns values into words and back ({@link ValueStore}: the word
 * itself for {@code inline8}, an inline word or a handle to a value block for {@code blocks}; see
 * {@link ValueWord}).
 *
 * <h2>The index is pluggable</h2>
 * The index on each memory node is ROLEX ({@link RolexIndex}, {@link RolexIndexKind}) unless the engine is opened with
 * another {@link IndexKind}, as the B+tree baseline is, so that baseline and learned index are measured under the same
 * value store, fabric and harness. The engine uses only the {@link WordIndex} operations; what differs between kinds
 * (regions, readiness, building, counters) is the kind's business. The costs below are ROLEX's; another index
 * documents its own.
 *
 * <h2>Memory nodes</h2>
 * The unsigned key space is split into contiguous ranges, one per memory node ({@link RolexKVConfig}); each node holds
 * its own index over its range and the value blocks of its keys, so every verb of an operation on one key goes to one
 * node. Batch calls split their keys per node and run the nodes in parallel (a virtual thread each); scans walk the
 * nodes in key order.
 *
 * <h2>Costs, in doorbells (round trips), uncontended, with a warm model cache</h2>
 * <ul>
 *   <li>get: 1 (leaf READ) for an inline value; 2 (then the block READ) for a value in a block. A block that fails
 *       validation (reclaimed meanwhile, see {@link ValueAllocator}) sends the reader back to the leaf.</li>
 *   <li>put: 2. The new block's WRITE rides the index's first doorbell, ahead of the lock CAS
 *       ({@link RolexIndex#put(long, long, DoorbellExtras)}); when the allocator wants a new spare chunk, its claim FAA
 *       rides there too, and the index hands back its answer. The replaced block is retired after the leaf write.</li>
 *   <li>update: 3. Lock and leaf READ; the old block READ under the lock; new block WRITE, leaf WRITE and unlock.</li>
 *   <li>delete: 2. batchGet: per memory node, one doorbell per {@value RolexIndex#KEYS_PER_DOORBELL} keys for the
 *       leaves, then the blocks packed into as few doorbells as the node takes; batchPut: per node, two doorbells per
 *       {@value RolexIndex#KEYS_PER_DOORBELL} keys. Memory nodes run in parallel.</li>
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
    private final List<Shard> shards;
    private final long[] firstKeys;
    private final ExecutorService helpers = Executors.newVirtualThreadPerTaskExecutor();
    private final LongAdder staleBlockReads = new LongAdder();
    private final ReentrantReadWriteLock gate = new ReentrantReadWriteLock();
    private volatile boolean closed;

    private RolexKV(RolexKVConfig config, FabricTransport transport, boolean ownsTransport, IndexKind kind) {
        this.config = config;
        this.kind = kind;
        this.transport = transport;
        this.ownsTransport = ownsTransport;
        List<Shard> opened = new ArrayList<>();
        try {
            for (int i = 0; i < config.memoryNodes().size(); i++) {
                opened.add(Shard.open(i, config, kind, transport, totals, threadCosts));
            }
            checkDistinctMemoryNodes(opened);
        } catch (RuntimeException e) {
            opened.forEach(shard -> shard.connection.close());
            helpers.close();
            throw e;
        }
        this.shards = List.copyOf(opened);
        this.firstKeys = new long[shards.size()];
        for (int i = 0; i < shards.size(); i++) {
            firstKeys[i] = shards.get(i).range.firstKey();
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
                        "found=\"" + shard.range.endpoint() + "\" memory_node_id=" + shard.memoryNodeId() + " same as "
                                + RolexKVConfig.MEMORY_NODES_PROP_NAME + "[" + other.position + "] endpoint=\""
                                + other.range.endpoint() + "\"" + DISTINCT_NODES_HINT);
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
            MemorySegment value = readValue(shardFor(key), key);
            return value == null ? Optional.empty() : Optional.of(value.toArray(ValueLayout.JAVA_BYTE));
        } finally {
            exit();
        }
    }

    /** Zero-copy: the view is a read-only slice of the bytes the block READ returned. */
    @Override
    public Optional<MemorySegment> getView(long key) {
        enter();
        try {
            return Optional.ofNullable(readValue(shardFor(key), key));
        } finally {
            exit();
        }
    }

    /** The value of {@code key}, read-only, or {@code null}: the leaf, then (for a block) the block, re-read if stale. */
    private MemorySegment readValue(Shard shard, long key) {
        for (int attempt = 0; ; attempt++) {
            OptionalLong word = shard.index().get(key);
            if (word.isEmpty()) {
                return null;
            }
            MemorySegment value = readWord(shard, key, word.getAsLong());
            if (value != null) {
                return value;
            }
            staleBlockReads.increment();
            checkStaleRetries(shard, key, word.getAsLong(), attempt);
        }
    }

    /** The value a word holds or names, or {@code null} if its block is no longer the one the word named. */
    private MemorySegment readWord(Shard shard, long key, long word) {
        ValueStore values = shard.values;
        if (!values.needsRead(word)) {
            return MemorySegment.ofArray(values.inlineValue(word)).asReadOnly();
        }
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
     * Per memory node, in parallel: the index lookups of all its keys ({@link RolexIndex#getAll}: one doorbell per
     * {@value RolexIndex#KEYS_PER_DOORBELL} keys), then every block READ in as few doorbells as the node's limits allow,
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

    /** The words of {@code keys} on one node, empty where absent: one doorbell per {@value RolexIndex#KEYS_PER_DOORBELL} keys. */
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
                    out[i] = readValue(shard, keys[i]);
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
            for (int s = shardIndexFor(fromKey); s < shards.size() && out.size() < limit; s++) {
                Shard shard = shards.get(s);
                long from = Long.compareUnsigned(fromKey, shard.range.firstKey()) > 0 ? fromKey : shard.range.firstKey();
                long to = Long.compareUnsigned(toKey, shard.range.lastKey()) < 0 ? toKey : shard.range.lastKey();
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
        } finally {
            exit();
        }
    }

    private static void retireReplaced(Shard shard, WriteResult result) {
        if (result.previous().isPresent()
                && (result.written().isEmpty() || result.written().getAsLong() != result.previous().getAsLong())) {
            shard.values.retire(result.previous().getAsLong());
        }
    }

    /**
     * As if the pairs were put in order: a repeated key keeps its last value (only that one is written). Per memory
     * node, in parallel, per {@value RolexIndex#KEYS_PER_DOORBELL} keys: one locked write of the index
     * ({@link RolexIndex#updateAll}) whose first doorbell also carries the new blocks' WRITEs, so two doorbells link
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
     * the handles ({@link RolexIndex#bulkLoad}). The blocks the old index linked are retired first.
     */
    @Override
    public void bulkLoad(long[] sortedKeys, List<byte[]> values) {
        enter();
        try {
            if (sortedKeys == null || values == null) {
                throw new IllegalArgumentException("keys and values must not be null");
            }
            KeyValueChecks.checkBatch(sortedKeys, values);
            KeyValueChecks.checkStrictlyIncreasing(sortedKeys);
            for (int i = 0; i < sortedKeys.length; i++) {
                shardFor(sortedKeys[i]).values.check(values.get(i));
            }
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
                shard.bulkLoad(keys, layOutBlocks(shard, keys, shardValues));
            });
        } finally {
            exit();
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

    @Override
    public void clear() {
        enter();
        try {
            Map<Shard, List<Integer>> all = new LinkedHashMap<>();
            for (Shard shard : shards) {
                all.put(shard, List.of());
            }
            runPerShard(all, (shard, ignored) -> shard.clear());
        } finally {
            exit();
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
        long torn = 0;
        long unknownLinks = 0;
        long conflicts = 0;
        long stale = 0;
        long splits = 0;
        long rejected = 0;
        long roomWaits = 0;
        long refreshes = 0;
        for (Shard shard : shards) {
            IndexCounters.Snapshot counters = shard.indexCounters();
            torn += counters.tornLeafReads();
            unknownLinks += counters.unknownLinksFollowed();
            conflicts += counters.lockConflicts();
            stale += counters.staleLeafTableEntries();
            splits += counters.splits();
            rejected += counters.insertsRejected();
            roomWaits += counters.roomWaits();
            refreshes += counters.refreshes();
        }
        return new IndexCounters.Snapshot(torn, unknownLinks, conflicts, stale, splits, rejected, roomWaits, refreshes);
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

    /** The memory nodes in key order, with the ranges they own. */
    public List<RolexKVConfig.MemoryNodeRange> memoryNodes() {
        return config.memoryNodes();
    }

    /** The memory node id (as in global addresses) of the node that owns {@code key}. */
    public int memoryNodeOf(long key) {
        return shardFor(key).memoryNodeId();
    }

    // ------------------------------------------------------------------ routing and fan-out

    private int shardIndexFor(long key) {
        return UnsignedKeys.floorIndex(firstKeys, key);
    }

    private Shard shardFor(long key) {
        return shards.get(shardIndexFor(key));
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
    }

    @Override
    public String toString() {
        return "RolexKV[index=" + kind.name() + " " + config.summary() + "]";
    }
}
