package io.rolexkv.rolex.index;

import io.rolexkv.common.fabric.BatchResult;
import io.rolexkv.common.fabric.CompletionBuffer;
import io.rolexkv.common.fabric.CorruptDataException;
import io.rolexkv.common.fabric.DoorbellBatch;
import io.rolexkv.common.fabric.FabricConnection;
import io.rolexkv.common.fabric.WordOrder;
import io.rolexkv.common.kv.KeyValueChecks;
import io.rolexkv.rolex.layout.GroupWord;
import io.rolexkv.rolex.layout.IndexMetaDescriptor;
import io.rolexkv.rolex.model.LinearModel;
import io.rolexkv.rolex.model.OptimalPiecewiseLinearTrainer;
import io.rolexkv.rolex.model.UnsignedKeys;

import io.rolexkv.rolex.layout.LeafRegionDescriptor;
import io.rolexkv.rolex.layout.LeafTableEntry;
import io.rolexkv.rolex.layout.ModelRecordDescriptor;
import io.rolexkv.rolex.layout.TablesDescriptor;
import io.rolexkv.rolex.leaf.Leaf;

import java.lang.foreign.MemorySegment;
import java.math.BigInteger;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.OptionalLong;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.LockSupport;
import java.util.function.Function;

/**
 * The ROLEX learned index on a memory node, as compute nodes use it: per model one block in the tables region of group
 * heads, an SLT and a dense base array of 16-byte (key, value) entries whose keys never change while the model lives
 * ({@link LeanModel}); keys inserted since the base was built live in small delta leaves ({@link Leaf}) chained in key
 * order from their group's head, until the memory node's {@link LeanRetrainer} compacts them into a new base.
 *
 * <h2>Lookup: one doorbell</h2>
 * READ the heads of the groups the key's window touches, the window of base entries ({@link LeanModel#window}), about
 * {@code 2 * epsilon + 2} entries instead of whole leaves, the delta leaves the cache knows of those groups, and last
 * the reuse floor ({@link LeanRetrainer}). Base keys never change and each value word is written atomically, so the
 * window needs no checksum; the group word, read first, says which entries are deleted (a put writes the value before
 * it clears the bit, so a clear bit is never seen before its value). A key not in the base is in its owning group's
 * delta chain if anywhere (the largest base key below it names the group), each leaf checked by its CRC32C and read
 * again while a write tears it.
 *
 * <p>Why a chain walk never misses a key present throughout: within an epoch a key moves only when a full delta leaf
 * splits, and then only forward along its chain, into a new leaf written completely before the split leaf's new header
 * links to it. A reader accepts a leaf's contents only together with the {@code nextLeaf} link read in those very
 * contents, and walks from the group's head along those links until a leaf says it is the last. Whatever moment a leaf
 * was read at, a key that was in it or in any leaf after it is, at that moment, in it or reachable through the link it
 * shows. Re-reading a torn leaf later is the same argument at a later moment.
 *
 * <h2>Writes: two doorbells in the common case</h2>
 * CAS the lock into the group word of every group the keys' windows touch (only the named group on an exact model),
 * read the epoch word, and in the same doorbell READ the delta head references, the windows and the known chains, and
 * claim a delta slot ahead; then change base value words and deleted bits, or the owning delta leaf, and WRITE the group
 * words back unlocked last. No one waits for a lock while holding one: a lost CAS releases what it holds and backs off
 * (randomized, exponential), so there is no deadlock.
 *
 * <p>A changed delta leaf is written as the 8-byte words that differ between the image read under the lock and its new
 * contents (new version and checksum included), and a reader still never accepts a state that never was: the image is
 * exact (read after the lock's CAS; the previous holder's WRITEs all precede its unlock); a concurrent READ sees each
 * aligned word old or new, so the images it can assemble are the same as from one whole-leaf WRITE of the new contents;
 * a mix of old and new words passes the CRC32C only if its difference from either is a multiple of the polynomial
 * (never within 32 consecutive bits, 2^-32 otherwise); version and checksum change in every write, and count and
 * checksum share one aligned word. A new leaf (memory that may hold anything) is written whole, before any link to it.
 *
 * <h2>New models</h2>
 * Every operation runs on one {@link View} of the models; when it meets a newer epoch (a retired group, a delta leaf
 * of a newer epoch, a newer epoch word read with its locks, a raised reuse floor) it throws
 * {@link StaleModelsException} having changed nothing, and runs again after a refresh, which applies the retrainer's
 * {@link ModelPatch}es where it can.
 *
 * <p>Thread-safe: one instance serves all threads of a compute node.
 */
public final class LeanIndex implements WordIndex {
    /** How long a writer keeps trying to lock its groups before it gives up. */
    public static final long LOCK_TIMEOUT_NANOS = TimeUnit.SECONDS.toNanos(10);
    /** Keys of one {@link #updateAll} doorbell. */
    public static final int KEYS_PER_DOORBELL = 256;
    /** Leaves of a delta chain a walk follows before it calls the chain corrupt. */
    private static final int MAX_CHAIN = TablesDescriptor.SYNONYM_SLOTS;
    private static final int MAX_TORN_READS = 10_000;
    /** The longest known delta chain a first doorbell reads ahead (any: compaction keeps them short), and the most verbs it grows to doing so. */
    private static final int MAX_PREFETCHED_CHAIN = TablesDescriptor.USABLE_SYNONYM_SLOTS;
    private static final int MAX_PREFETCH_VERBS = 2_048;

    private final FabricConnection connection;
    private final IndexLayout layout;
    /** The models this compute node works with; replaced whole by a refresh when retraining publishes new ones. */
    private volatile View view;
    /*
     * What this compute node learned of groups and models, keyed by where they live in the tables region (a group's
     * head offset, a model's block offset), so that it stays valid across a refresh for the models a new epoch kept. A
     * refresh drops what belongs to models that are gone ({@link #forgetRetired}).
     */
    /** Group words known to differ from their model's usual word (lock bit dropped), per group: the CAS guesses. */
    private final Map<Long, Long> knownWords = new ConcurrentHashMap<>();
    private final LeafPool leafPool = new LeafPool();
    /** Leaves to use first: (leaf number, the lowest epoch it may be written with), from the ring or given back. */
    private final java.util.concurrent.ConcurrentLinkedDeque<long[]> recycledLeaves = new java.util.concurrent.ConcurrentLinkedDeque<>();
    /** Whether the leaf region's counter ran past its capacity: new leaves come from the recycled-leaf ring only. */
    private volatile boolean leafRegionFull;
    /** Recycled leaves claimed from the ring at a time. */
    private static final int RECYCLE_CLAIM = IndexGeometry.LEAF_ALLOCATION_CHUNK;
    /**
     * Per group with delta leaves: the references of its chain as last read, so a doorbell can read it at once. Every
     * lookup asks it about each group its window touches, so it boxes nothing.
     */
    private final ConcurrentLongMap<long[]> knownChains = new ConcurrentLongMap<>();
    /** Per model: SLT slots claimed ahead (in a write's first doorbell) and not used yet. */
    private final Map<Long, java.util.concurrent.ConcurrentLinkedDeque<Integer>> spareSlots = new ConcurrentHashMap<>();
    private final java.util.concurrent.atomic.LongAdder leavesRecycled = new java.util.concurrent.atomic.LongAdder();
    private final IndexCounters counters = new IndexCounters();
    /** How long a write into a model whose SLT is full waits for the memory node to compact it ({@link #waitForRoom}). */
    private volatile long roomWaitNanos;
    private volatile long lockTimeoutNanos = LOCK_TIMEOUT_NANOS;

    private LeanIndex(FabricConnection connection, IndexLayout layout, long epoch, List<LeanModel> models) {
        this.connection = connection;
        this.layout = layout;
        this.view = new View(epoch, models.toArray(LeanModel[]::new));
    }

    // ------------------------------------------------------------------ build and open

    /**
     * Builds an index of {@code keys} (strictly increasing, unsigned) and {@code values} on the connection's memory node:
     * the optimal PLA of the keys with the geometry's error bound, one model per segment, groups of
     * {@link IndexGeometry#groupSize} base entries. No keys: an empty index ({@link #createEmpty}). Replaces whatever
     * index was there.
     */
    public static LeanIndex bulkLoad(FabricConnection connection, IndexGeometry geometry, long[] keys, long[] values) {
        if (keys.length != values.length) {
            throw new IllegalArgumentException("bulk load: keys=" + keys.length + " values=" + values.length + " must match");
        }
        if (keys.length == 0) {
            return createEmpty(connection, geometry);
        }
        int epsilon = geometry.epsilon();
        int groupSize = geometry.groupSize();
        KeyValueChecks.checkStrictlyIncreasing(keys);
        List<LinearModel> segments = OptimalPiecewiseLinearTrainer.train(keys, epsilon);
        List<LeanModel> models = new ArrayList<>(segments.size());
        long cursor = 0;
        for (int s = 0; s < segments.size(); s++) {
            LinearModel segment = segments.get(s);
            LeanModel model = measured(s == 0 ? 0 : segment.firstKey(), segment.firstKey(), segment.slope(),
                    segment.intercept(), keys, Math.toIntExact(segment.firstRank()), Math.toIntExact(segment.rankCount()),
                    cursor, groupSize);
            models.add(model);
            cursor += (model.blockBytes() + 63) / 64 * 64;
        }
        return build(connection, geometry, models, keys, values, false);
    }

    /**
     * Builds an empty index that grows by inserts: {@link IndexGeometry#emptyIndexGroups} keys evenly spread over the
     * key space, all deleted, each a group of its own, in models of at most {@link #FENCES_PER_EMPTY_MODEL} groups, so
     * that inserts spread over that many delta chains and no model's SLT takes them all. Models the retrainer builds
     * from what is inserted get groups of {@link IndexGeometry#groupSize} base entries.
     */
    public static LeanIndex createEmpty(FabricConnection connection, IndexGeometry geometry) {
        int fences = geometry.emptyIndexGroups();
        long[] keys = new long[fences];
        BigInteger keySpace = BigInteger.ONE.shiftLeft(64);
        for (int g = 0; g < fences; g++) {
            keys[g] = keySpace.multiply(BigInteger.valueOf(g)).divide(BigInteger.valueOf(fences)).longValue();
        }
        double slope = fences / 18446744073709551616.0;
        List<LeanModel> models = new ArrayList<>();
        long cursor = 0;
        for (int first = 0; first < fences; first += FENCES_PER_EMPTY_MODEL) {
            int count = Math.min(FENCES_PER_EMPTY_MODEL, fences - first);
            LeanModel model = measured(keys[first], keys[first], slope, 0, keys, first, count, cursor, 1);
            models.add(model);
            cursor += (model.blockBytes() + 63) / 64 * 64;
        }
        return build(connection, geometry, models, keys, new long[fences], true);
    }

    /** Tables-region bytes a model of {@code keyCount} base keys takes (group heads, SLT, base), as a build lays it out. */
    public static long modelBlockBytes(int keyCount, int groupSize) {
        return TablesDescriptor.alignedBlockBytes(TablesDescriptor.blockBytes(
                TablesDescriptor.groupCount(Math.max(1, keyCount), groupSize), keyCount));
    }

    /** Groups of one model of an empty index: few enough that their first delta leaves leave most of its SLT free. */
    static final int FENCES_PER_EMPTY_MODEL = 32;

    /** A model of base keys {@code keys[first, first + count)} on the given line, its error bound measured. */
    static LeanModel measured(long lowKey, long anchorKey, double slope, double intercept, long[] keys, int first,
                                      int count, long blockOffset, int groupSize) {
        LeanModel probe = new LeanModel(lowKey, anchorKey, slope, intercept, count, blockOffset, groupSize, 0);
        double worst = 0;
        for (int rank = 0; rank < count; rank++) {
            worst = Math.max(worst, Math.abs(probe.predictRank(keys[first + rank]) - rank));
        }
        // The window's one rank of slack on each side absorbs a bound below the measured worst by < 1/2 (LeanModel).
        int maxError = Math.max(0, (int) Math.ceil(worst - MAX_ERROR_TOLERANCE));
        return new LeanModel(lowKey, anchorKey, slope, intercept, count, blockOffset, groupSize, maxError);
    }

    /** How far below the measured worst error a model's bound may round (see {@link LeanModel}). */
    static final double MAX_ERROR_TOLERANCE = 1e-6;
    private static final int ENTRIES_PER_WRITE = 64 * 1024;

    private static LeanIndex build(FabricConnection connection, IndexGeometry geometry, List<LeanModel> models,
                                   long[] keys, long[] values, boolean allDeleted) {
        int deltaCapacity = geometry.leafCapacity();
        IndexLayout layout = new IndexLayout(connection, deltaCapacity);
        LeanModel lastModel = models.getLast();
        long cursor = (lastModel.blockOffset() + lastModel.blockBytes() + 63) / 64 * 64;
        if (cursor > layout.tablesBytes()) {
            throw new IllegalArgumentException("the lean index needs tables bytes=" + cursor + " but region "
                    + IndexLayout.TABLES_REGION + " holds " + layout.tablesBytes());
        }
        IndexLoader.BulkWriter writer = new IndexLoader.BulkWriter(connection);
        DoorbellBatch unpublish = new DoorbellBatch();
        unpublish.writeLong(layout.metaAddress(IndexMetaDescriptor.STATE_OFFSET), IndexMetaDescriptor.STATE_EMPTY);
        connection.execute(unpublish);
        int rank = 0;
        for (LeanModel model : models) {
            byte[] heads = new byte[TablesDescriptor.GROUP_HEAD_BYTES * model.groupCount()];
            if (allDeleted) {
                for (int g = 0; g < model.groupCount(); g++) {
                    int entries = model.groupEndRank(g) - model.groupFirstRank(g);
                    WordOrder.putLong(heads, TablesDescriptor.GROUP_HEAD_BYTES * g, GroupWord.allDeleted(entries));
                }
            }
            writer.write(layout.tablesAddress(model.groupOffset(0)), heads);
            writer.write(layout.tablesAddress(model.synonymTableOffset()), new byte[TablesDescriptor.SYNONYM_TABLE_BYTES]);
            for (int start = 0; start < model.keyCount(); start += ENTRIES_PER_WRITE) {
                int entries = Math.min(ENTRIES_PER_WRITE, model.keyCount() - start);
                byte[] base = new byte[TablesDescriptor.BASE_ENTRY_BYTES * entries];
                for (int i = 0; i < entries; i++) {
                    WordOrder.putLong(base, TablesDescriptor.BASE_ENTRY_BYTES * i, keys[rank + start + i]);
                    WordOrder.putLong(base, TablesDescriptor.BASE_ENTRY_BYTES * i + 8, values[rank + start + i]);
                }
                writer.write(layout.tablesAddress(model.baseEntryOffset(start)), base);
            }
            rank += model.keyCount();
        }
        writer.flush();
        MemorySegment oldMeta = IndexLoader.readBytes(connection, layout.metaAddress(0), IndexMetaDescriptor.META_BYTES);
        long epoch = (WordOrder.getLong(oldMeta, IndexMetaDescriptor.MAGIC_OFFSET) == IndexMetaDescriptor.MAGIC
                ? WordOrder.getLong(oldMeta, IndexMetaDescriptor.MODEL_EPOCH_OFFSET) : 0) + 1;
        byte[] set = IndexLoader.encodeModelSet(models, epoch);
        writer.write(layout.modelsAddress(0), set);
        writer.flush();
        byte[] meta = new byte[IndexMetaDescriptor.META_BYTES];
        MemorySegment metaSegment = MemorySegment.ofArray(meta);
        WordOrder.putLong(metaSegment, IndexMetaDescriptor.MAGIC_OFFSET, IndexMetaDescriptor.MAGIC);
        WordOrder.putLong(metaSegment, IndexMetaDescriptor.STATE_OFFSET, IndexMetaDescriptor.STATE_EMPTY);
        WordOrder.putLong(metaSegment, IndexMetaDescriptor.MODEL_SET_BYTES_OFFSET, set.length);
        WordOrder.putLong(metaSegment, IndexMetaDescriptor.MODEL_EPOCH_OFFSET, epoch);
        metaSegment.set(WordOrder.INT_UNALIGNED, IndexMetaDescriptor.LEAF_CAPACITY_OFFSET, deltaCapacity);
        metaSegment.set(WordOrder.INT_UNALIGNED, IndexMetaDescriptor.GROUP_SIZE_OFFSET, geometry.groupSize());
        WordOrder.putLong(metaSegment, IndexMetaDescriptor.TABLES_USED_OFFSET, cursor);
        metaSegment.set(WordOrder.INT_UNALIGNED, IndexMetaDescriptor.EPSILON_OFFSET, geometry.epsilon());
        WordOrder.putLong(metaSegment, IndexMetaDescriptor.MODELS_USED_OFFSET, set.length);
        WordOrder.putLong(metaSegment, IndexMetaDescriptor.BUILD_ID_OFFSET, ThreadLocalRandom.current().nextLong());
        WordOrder.putLong(metaSegment, IndexMetaDescriptor.LAYOUT_OFFSET, IndexMetaDescriptor.LAYOUT_LEAN);
        DoorbellBatch publish = new DoorbellBatch();
        byte[] regionHeader = new byte[LeafRegionDescriptor.HEADER_BYTES];
        WordOrder.putLong(regionHeader, LeafRegionDescriptor.USED_LEAVES_OFFSET, 0);
        WordOrder.putLong(regionHeader, LeafRegionDescriptor.CAPACITY_LEAVES_OFFSET, layout.leafCapacityOfRegion());
        WordOrder.putLong(regionHeader, LeafRegionDescriptor.LEAF_BYTES_OFFSET, layout.leafBytes());
        publish.write(layout.leavesAddress(0), regionHeader);
        publish.write(layout.metaAddress(0), meta);
        publish.writeLong(layout.metaAddress(IndexMetaDescriptor.STATE_OFFSET), IndexMetaDescriptor.STATE_READY);
        connection.execute(publish);
        return new LeanIndex(connection, layout, epoch, models);
    }

    /** Opens the lean index on the connection's memory node: reads its model set into the cache. */
    public static LeanIndex open(FabricConnection connection) {
        IndexLoader.Meta meta = IndexLoader.readMeta(connection);
        if (meta.layout() != IndexMetaDescriptor.LAYOUT_LEAN) {
            throw new UnsupportedIndexFormatException("index on memory node " + connection.memoryNodeId() + " has layout="
                    + meta.layout() + " expected=" + IndexMetaDescriptor.LAYOUT_LEAN
                    + ": written by an earlier release; bulk load or create the index again");
        }
        IndexLayout layout = new IndexLayout(connection, meta.leafCapacity());
        MemorySegment set = IndexLoader.readBytes(connection, layout.modelsAddress(meta.modelSetOffset()), meta.modelSetBytes());
        List<LeanModel> records = IndexLoader.decodeModelSet(set, meta.epoch());
        if (records == null) {
            throw new CorruptDataException("lean model set fails its checksum");
        }
        return new LeanIndex(connection, layout, meta.epoch(), records);
    }

    /**
     * How many compactions the memory node behind {@code connection} has published, as its retrainer counts them in the
     * meta region (0 for a node that never retrained). One READ.
     */
    public static long retrainsPublished(FabricConnection connection) {
        IndexLayout layout = IndexLoader.layoutProbe(connection);
        DoorbellBatch batch = new DoorbellBatch();
        int verb = batch.read(layout.metaAddress(IndexMetaDescriptor.RETRAINS_OFFSET), Long.BYTES);
        return connection.execute(batch).readLong(verb, 0);
    }

    /** Unpublishes the index on the connection's memory node; the next build reuses its space. */
    public static void clear(FabricConnection connection) {
        IndexLoader.clear(connection);
    }

    /** Bytes of cached models (one record each), group words known not to be empty, and known delta chains. */
    @Override
    public long cachedBytes() {
        long[] chains = {0};
        knownChains.forEachValue(chain -> chains[0] += 8 + 8L * chain.length);
        return (long) view.models.length * ModelRecordDescriptor.RECORD_BYTES + 16L * knownWords.size() + chains[0];
    }

    /** What this compute node's operations on the index did. */
    public IndexCounters.Snapshot counters() {
        return counters.snapshot();
    }

    /**
     * How long a write keeps trying to lock its groups before it gives up with {@link IndexGaveUpException}
     * ({@link #LOCK_TIMEOUT_NANOS} by default).
     */
    public LeanIndex lockTimeout(java.time.Duration timeout) {
        if (timeout.isNegative() || timeout.isZero()) {
            throw new IllegalArgumentException("lock timeout=" + timeout + " must be > 0");
        }
        this.lockTimeoutNanos = timeout.toNanos();
        return this;
    }

    /**
     * Lets a write into a model with no free SLT slot wait up to {@code wait} for the memory node's retrainer to compact
     * that model (it is due long before its SLT fills), instead of failing at once with {@link IndexFullException}.
     * Zero (the default) when no retrainer runs.
     */
    public LeanIndex waitForRoom(java.time.Duration wait) {
        if (wait.isNegative()) {
            throw new IllegalArgumentException("room wait=" + wait + " must not be negative");
        }
        this.roomWaitNanos = wait.toNanos();
        return this;
    }

    @Override
    public int maxAtomicBatchKeys() {
        return KEYS_PER_DOORBELL;
    }

    public int modelCount() {
        return view.models.length;
    }

    public long epoch() {
        return view.epoch;
    }

    public FabricConnection connection() {
        return connection;
    }


    /**
     * Waits after finding a group the retrainer holds (frozen to compact it, or not opened yet), the
     * {@code waits}-th time in this write: about as long as a compaction pass takes, 2 ms doubling to 16 ms, randomized,
     * since a pass holds its models for milliseconds where a compute node holds a lock for a round trip, and every
     * retry is a doorbell.
     */
    static void waitOutCompaction(int waits) {
        long ceilingNanos = 2_000_000L << Math.min(waits - 1, 3);
        LockSupport.parkNanos(ThreadLocalRandom.current().nextLong(ceilingNanos / 2, ceilingNanos + 1));
    }

    /** Waits a randomized, exponentially growing time after the {@code conflicts}-th lost lock race (at most ~1 ms). */
    static void backOff(int conflicts) {
        long ceilingNanos = Math.min(1_000_000L, 2_000L << Math.min(conflicts, 9));
        LockSupport.parkNanos(ThreadLocalRandom.current().nextLong(ceilingNanos / 2, ceilingNanos + 1));
    }

    /**
     * Appends the WRITEs that bring the delta leaf at {@code address} from the image it was read with to its new
     * contents (new version, new checksum): only the 8-byte words that differ, as runs of adjacent words; a leaf built
     * here is written whole (see the class notes for why readers never accept a mix).
     */
    static void appendLeafWrite(DoorbellBatch batch, long address, Leaf leaf) {
        byte[] before = leaf.decodedImage();
        leaf.bumpVersion();
        byte[] after = leaf.encode();
        if (before == null) {
            batch.write(address, after);
            return;
        }
        for (long run : Leaf.changedWordRuns(before, after)) {
            int offset = (int) (run >>> 32);
            batch.write(address + offset, after, offset, (int) run);
        }
    }

    // ------------------------------------------------------------------ operations, on fresh models

    @Override
    public OptionalLong get(long key) {
        LookupScratch scratch = LookupScratch.take();
        try {
            return find(key, scratch) ? OptionalLong.of(scratch.value) : OptionalLong.empty();
        } finally {
            LookupScratch.give(scratch);
        }
    }

    /** Allocates nothing on a warm lookup where the transport fills its completion in place. */
    @Override
    public boolean find(long key, FoundWord into) {
        LookupScratch scratch = LookupScratch.take();
        try {
            if (!find(key, scratch)) {
                return false;
            }
            into.set(scratch.value);
            return true;
        } finally {
            LookupScratch.give(scratch);
        }
    }

    /** Looks {@code key} up on fresh models: true with its word in {@code scratch.value}, or false if it is absent. */
    private boolean find(long key, LookupScratch scratch) {
        for (int refreshes = 0; ; refreshes++) {
            View current = view;
            try {
                return current.find(key, scratch);
            } catch (StaleModelsException stale) {
                refreshOrGiveUp(current, refreshes, stale);
            }
        }
    }

    @Override
    public OptionalLong[] getAll(long[] keys) {
        return withFreshModels(current -> current.getAll(keys));
    }

    @Override
    public List<KeyValue> scan(long from, long to, int limit) {
        return withFreshModels(current -> current.scan(from, to, limit));
    }

    @Override
    public WriteResult put(long key, long word, DoorbellExtras firstDoorbellExtras) {
        OptionalLong written = OptionalLong.of(word);
        return updateAll(new long[] {key}, new WordUpdate[] {(current, finalDoorbell) -> written}, firstDoorbellExtras)[0];
    }

    @Override
    public OptionalLong remove(long key) {
        return updateAll(new long[] {key}, new WordUpdate[] {(current, finalDoorbell) -> OptionalLong.empty()}, null)[0].previous();
    }

    @Override
    public WriteResult update(long key, WordUpdate update) {
        return updateAll(new long[] {key}, new WordUpdate[] {update}, null)[0];
    }

    @Override
    public WriteResult[] updateAll(long[] keys, WordUpdate[] updates, DoorbellExtras firstDoorbellExtras) {
        if (keys.length != updates.length) {
            throw new IllegalArgumentException("keys=" + keys.length + " updates=" + updates.length + " must match");
        }
        WriteResult[] results = new WriteResult[keys.length];
        for (int start = 0; start < keys.length; start += KEYS_PER_DOORBELL) {
            int from = start;
            int end = Math.min(keys.length, start + KEYS_PER_DOORBELL);
            DoorbellExtras extras = start == 0 ? firstDoorbellExtras : null;
            long roomDeadline = System.nanoTime() + roomWaitNanos;
            for (int waits = 0; ; waits++) {
                try {
                    withFreshModels(current -> {
                        current.lockedWrite(keys, updates, from, end, extras, results);
                        return null;
                    });
                    break;
                } catch (IndexFullException full) {
                    if (!full.retrainingMakesRoom() || System.nanoTime() - roomDeadline > 0) {
                        counters.insertsRejected.increment();
                        throw full;
                    }
                    // The model's SLT is full: the memory node compacts it (it was due long before), then the
                    // refresh that follows finds the new models.
                    counters.roomWaits.increment();
                    backOff(Math.min(waits + 4, 9));
                }
            }
        }
        return results;
    }

    /**
     * Runs {@code operation} on the current models; if it meets signs of a newer model epoch (a retired group, a delta
     * leaf of a newer epoch, a newer epoch word read with its locks), refreshes and runs it again. An operation that
     * throws {@link StaleModelsException} has changed nothing (it released any lock it held), so running it again is
     * safe.
     */
    private <T> T withFreshModels(Function<View, T> operation) {
        for (int refreshes = 0; ; refreshes++) {
            View current = view;
            try {
                return operation.apply(current);
            } catch (StaleModelsException stale) {
                refreshOrGiveUp(current, refreshes, stale);
            }
        }
    }

    /** Refreshes that one operation may need before it gives up (each is a retraining finishing meanwhile). */
    static final int MAX_REFRESHES = 1_000;

    private void refreshOrGiveUp(View seen, int refreshes, StaleModelsException stale) {
        if (refreshes >= MAX_REFRESHES) {
            throw new IndexGaveUpException("the index's models kept changing under " + MAX_REFRESHES
                    + " refreshes in one operation", stale);
        }
        refresh(seen);
    }

    /**
     * Reloads the models if the memory node has published a newer epoch than {@code seen} (concurrent callers share one
     * reload), and forgets what it knew of models that are gone. The retrainer publishes a new epoch before it retires
     * the old groups, so whoever meets a retired group finds the newer epoch here; a leaf of a newer epoch than the
     * view's may come from a compute node that refreshed first, and the same holds. If the epoch is not newer (a model
     * set being overwritten as it was read), the caller waits a moment and runs again.
     */
    private synchronized void refresh(View seen) {
        if (view != seen) {
            return; // someone refreshed meanwhile
        }
        boolean directory = layout.metaBytes() >= IndexMetaDescriptor.PATCH_DIRECTORY_END;
        DoorbellBatch batch = new DoorbellBatch();
        int metaVerb = batch.read(layout.metaAddress(0), IndexMetaDescriptor.META_BYTES);
        int directoryVerb = directory ? batch.read(layout.metaAddress(IndexMetaDescriptor.PATCH_DIRECTORY_OFFSET),
                IndexMetaDescriptor.PATCH_SLOTS * IndexMetaDescriptor.PATCH_SLOT_BYTES) : -1;
        BatchResult read = connection.execute(batch);
        IndexLoader.Meta meta = IndexLoader.parseMeta(connection, read.read(metaVerb));
        if (meta.epoch() <= seen.epoch) {
            LockSupport.parkNanos(50_000);
            return;
        }
        List<LeanModel> records = directory ? patched(seen, meta.epoch(), read, directoryVerb) : null;
        if (records == null) {
            MemorySegment set = IndexLoader.readBytes(connection, layout.modelsAddress(meta.modelSetOffset()), meta.modelSetBytes());
            records = IndexLoader.decodeModelSet(set, meta.epoch());
            counters.fullReloads.increment();
        }
        if (records == null) {
            LockSupport.parkNanos(50_000);
            return; // a set being overwritten as we read it (the queue wrapped): the next refresh reads a newer one
        }
        View fresh = new View(meta.epoch(), records.toArray(LeanModel[]::new));
        forgetRetired(fresh);
        view = fresh;
        counters.refreshes.increment();
    }

    /**
     * The model set of {@code epoch} from {@code seen}'s by the patches of the epochs between, read in one doorbell
     * from where the patch directory (read in {@code directoryRead}) says; null if any is missing or fails its checks,
     * and the caller reads the whole set.
     */
    private List<LeanModel> patched(View seen, long epoch, BatchResult directoryRead, int directoryVerb) {
        if (epoch - seen.epoch >= IndexMetaDescriptor.PATCH_SLOTS) {
            return null;
        }
        DoorbellBatch batch = new DoorbellBatch();
        int[] verbs = new int[(int) (epoch - seen.epoch)];
        for (long e = seen.epoch + 1; e <= epoch; e++) {
            long slot = (e % IndexMetaDescriptor.PATCH_SLOTS) * IndexMetaDescriptor.PATCH_SLOT_BYTES;
            long offset = directoryRead.readLong(directoryVerb, slot);
            long bytes = directoryRead.readLong(directoryVerb, slot + 8);
            if (bytes <= 0 || bytes > layout.modelsBytes() || offset < 0 || offset + bytes > layout.modelsBytes()) {
                return null;
            }
            verbs[(int) (e - seen.epoch - 1)] = batch.read(layout.modelsAddress(offset), Math.toIntExact(bytes));
        }
        BatchResult patches = connection.execute(batch);
        List<LeanModel> records = List.of(seen.models);
        for (long e = seen.epoch + 1; e <= epoch && records != null; e++) {
            ModelPatch patch = ModelPatch.decode(patches.read(verbs[(int) (e - seen.epoch - 1)]), e);
            records = patch == null ? null : patch.applyTo(records);
        }
        return records;
    }

    /** Drops cached words, chains and spare slots of models {@code fresh} does not have (same block, same record). */
    private void forgetRetired(View fresh) {
        java.util.TreeMap<Long, LeanModel> live = new java.util.TreeMap<>();
        for (LeanModel model : fresh.models) {
            live.put(model.blockOffset(), model);
        }
        java.util.Set<LeanModel> kept = new java.util.HashSet<>(List.of(fresh.models));
        java.util.function.LongPredicate alive = offset -> {
            Map.Entry<Long, LeanModel> owner = live.floorEntry(offset);
            return owner != null && kept.contains(owner.getValue())
                    && offset < owner.getValue().groupOffset(owner.getValue().groupCount());
        };
        knownWords.keySet().removeIf(offset -> !alive.test(offset));
        knownChains.removeKeysIf(offset -> !alive.test(offset));
        Map<LeanModel, Integer> indexOf = new java.util.IdentityHashMap<>();
        for (int m = 0; m < fresh.models.length; m++) {
            indexOf.put(fresh.models[m], m);
        }
        knownChains.forEachKey(offset -> {
            Map.Entry<Long, LeanModel> owner = live.floorEntry(offset);
            Integer model = owner == null ? null : indexOf.get(owner.getValue());
            if (model != null) {
                fresh.mayKnowChains[model] = true;
            }
        });
        spareSlots.keySet().removeIf(offset -> !live.containsKey(offset));
    }

    View view() {
        return view;
    }

    /** A leaf for a new delta leaf, (number, lowest epoch), or null: given back or recycled ones first. */
    private long[] takeLeaf() {
        long[] recycled = recycledLeaves.poll();
        if (recycled != null) {
            return recycled;
        }
        long leaf = leafPool.take();
        return leaf < 0 ? null : new long[] {leaf, 0};
    }

    /** Takes in the chunk the leaf region's counter handed out from {@code firstLeaf}; notes when it is used up. */
    private void refillFromRegion(long firstLeaf, int count) {
        if (firstLeaf + count > layout.leafCapacityOfRegion()) {
            leafRegionFull = true;
        }
        leafPool.refill(firstLeaf, count, layout.leafCapacityOfRegion());
    }

    /**
     * Claims up to {@link #RECYCLE_CLAIM} leaves from the recycled-leaf ring (see
     * {@link IndexMetaDescriptor#RECYCLED_TAKEN_OFFSET}): reads the counters, then CASes the taken count past the
     * slots it wants and reads them in the same doorbell (valid if the CAS won: the retrainer never rewrites a slot
     * not yet taken). Two round trips per claim, only once the region's counter is used up. False if none are free.
     */
    private boolean claimRecycled() {
        int slots = IndexMetaDescriptor.recycleSlots(layout.metaBytes());
        for (int attempt = 0; slots > 0 && attempt < 8; attempt++) {
            DoorbellBatch read = new DoorbellBatch();
            int takenVerb = read.read(layout.metaAddress(IndexMetaDescriptor.RECYCLED_TAKEN_OFFSET), Long.BYTES);
            int publishedVerb = read.read(layout.metaAddress(IndexMetaDescriptor.RECYCLED_PUBLISHED_OFFSET), Long.BYTES);
            BatchResult ring = connection.execute(read);
            long taken = ring.readLong(takenVerb, 0);
            int wanted = (int) Math.min(RECYCLE_CLAIM, ring.readLong(publishedVerb, 0) - taken);
            if (wanted <= 0) {
                return false;
            }
            DoorbellBatch claim = new DoorbellBatch();
            int casVerb = claim.compareAndSwap(layout.metaAddress(IndexMetaDescriptor.RECYCLED_TAKEN_OFFSET), taken, taken + wanted);
            int first = (int) (taken % slots);
            int firstRun = Math.min(wanted, slots - first);
            int[] slotVerbs = {claim.read(layout.metaAddress(IndexMetaDescriptor.RECYCLE_RING_OFFSET
                    + (long) first * IndexMetaDescriptor.RECYCLE_SLOT_BYTES), firstRun * IndexMetaDescriptor.RECYCLE_SLOT_BYTES),
                    firstRun == wanted ? -1 : claim.read(layout.metaAddress(IndexMetaDescriptor.RECYCLE_RING_OFFSET),
                            (wanted - firstRun) * IndexMetaDescriptor.RECYCLE_SLOT_BYTES)};
            BatchResult claimed = connection.execute(claim);
            if (!claimed.casSucceeded(casVerb)) {
                continue; // another compute node claimed meanwhile
            }
            for (int i = 0; i < wanted; i++) {
                int verb = i < firstRun ? slotVerbs[0] : slotVerbs[1];
                long offset = (long) (i < firstRun ? i : i - firstRun) * IndexMetaDescriptor.RECYCLE_SLOT_BYTES;
                recycledLeaves.add(new long[] {claimed.readLong(verb, offset), claimed.readLong(verb, offset + 8)});
            }
            leavesRecycled.add(wanted);
            return true;
        }
        return false;
    }

    /** Leaves this compute node took from the recycled-leaf ring. */
    public long leavesRecycled() {
        return leavesRecycled.sum();
    }

    /** Where group {@code group} of {@code model} heads live: the key of what is cached about it. */
    private static long cacheKey(LeanModel model, int group) {
        return model.groupOffset(group);
    }

    /**
     * One epoch's models and every operation on them. An operation runs on one view from start to end; when it meets a
     * newer epoch it throws {@link StaleModelsException} having changed nothing, and runs again on a fresh view.
     */
    final class View {
        final long epoch;
        final LeanModel[] models;
        final long[] lowKeys;
        /**
         * Per model: whether the cache may know a delta chain of one of its groups, so that a lookup on a model without
         * one skips the chain map. A hint, set without ordering: a lookup that misses a flag just set takes the fast
         * path, whose group heads still show the delta leaves and send it to the general path.
         */
        final boolean[] mayKnowChains;

        View(long epoch, LeanModel[] models) {
            this.epoch = epoch;
            this.models = models;
            this.mayKnowChains = new boolean[models.length];
            this.lowKeys = new long[models.length];
            for (int m = 0; m < lowKeys.length; m++) {
                lowKeys[m] = models[m].lowKey();
            }
        }

        int modelFor(long key) {
            return UnsignedKeys.floorIndex(lowKeys, key);
        }

        IndexLayout layout() {
            return layout;
        }

        long cacheKey(int model, int group) {
            return LeanIndex.cacheKey(models[model], group);
        }

        long[] knownChain(int model, int group) {
            return knownChains.get(cacheKey(model, group));
        }

        // ------------------------------------------------------------------ lookup

        /** Where a key's window and groups lie, and what one doorbell read of them. */
        private static final class Probe {
            final long key;
            final LeanModel model;
            final int modelIndex;
            final int first;
            final int last;
            final int firstGroup;
            final int lastGroup;
            int headsVerb = -1;
            int baseVerb = -1;
            /** The groups a write locks first ({@link #chooseWriteGroups}). */
            int writeFirstGroup;
            int writeLastGroup;

            Probe(View view, long key) {
                this(view, key, view.modelFor(key));
            }

            private Probe(View view, long key, int modelIndex) {
                this(view, key, modelIndex, view.models[modelIndex].window(key));
            }

            /** The probe of {@code key}, whose model and window the caller has already found (one prediction). */
            Probe(View view, long key, int modelIndex, long window) {
                this.key = key;
                this.modelIndex = modelIndex;
                this.model = view.models[modelIndex];
                this.first = LeanModel.firstOf(window);
                this.last = LeanModel.lastOf(window);
                this.firstGroup = model.groupOfRank(first);
                this.lastGroup = model.groupOfRank(last);
            }

            /**
             * Chooses the groups a write of the key locks first. An exact model (a room of evenly spaced fences) names the
             * key's group outright: only that one, so that concurrent appends of neighbouring keys do not queue on each
             * other's window. Otherwise every group the window touches; a guess that was wrong adds the right group
             * once the window is read.
             */
            void chooseWriteGroups() {
                boolean exact = model.maxError() == 0;
                writeFirstGroup = exact ? model.ownerGroupOnExactModel(key) : firstGroup;
                writeLastGroup = exact ? writeFirstGroup : lastGroup;
            }

            /** The group that owns the key as the window read in {@code result} shows it. */
            int owningGroup(BatchResult result) {
                long located = locate(result);
                return model.groupOfRank(located >= 0 ? (int) located : (int) (-located - 2));
            }

            /** Per touched group (index from firstGroup): the READ verbs of its cached chain, by leaf reference. */
            Map<Long, Integer> chainVerbs;

            /** Appends READs of every leaf of the touched groups' chains the cache knows. */
            void appendKnownChains(View view, DoorbellBatch batch) {
                for (int g = firstGroup; g <= lastGroup; g++) {
                    long[] chain = view.knownChain(modelIndex, g);
                    if (chain == null || chain.length > MAX_PREFETCHED_CHAIN || batch.size() + chain.length > MAX_PREFETCH_VERBS) {
                        continue; // a long chain (compaction is due) or a full doorbell: walked leaf by leaf instead
                    }
                    if (chainVerbs == null) {
                        chainVerbs = new HashMap<>();
                    }
                    for (long reference : chain) {
                        chainVerbs.put(reference, batch.read(view.layout().leafAddress(reference), view.layout().leafBytes()));
                    }
                }
            }

            void appendReads(IndexLayout layout, DoorbellBatch batch, boolean heads) {
                if (heads) {
                    headsVerb = batch.read(layout.tablesAddress(model.groupOffset(firstGroup)),
                            TablesDescriptor.GROUP_HEAD_BYTES * (lastGroup - firstGroup + 1));
                }
                baseVerb = batch.read(layout.tablesAddress(model.baseEntryOffset(first)),
                        TablesDescriptor.BASE_ENTRY_BYTES * (last - first + 1));
            }

            /**
             * The key's rank in the base window read, or {@code -(floorRank + 2)} if it is not there: the rank of the
             * largest base key below it ({@code -1} if none), which names the owning group.
             */
            long locate(BatchResult result) {
                int found = searchWindow(result.read(baseVerb), 0, last - first + 1, key);
                if (found >= 0) {
                    return first + found;
                }
                int low = -found - 1;
                if (low == 0 && first > 0) {
                    throw new CorruptDataException("key=" + Long.toUnsignedString(key) + " lies below its lookup window's "
                            + "first base key: the model's error bound is broken or the base is corrupt");
                }
                return -((first + low - 1) + 2L);
            }

            long baseValue(BatchResult result, int rank) {
                return WordOrder.getLong(result.read(baseVerb), (long) TablesDescriptor.BASE_ENTRY_BYTES * (rank - first) + 8);
            }

            long groupWord(BatchResult result, int group) {
                return result.readLong(headsVerb, (long) TablesDescriptor.GROUP_HEAD_BYTES * (group - firstGroup));
            }

            long deltaHead(BatchResult result, int group) {
                return result.readLong(headsVerb, (long) TablesDescriptor.GROUP_HEAD_BYTES * (group - firstGroup) + 8);
            }
        }

        /**
         * The hot path: one prediction, one doorbell of three READs built in the caller's scratch ({@link LookupScratch})
         * and completed into the scratch's buffer, the window searched in place there; nothing allocated where the
         * transport fills the buffer in place. A group with delta leaves among those the window touches takes the
         * general path ({@link #answer}), which reads its cached chain in the same doorbell, on the same prediction.
         *
         * @return whether {@code key} is present, its word then in {@code scratch.value}
         */
        boolean find(long key, LookupScratch scratch) {
            int modelIndex = modelFor(key);
            LeanModel model = models[modelIndex];
            long window = model.window(key);
            int first = LeanModel.firstOf(window);
            int last = LeanModel.lastOf(window);
            int firstGroup = model.groupOfRank(first);
            int lastGroup = model.groupOfRank(last);
            if (mayKnowChains[modelIndex]) {
                for (int g = firstGroup; g <= lastGroup; g++) {
                    if (knownChains.containsKey(cacheKey(modelIndex, g))) {
                        return slowGet(key, modelIndex, window, scratch);
                    }
                }
            }
            DoorbellBatch batch = scratch.batch;
            batch.clear();
            CompletionBuffer result = scratch.completion;
            int headsVerb = batch.read(layout.tablesAddress(model.groupOffset(firstGroup)),
                    TablesDescriptor.GROUP_HEAD_BYTES * (lastGroup - firstGroup + 1));
            int baseVerb = batch.read(layout.tablesAddress(model.baseEntryOffset(first)),
                    TablesDescriptor.BASE_ENTRY_BYTES * (last - first + 1));
            int floorVerb = appendReuseFloor(batch);
            connection.execute(batch, result);
            checkReuseFloor(result.readLong(floorVerb, 0));
            int found = searchWindow(result.readBytes(), result.readOffset(baseVerb), last - first + 1, key);
            if (found >= 0) {
                int rank = first + found;
                long word = result.readLong(headsVerb, (long) TablesDescriptor.GROUP_HEAD_BYTES * (model.groupOfRank(rank) - firstGroup));
                if (word == GroupWord.RETIRED) {
                    throw new StaleModelsException();
                }
                if (GroupWord.isDeleted(word, rank % model.groupSize())) {
                    return false;
                }
                scratch.value = result.readLong(baseVerb, (long) TablesDescriptor.BASE_ENTRY_BYTES * found + 8);
                return true;
            }
            int low = -found - 1;
            if (low == 0 && first > 0) {
                throw new CorruptDataException("key=" + Long.toUnsignedString(key) + " lies below its lookup window's "
                        + "first base key: the model's error bound is broken or the base is corrupt");
            }
            int group = model.groupOfRank(first + low - 1);
            long offset = (long) TablesDescriptor.GROUP_HEAD_BYTES * (group - firstGroup);
            if (result.readLong(headsVerb, offset) == GroupWord.RETIRED) {
                throw new StaleModelsException();
            }
            if (result.readLong(headsVerb, offset + 8) == 0) {
                return false;
            }
            return slowGet(key, modelIndex, window, scratch); // the owning group has delta leaves this cache did not know of
        }

        /**
         * A lookup that may need delta leaves, on the model and window {@link #get} found: the known chains of the
         * touched groups in the same doorbell.
         */
        private boolean slowGet(long key, int modelIndex, long window, LookupScratch scratch) {
            Probe probe = new Probe(this, key, modelIndex, window);
            DoorbellBatch batch = new DoorbellBatch();
            probe.appendReads(layout, batch, true);
            probe.appendKnownChains(this, batch);
            int floorVerb = appendReuseFloor(batch);
            BatchResult result = connection.execute(batch);
            checkReuseFloor(result.readLong(floorVerb, 0));
            OptionalLong answer = answer(probe, result);
            scratch.value = answer.orElse(0);
            return answer.isPresent();
        }

        /** READs the reuse floor, last in a read doorbell (see {@link LeanRetrainer}): after every window it checks. */
        int appendReuseFloor(DoorbellBatch batch) {
            return batch.read(layout.metaAddress(IndexMetaDescriptor.REUSE_FLOOR_OFFSET), Long.BYTES);
        }

        /**
         * Tables space these models may name was handed out again if the reuse floor a doorbell read ({@code floor}) is
         * past their epoch: what the doorbell read may be another model's.
         */
        void checkReuseFloor(long floor) {
            if (floor > epoch) {
                throw new StaleModelsException();
            }
        }

        private OptionalLong answer(Probe probe, BatchResult result) {
            long located = probe.locate(result);
            if (located >= 0) {
                int rank = (int) located;
                long word = probe.groupWord(result, probe.model.groupOfRank(rank));
                if (word == GroupWord.RETIRED) {
                    throw new StaleModelsException();
                }
                return GroupWord.isDeleted(word, rank % probe.model.groupSize())
                        ? OptionalLong.empty() : OptionalLong.of(probe.baseValue(result, rank));
            }
            int group = probe.model.groupOfRank((int) (-located - 2));
            if (probe.groupWord(result, group) == GroupWord.RETIRED) {
                throw new StaleModelsException();
            }
            long head = probe.deltaHead(result, group);
            if (head == 0) {
                return OptionalLong.empty();
            }
            for (ChainLeaf leaf : readChain(probe.modelIndex, group, head, probe.chainVerbs, result)) {
                if (leaf.leaf().owns(probe.key)) {
                    int index = leaf.leaf().find(probe.key);
                    return index >= 0 ? OptionalLong.of(leaf.leaf().value(index)) : OptionalLong.empty();
                }
            }
            return OptionalLong.empty();
        }

        /**
         * The index of {@code key} among the {@code entries} base entries of a window as read, which start at
         * {@code baseOffset} of {@code bytes}, or {@code -(insertionPoint + 1)}: an unsigned binary search in place, over
         * the entries' key words.
         */
        static int searchWindow(MemorySegment bytes, long baseOffset, int entries, long key) {
            int low = 0;
            int high = entries - 1;
            while (low <= high) {
                int middle = (low + high) >>> 1;
                int order = Long.compareUnsigned(
                        WordOrder.getLong(bytes, baseOffset + (long) TablesDescriptor.BASE_ENTRY_BYTES * middle), key);
                if (order < 0) {
                    low = middle + 1;
                } else if (order > 0) {
                    high = middle - 1;
                } else {
                    return middle;
                }
            }
            return -(low + 1);
        }

        /** One leaf of a delta chain as read: its reference (a {@link LeafTableEntry}-shaped word) and contents. */
        private record ChainLeaf(long reference, Leaf leaf) {
        }

        /**
         * Reads a delta chain whole from its head, one doorbell per leaf, each leaf read again while it fails its checksum
         * (a write landing), following the links read in the very contents that were accepted (see the class notes for why
         * no key present throughout is missed).
         */
        private List<ChainLeaf> readChain(int model, int group, long head, Map<Long, Integer> prefetched, BatchResult result) {
            List<ChainLeaf> chain = new ArrayList<>(2);
            long reference = head;
            for (int steps = 0; reference != 0; steps++) {
                if (steps == MAX_CHAIN) {
                    throw new CorruptDataException("a delta chain is longer than its synonym table: corrupt links");
                }
                Integer verb = prefetched == null ? null : prefetched.get(reference);
                Leaf leaf = verb == null ? null : Leaf.decodeOrNull(result.read(verb), layout.leafCapacity());
                if (leaf == null) {
                    leaf = readLeaf(reference); // not known to the cache, or torn: read it on its own
                }
                if (leaf.epoch() > epoch) {
                    throw new StaleModelsException();
                }
                chain.add(new ChainLeaf(reference, leaf));
                reference = leaf.nextLeaf();
            }
            learnChain(model, group, chain);
            return chain;
        }

        private void learnChain(int model, int group, List<ChainLeaf> chain) {
            long[] references = new long[chain.size()];
            for (int i = 0; i < references.length; i++) {
                references[i] = chain.get(i).reference();
            }
            if (references.length == 0) {
                knownChains.remove(cacheKey(model, group));
            } else {
                knownChains.put(cacheKey(model, group), references);
                mayKnowChains[model] = true;
            }
        }

        private Leaf readLeaf(long reference) {
            counters.chainDoorbells.increment();
            for (int attempt = 0; attempt < MAX_TORN_READS; attempt++) {
                DoorbellBatch batch = new DoorbellBatch();
                int verb = batch.read(layout.leafAddress(reference), layout.leafBytes());
                Leaf leaf = Leaf.decodeOrNull(connection.execute(batch).read(verb), layout.leafCapacity());
                if (leaf != null) {
                    return leaf;
                }
                counters.tornReads.increment();
                if (attempt > 8) {
                    LockSupport.parkNanos(Math.min(1_000_000L, 1_000L << Math.min(10, attempt - 8)));
                }
            }
            throw new CorruptDataException("delta leaf keeps failing its checksum after " + MAX_TORN_READS
                    + " reads: corrupt leaf or a writer died mid-write");
        }

        /** The values of {@code keys}: the windows of up to {@value #KEYS_PER_DOORBELL} keys in one doorbell. */
        OptionalLong[] getAll(long[] keys) {
            OptionalLong[] values = new OptionalLong[keys.length];
            for (int start = 0; start < keys.length; start += KEYS_PER_DOORBELL) {
                int end = Math.min(keys.length, start + KEYS_PER_DOORBELL);
                DoorbellBatch batch = new DoorbellBatch();
                Probe[] probes = new Probe[end - start];
                for (int i = start; i < end; i++) {
                    probes[i - start] = new Probe(this, keys[i]);
                    probes[i - start].appendReads(layout, batch, true);
                    probes[i - start].appendKnownChains(this, batch);
                }
                int floorVerb = appendReuseFloor(batch);
                BatchResult result = connection.execute(batch);
                checkReuseFloor(result.readLong(floorVerb, 0));
                for (int i = start; i < end; i++) {
                    values[i] = answer(probes[i - start], result);
                }
            }
            return values;
        }

        // ------------------------------------------------------------------ writes


        /** A group a write locks, and what the write learned and changes of it. */
        private static final class LockedGroup {
            final int model;
            final int group;
            long expected;
            int casVerb;
            boolean holding;
            long word;
            long head;
            boolean headChanged;
            List<ChainLeaf> chain;

            LockedGroup(int model, int group) {
                this.model = model;
                this.group = group;
            }
        }

        private static long groupId(int model, int group) {
            return (long) model << 32 | group;
        }


        private long knownWord(int model, int group) {
            return knownWords.getOrDefault(cacheKey(model, group), usualWord(model));
        }

        /**
         * The word a group of {@code model} most likely holds when nothing is known of it, the CAS guess the cache is
         * sparse against: nothing deleted, but for a model of one-fence groups (an empty index's, a room for appends)
         * the fence deleted, as each such group is until its key is written.
         */
        private long usualWord(int model) {
            return models[model].startsDeleted() ? GroupWord.allDeleted(1) : GroupWord.EMPTY;
        }

        private void learnWord(int model, int group, long word) {
            long unlocked = GroupWord.withoutLock(word);
            if (unlocked == usualWord(model)) {
                knownWords.remove(cacheKey(model, group));
            } else {
                knownWords.put(cacheKey(model, group), unlocked);
            }
        }

        private void lockedWrite(long[] keys, WordUpdate[] updates, int start, int end, DoorbellExtras extras,
                                 WriteResult[] results) {
            TreeMap<Long, LockedGroup> locks = new TreeMap<>();
            Probe[] probes = new Probe[end - start];
            for (int i = start; i < end; i++) {
                Probe probe = new Probe(this, keys[i]);
                probes[i - start] = probe;
                probe.chooseWriteGroups();
                for (int g = probe.writeFirstGroup; g <= probe.writeLastGroup; g++) {
                    int group = g;
                    locks.computeIfAbsent(groupId(probe.modelIndex, g), id -> new LockedGroup(probe.modelIndex, group));
                }
            }
            long timeoutNanos = lockTimeoutNanos;
            long deadline = System.nanoTime() + timeoutNanos;
            int conflicts = 0;
            int compactionWaits = 0;
            boolean extrasSent = false;
            while (true) {
                DoorbellBatch batch = new DoorbellBatch();
                boolean extrasHere = extras != null && !extrasSent;
                if (extrasHere) {
                    extras.appendTo(batch);
                    extrasSent = true;
                }
                int epochVerb = batch.read(layout.metaAddress(IndexMetaDescriptor.MODEL_EPOCH_OFFSET), Long.BYTES);
                for (LockedGroup group : locks.values()) {
                    if (!group.holding) {
                        group.expected = knownWord(group.model, group.group);
                        group.casVerb = batch.compareAndSwap(layout.tablesAddress(models[group.model].groupOffset(group.group)),
                                group.expected, GroupWord.withLock(group.expected));
                    }
                }
                // Read after the CASes: what the groups hold under our locks (the delta heads) and the windows.
                Map<Long, Integer> headVerbs = new HashMap<>();
                for (LockedGroup group : locks.values()) {
                    headVerbs.put(groupId(group.model, group.group),
                            batch.read(layout.tablesAddress(models[group.model].groupOffset(group.group) + 8), Long.BYTES));
                }
                for (Probe probe : probes) {
                    probe.appendReads(layout, batch, false);
                    probe.chainVerbs = null;
                    probe.appendKnownChains(this, batch);
                }
                // A key whose groups have no delta leaf may need one: claim a slot (and leaves) now, not in a doorbell of
                // its own later. What a write does not use stays for the next one of the model.
                Map<Integer, java.util.Set<Integer>> mayStart = new HashMap<>(); // model -> groups that may need a first leaf
                for (Probe probe : probes) {
                    // The key's owning group is among those the write locks (the one named, on an exact model).
                    boolean chained = true;
                    for (int g = probe.writeFirstGroup; g <= probe.writeLastGroup; g++) {
                        chained &= knownChains.containsKey(cacheKey(probe.modelIndex, g));
                    }
                    if (!chained) {
                        mayStart.computeIfAbsent(probe.modelIndex, m -> new java.util.HashSet<>()).add(probe.writeFirstGroup);
                    }
                }
                Map<Integer, int[]> slotClaims = new HashMap<>(); // model -> (FAA verb, slots claimed)
                int leavesWanted = 0;
                for (Map.Entry<Integer, java.util.Set<Integer>> model : mayStart.entrySet()) {
                    java.util.Deque<Integer> spares = spareSlots.get(models[model.getKey()].blockOffset());
                    int missing = model.getValue().size() - (spares == null ? 0 : spares.size());
                    if (missing > 0) {
                        slotClaims.put(model.getKey(), new int[] {batch.fetchAndAdd(
                                layout.tablesAddress(models[model.getKey()].synonymTableOffset()), missing), missing});
                    }
                    leavesWanted += model.getValue().size();
                }
                int leavesMissing = leavesWanted - leafPool.available() - recycledLeaves.size();
                int leafCount = (leavesMissing + IndexGeometry.LEAF_ALLOCATION_CHUNK - 1)
                        / IndexGeometry.LEAF_ALLOCATION_CHUNK * IndexGeometry.LEAF_ALLOCATION_CHUNK;
                int leafClaim = leavesMissing > 0 && !leafRegionFull
                        ? batch.fetchAndAdd(layout.leavesAddress(LeafRegionDescriptor.USED_LEAVES_OFFSET), leafCount) : -1;
                BatchResult result = connection.execute(batch);
                if (extrasHere) {
                    extras.completed(result);
                }
                for (Map.Entry<Integer, int[]> claim : slotClaims.entrySet()) {
                    long before = result.oldValue(claim.getValue()[0]);
                    for (int k = 0; k < claim.getValue()[1] && before + k < TablesDescriptor.USABLE_SYNONYM_SLOTS; k++) {
                        spareSlots.computeIfAbsent(models[claim.getKey()].blockOffset(), m -> new java.util.concurrent.ConcurrentLinkedDeque<>())
                                .add((int) (before + k) + 1);
                    }
                }
                if (leafClaim >= 0) {
                    refillFromRegion(result.oldValue(leafClaim), leafCount);
                }
                boolean stale = result.readLong(epochVerb, 0) != epoch;
                boolean contended = false;
                boolean compacting = false;
                boolean allHeld = true;
                for (LockedGroup group : locks.values()) {
                    if (group.holding) {
                        continue;
                    }
                    long old = result.oldValue(group.casVerb);
                    if (old == group.expected) {
                        group.holding = true;
                        group.word = group.expected;
                        continue;
                    }
                    allHeld = false;
                    if (old == GroupWord.RETIRED) {
                        stale = true;
                    } else if (GroupWord.isLocked(old)) {
                        contended = true;
                        compacting |= GroupWord.isHeldByRetrainer(old);
                    } else {
                        learnWord(group.model, group.group, old); // only our guess was stale: CAS again at once
                    }
                }
                if (stale) {
                    release(locks.values());
                    throw new StaleModelsException();
                }
                if (contended) {
                    counters.lockConflicts.increment();
                    release(locks.values());
                    if (System.nanoTime() > deadline) {
                        throw new IndexGaveUpException("could not lock the groups of keys from key="
                                + Long.toUnsignedString(keys[start]) + " within "
                                + TimeUnit.NANOSECONDS.toMillis(timeoutNanos) + " ms; nothing was changed");
                    }
                    if (compacting) {
                        counters.compactionWaits.increment();
                        waitOutCompaction(++compactionWaits);
                    } else {
                        backOff(++conflicts);
                    }
                    continue;
                }
                if (!allHeld) {
                    continue;
                }
                if (lockOwningGroups(probes, result, locks)) {
                    continue; // a group the windows' reads showed we need: lock it too, keeping those we hold
                }
                for (LockedGroup group : locks.values()) {
                    group.head = result.readLong(headVerbs.get(groupId(group.model, group.group)), 0);
                }
                try {
                    applyLocked(keys, updates, start, end, probes, result, locks, results);
                } catch (RuntimeException e) {
                    release(locks.values());
                    throw e;
                }
                return;
            }
        }

        /** Adds to {@code locks} each key's owning group that is not there yet; whether it added any. */
        private boolean lockOwningGroups(Probe[] probes, BatchResult result, TreeMap<Long, LockedGroup> locks) {
            boolean added = false;
            for (Probe probe : probes) {
                int group = probe.owningGroup(result);
                if (!locks.containsKey(groupId(probe.modelIndex, group))) {
                    locks.put(groupId(probe.modelIndex, group), new LockedGroup(probe.modelIndex, group));
                    added = true;
                }
            }
            return added;
        }

        /** Applies the updates under the locks and writes everything back in one doorbell, unlocks last. */
        private void applyLocked(long[] keys, WordUpdate[] updates, int start, int end, Probe[] probes, BatchResult read,
                                 TreeMap<Long, LockedGroup> locks, WriteResult[] results) {
            DoorbellBatch batch = new DoorbellBatch();
            Map<Long, Long> baseWrites = new LinkedHashMap<>(); // address -> value word
            Map<Long, Long> baseValues = new HashMap<>(); // (model, rank) -> value as changed by this call
            Map<Long, ChainLeaf> dirty = new LinkedHashMap<>();
            List<long[]> slotWrites = new ArrayList<>();
            List<long[]> claimedLeaves = new ArrayList<>();
            try {
                for (int i = start; i < end; i++) {
                    Probe probe = probes[i - start];
                    long located = probe.locate(read);
                    if (located >= 0) {
                        int rank = (int) located;
                        LockedGroup group = locks.get(groupId(probe.modelIndex, probe.model.groupOfRank(rank)));
                        int bit = rank % probe.model.groupSize();
                        long id = groupId(probe.modelIndex, rank);
                        long value = baseValues.containsKey(id) ? baseValues.get(id) : probe.baseValue(read, rank);
                        OptionalLong previous = GroupWord.isDeleted(group.word, bit) ? OptionalLong.empty() : OptionalLong.of(value);
                        OptionalLong next = updates[i].apply(previous, batch);
                        if (next.isPresent()) {
                            baseValues.put(id, next.getAsLong());
                            baseWrites.put(layout.tablesAddress(probe.model.baseEntryOffset(rank) + 8), next.getAsLong());
                        }
                        group.word = GroupWord.withDeleted(group.word, bit, next.isEmpty());
                        results[i] = new WriteResult(previous, next);
                        continue;
                    }
                    LockedGroup group = locks.get(groupId(probe.modelIndex, probe.model.groupOfRank((int) (-located - 2))));
                    if (group.chain == null) {
                        group.chain = group.head == 0 ? new ArrayList<>()
                                : new ArrayList<>(readChain(group.model, group.group, group.head, probe.chainVerbs, read));
                    }
                    int position = owningPosition(group.chain, keys[i]);
                    Leaf leaf = position < 0 ? null : group.chain.get(position).leaf();
                    int index = leaf == null ? -1 : leaf.find(keys[i]);
                    OptionalLong previous = index >= 0 ? OptionalLong.of(leaf.value(index)) : OptionalLong.empty();
                    OptionalLong next = updates[i].apply(previous, batch);
                    if (next.isPresent()) {
                        if (leaf == null) {
                            ChainLeaf first = newDeltaLeaf(probe.modelIndex, slotWrites, claimedLeaves, 0, -1L, 0);
                            group.chain.add(first);
                            group.head = first.reference();
                            group.headChanged = true;
                            counters.leavesStarted.increment();
                            dirty.put(first.reference(), first);
                            first.leaf().put(keys[i], next.getAsLong());
                        } else if (index >= 0 || !leaf.isFull()) {
                            leaf.put(keys[i], next.getAsLong());
                            dirty.put(group.chain.get(position).reference(), group.chain.get(position));
                        } else {
                            ChainLeaf left = group.chain.get(position);
                            Leaf rightLeaf = new Leaf(leaf.capacity());
                            leaf.splitInto(rightLeaf);
                            ChainLeaf right = newDeltaLeaf(probe.modelIndex, slotWrites, claimedLeaves, rightLeaf.lowFence(),
                                    rightLeaf.highFence(), rightLeaf.nextLeaf());
                            for (int k = 0; k < rightLeaf.count(); k++) {
                                right.leaf().put(rightLeaf.key(k), rightLeaf.value(k));
                            }
                            leaf.setNextLeaf(right.reference());
                            group.chain.add(position + 1, right);
                            counters.splits.increment();
                            dirty.put(right.reference(), right);
                            dirty.put(left.reference(), left);
                            (leaf.owns(keys[i]) ? leaf : right.leaf()).put(keys[i], next.getAsLong());
                        }
                    } else if (index >= 0) {
                        leaf.remove(keys[i]);
                        dirty.put(group.chain.get(position).reference(), group.chain.get(position));
                    }
                    results[i] = new WriteResult(previous, next);
                }
            } catch (RuntimeException e) {
                for (long[] leaf : claimedLeaves) {
                    recycledLeaves.add(leaf); // unused: the next new delta leaf takes it
                }
                throw e;
            }
            // New delta leaves first (whole, before any link to them), then changed ones (their changed words), base
            // values, heads, unlocks last.
            for (boolean fresh : new boolean[] {true, false}) {
                for (ChainLeaf changed : dirty.values()) {
                    if ((changed.leaf().decodedImage() == null) == fresh) {
                        appendLeafWrite(batch, layout.leafAddress(changed.reference()), changed.leaf());
                    }
                }
            }
            for (long[] slot : slotWrites) {
                batch.writeLong(slot[0], slot[1]);
            }
            for (Map.Entry<Long, Long> write : baseWrites.entrySet()) {
                batch.writeLong(write.getKey(), write.getValue());
            }
            for (LockedGroup group : locks.values()) {
                if (group.headChanged) {
                    batch.writeLong(layout.tablesAddress(models[group.model].groupOffset(group.group) + 8), group.head);
                }
            }
            for (LockedGroup group : locks.values()) {
                batch.writeLong(layout.tablesAddress(models[group.model].groupOffset(group.group)), group.word);
                learnWord(group.model, group.group, group.word);
            }
            BatchResult written = connection.execute(batch);
            for (LockedGroup group : locks.values()) {
                if (group.chain != null) {
                    learnChain(group.model, group.group, group.chain); // only now: every leaf it names was written
                }
            }
            for (int i = start; i < end; i++) {
                updates[i].finalDoorbellCompleted(written);
            }
        }

        private static int owningPosition(List<ChainLeaf> chain, long key) {
            for (int position = 0; position < chain.size(); position++) {
                if (chain.get(position).leaf().owns(key)) {
                    return position;
                }
            }
            return -1;
        }

        /**
         * A new, empty delta leaf of {@code model} owning {@code [lowFence, highFence]} and linking to {@code next}: claims
         * an SLT slot and a leaf in a doorbell of its own, and appends the slot's entry to {@code slotWrites}; the leaf itself
         * is written whole with the write's other leaves, before any link to it.
         *
         * @throws IndexFullException if the model's SLT or the leaf region is full; nothing was changed
         */
        private ChainLeaf newDeltaLeaf(int modelIndex, List<long[]> slotWrites, List<long[]> claimed, long lowFence,
                                       long highFence, long next) {
            LeanModel model = models[modelIndex];
            long[] taken = takeLeaf();
            long leafNumber = taken == null ? -1 : taken[0];
            java.util.Deque<Integer> spares = spareSlots.get(models[modelIndex].blockOffset());
            Integer spare = spares == null ? null : spares.poll();
            long slotsBefore;
            if (spare != null && leafNumber >= 0) {
                slotsBefore = spare - 1;
            } else {
                DoorbellBatch claim = new DoorbellBatch();
                int slotVerb = spare != null ? -1 : claim.fetchAndAdd(layout.tablesAddress(model.synonymTableOffset()), 1);
                int chunkVerb = leafNumber < 0 && !leafRegionFull
                        ? claim.fetchAndAdd(layout.leavesAddress(LeafRegionDescriptor.USED_LEAVES_OFFSET), IndexGeometry.LEAF_ALLOCATION_CHUNK)
                        : -1;
                BatchResult claimedResult = claim.isEmpty() ? null : connection.execute(claim);
                if (chunkVerb >= 0) {
                    refillFromRegion(claimedResult.oldValue(chunkVerb), IndexGeometry.LEAF_ALLOCATION_CHUNK);
                }
                if (leafNumber < 0 && (taken = takeLeaf()) == null && claimRecycled()) {
                    taken = takeLeaf(); // the region is used up: leaves compaction freed
                }
                leafNumber = taken == null ? -1 : taken[0];
                slotsBefore = spare != null ? spare - 1 : claimedResult.oldValue(slotVerb);
            }
            if (slotsBefore >= TablesDescriptor.USABLE_SYNONYM_SLOTS || leafNumber < 0) {
                if (leafNumber >= 0) {
                    recycledLeaves.add(taken);
                }
                if (slotsBefore < TablesDescriptor.USABLE_SYNONYM_SLOTS) {
                    spareSlots.computeIfAbsent(models[modelIndex].blockOffset(), m -> new java.util.concurrent.ConcurrentLinkedDeque<>())
                            .add((int) slotsBefore + 1);
                }
                throw new IndexFullException(leafNumber >= 0, "no room for a new delta leaf in model lowKey="
                        + Long.toUnsignedString(model.lowKey()) + ": " + (leafNumber < 0 ? "the leaf region is full"
                        : "the model has no free synonym slot") + "; nothing was stored");
            }
            claimed.add(taken);
            int slot = (int) slotsBefore + 1;
            long reference = LeafTableEntry.of(IndexLayout.LOCAL_LEAF_REGION, slot, leafNumber);
            slotWrites.add(new long[] {layout.tablesAddress(model.synonymTableOffset() + TablesDescriptor.synonymSlotOffset(slot)),
                    LeafTableEntry.of(IndexLayout.LOCAL_LEAF_REGION, 0, leafNumber)});
            Leaf leaf = Leaf.empty(layout.leafCapacity(), lowFence, highFence);
            leaf.setNextLeaf(next);
            // A recycled leaf carries at least the epoch that freed it: a reader whose models still name its old model
            // sees a newer epoch than its own and refreshes instead of trusting what it now holds.
            leaf.setEpoch(Math.max(epoch, taken[1]));
            return new ChainLeaf(reference, leaf);
        }

        private void release(Iterable<LockedGroup> groups) {
            DoorbellBatch batch = new DoorbellBatch();
            for (LockedGroup group : groups) {
                if (group.holding) {
                    // By CAS, not a blind WRITE: a write that found its models stale may hold a lock on space since
                    // handed to a new model, whose word the retrainer may be writing; only our own lock is undone.
                    batch.compareAndSwap(layout.tablesAddress(models[group.model].groupOffset(group.group)),
                            GroupWord.withLock(group.expected), group.expected);
                    group.holding = false;
                }
            }
            if (!batch.isEmpty()) {
                connection.execute(batch);
            }
        }

        // ------------------------------------------------------------------ scan

        /** Groups a scan reads of one model per doorbell at most, and models (spans) per doorbell at most. */
        private static final int SCAN_GROUPS_PER_DOORBELL = 64;
        private static final int SCAN_SPANS_PER_DOORBELL = 16;
        /** Base entries a scan's doorbell reads at most (64 KiB), whatever the limit. */
        private static final int SCAN_RANKS_PER_DOORBELL = 4096;

        /**
         * Up to {@code limit} pairs with {@code from <= key <= to}, in key order: whole groups at a time (their heads and
         * base entries in one doorbell, then their delta chains), from the group that owns {@code from} on.
         */
        List<KeyValue> scan(long from, long to, int limit) {
            if (limit < 0) {
                throw new IllegalArgumentException("limit=" + limit + " must be >= 0");
            }
            List<KeyValue> out = new ArrayList<>();
            if (limit == 0 || Long.compareUnsigned(from, to) > 0) {
                return out;
            }
            Probe probe = new Probe(this, from);
            int model = probe.modelIndex;
            int group = probe.firstGroup;
            while (out.size() < limit && model < models.length) {
                // One doorbell: whole groups from here on, across models, until they hold the entries still wanted
                // (and a group of slack for the entries before from), with the chains the cache knows of them.
                DoorbellBatch batch = new DoorbellBatch();
                List<int[]> spans = new ArrayList<>(); // model, first group, groups, heads verb, base verb
                Map<Long, Integer> prefetched = new HashMap<>();
                long ranks = 0;
                long wanted = Math.min(SCAN_RANKS_PER_DOORBELL, (long) (limit - out.size()) + models[model].groupSize());
                while (model < models.length && ranks < wanted && spans.size() < SCAN_SPANS_PER_DOORBELL) {
                    LeanModel current = models[model];
                    int groups = (int) Math.min(current.groupCount() - group,
                            Math.max(1, Math.min(SCAN_GROUPS_PER_DOORBELL, (wanted - ranks + current.groupSize() - 1) / current.groupSize())));
                    int firstRank = current.groupFirstRank(group);
                    int endRank = current.groupEndRank(group + groups - 1);
                    int heads = batch.read(layout.tablesAddress(current.groupOffset(group)), TablesDescriptor.GROUP_HEAD_BYTES * groups);
                    int base = batch.read(layout.tablesAddress(current.baseEntryOffset(firstRank)),
                            TablesDescriptor.BASE_ENTRY_BYTES * (endRank - firstRank));
                    spans.add(new int[] {model, group, groups, heads, base});
                    for (int g = group; g < group + groups; g++) {
                        long[] chain = knownChain(model, g);
                        if (chain != null && batch.size() + chain.length <= MAX_PREFETCH_VERBS) {
                            for (long reference : chain) {
                                prefetched.put(reference, batch.read(layout.leafAddress(reference), layout.leafBytes()));
                            }
                        }
                    }
                    ranks += endRank - firstRank;
                    group += groups;
                    if (group >= current.groupCount()) {
                        model++;
                        group = 0;
                    }
                }
                int floorVerb = appendReuseFloor(batch);
                BatchResult result = connection.execute(batch);
                checkReuseFloor(result.readLong(floorVerb, 0));
                for (int[] span : spans) {
                    if (collect(span, result, prefetched, from, to, limit, out)) {
                        return out;
                    }
                }
            }
            return out;
        }

        /** Adds the span's live entries from {@code from} on, in key order; true once past {@code to} or the limit. */
        private boolean collect(int[] span, BatchResult result, Map<Long, Integer> prefetched, long from, long to, int limit,
                                List<KeyValue> out) {
            LeanModel current = models[span[0]];
            int firstRank = current.groupFirstRank(span[1]);
            for (int g = 0; g < span[2]; g++) {
                if (out.size() >= limit) {
                    return true;
                }
                long word = result.readLong(span[3], (long) TablesDescriptor.GROUP_HEAD_BYTES * g);
                if (word == GroupWord.RETIRED) {
                    throw new StaleModelsException();
                }
                long head = result.readLong(span[3], (long) TablesDescriptor.GROUP_HEAD_BYTES * g + 8);
                TreeMap<Long, Long> entries = new TreeMap<>(Long::compareUnsigned);
                int groupFirst = current.groupFirstRank(span[1] + g);
                int groupEnd = current.groupEndRank(span[1] + g);
                for (int rank = groupFirst; rank < groupEnd; rank++) {
                    if (!GroupWord.isDeleted(word, rank - groupFirst)) {
                        long offset = (long) TablesDescriptor.BASE_ENTRY_BYTES * (rank - firstRank);
                        entries.put(WordOrder.getLong(result.read(span[4]), offset), WordOrder.getLong(result.read(span[4]), offset + 8));
                    }
                }
                if (head != 0) {
                    for (ChainLeaf leaf : readChain(span[0], span[1] + g, head, prefetched, result)) {
                        for (int k = 0; k < leaf.leaf().count(); k++) {
                            entries.put(leaf.leaf().key(k), leaf.leaf().value(k));
                        }
                    }
                }
                for (Map.Entry<Long, Long> entry : entries.entrySet()) {
                    long key = entry.getKey();
                    if (Long.compareUnsigned(key, from) < 0) {
                        continue;
                    }
                    if (Long.compareUnsigned(key, to) > 0 || out.size() >= limit) {
                        return true;
                    }
                    out.add(new KeyValue(key, entry.getValue()));
                }
            }
            return false;
        }

    }
}
