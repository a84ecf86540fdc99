package io.rolexkv.rolex.index;

import io.rolexkv.common.fabric.BatchResult;
import io.rolexkv.common.fabric.DoorbellBatch;
import io.rolexkv.common.fabric.FabricConnection;
import io.rolexkv.common.fabric.CorruptDataException;
import io.rolexkv.common.fabric.WordOrder;
import io.rolexkv.rolex.layout.IndexMetaDescriptor;
import io.rolexkv.rolex.layout.LeafDescriptor;
import io.rolexkv.rolex.layout.LeafRegionDescriptor;
import io.rolexkv.rolex.layout.LeafTableEntry;
import io.rolexkv.rolex.layout.TablesDescriptor;
import io.rolexkv.rolex.leaf.Leaf;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.OptionalLong;
import java.util.TreeMap;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.LockSupport;
import java.util.function.Function;

/**
 * The ROLEX learned index on one memory node, operated one-sidedly from a compute node: every operation is a few
 * doorbell batches of READ, WRITE, CAS and FAA against the memory node's regions, planned from the models this
 * compute node caches. No memory-node CPU is involved.
 *
 * <h2>Structure (see the descriptors in {@code io.rolexkv.rolex.layout})</h2>
 * Models split the key space into ranges; each model maps a key to a predicted rank and owns a leaf table (LT) with
 * one entry per leaf group and a synonym leaf table (SLT) of 255 slots for overflow leaves. A leaf group is the LT
 * leaf plus a chain of synonym leaves; each leaf owns a disjoint key range (its fences), ascending along the chain.
 * Leaves never move; a key stays in its group for the life of the models (the data-movement constraint), so a model
 * keeps predicting correctly however many keys are inserted, until its SLT fills.
 *
 * <h2>Lookup: one doorbell</h2>
 * Predict the candidate groups ({@link IndexModel}), READ every leaf of them the cache knows, in one doorbell. Leaves
 * carry a CRC32C, so a read torn by a concurrent write is detected and re-read; a leaf whose next link the cache did not
 * know costs one more doorbell, after which the cache knows it ({@link LeafGroupReader} argues why no present key is
 * missed).
 *
 * <h2>Insert, update, delete: two doorbells in the common case</h2>
 * <ol>
 *   <li>CAS the lock bit into the LT entry of every candidate group (expected: the cached entry), and, in the same
 *       doorbell and therefore after the CASes, READ those groups. If every CAS won, the reads show the groups as
 *       they are under our locks.</li>
 *   <li>Change the one leaf that owns the key and WRITE the 8-byte words of it that changed (new version and
 *       checksum included), then WRITE every LT entry back unlocked, all in one doorbell, in that order: the unlock is
 *       visible only after the leaf is. An update of an existing key writes three words (the value, the version and
 *       the word holding count and checksum), an insert or delete the shifted part of the key and value arrays and
 *       the same two header words.</li>
 * </ol>
 * A CAS that lost to a locked entry means contention: release what we hold, back off (randomized exponential), retry.
 * A CAS that lost to an unlocked entry only means the cache was stale (another compute node linked a synonym): cache
 * the entry and retry the CAS at once, keeping the locks already won. Nobody waits while holding a lock for a lock
 * another holds, so there is no deadlock.
 *
 * <p>A full leaf splits: one more doorbell claims a synonym slot (FAA on SLT slot 0) and, when the local pool is
 * empty, a chunk of leaves (FAA on the leaf region's counter); then the new leaf (upper half of the keys) is written
 * before the split leaf's new header links to it, so a reader can never see the keys leave without seeing where they
 * went. When the SLT has no free slot the insert fails with {@link IndexFullException}, nothing changed; retraining
 * (which gives models fresh SLTs) is what makes room.
 *
 * <h2>Writing part of a leaf</h2>
 * A leaf carries one CRC32C over all its bytes (version included), yet a write sends only the words that differ
 * between the image it read under the lock and the new contents. Why a reader still never accepts a state that never
 * was:
 * <ul>
 *   <li>The image is exact. The writer READs the leaf in the doorbell whose CAS took the lock, after the CAS, and the
 *       previous holder's WRITEs all precede its unlock in one doorbell; so the image is what memory holds, padding
 *       and words beyond the count included, and stays so while the lock is held (a retrainer takes every lock of a
 *       model first). Memory after the write is therefore exactly the new image, whose checksum the writer
 *       computed over all of it.</li>
 *   <li>A concurrent READ sees, for every aligned word, the old or the new value (words are the fabric's unit of
 *       atomicity; a multi-word WRITE may be placed in any order, and a READ may be served in any order). Writing a
 *       word that did not change is invisible, so the images a reader can assemble from partial WRITEs are exactly
 *       those it could assemble from one whole-leaf WRITE of the same new contents: every mix of old and new words.
 *       The gaps between the WRITE verbs only widen the window, not the set of images. A mix that is neither the old
 *       nor the new image is accepted only if its checksum field matches the rest, i.e. if the difference between the
 *       mix and the image its checksum word belongs to is a multiple of the CRC polynomial: never for a difference
 *       within 32 consecutive bits, with probability 2^-32 otherwise, as before. Version and checksum change in every
 *       write, so two successive writes that restore an old value still differ in their version word.</li>
 *   <li>Count and checksum share one aligned word, so a reader sees both old or both new. A split's new leaf
 *       (memory that may hold anything) is written whole, before any link to it.</li>
 * </ul>
 *
 * <h2>Scan</h2>
 * Groups are read in LT order, a growing number per doorbell; chains are in key order, so the result comes out sorted,
 * and a key that a concurrent split showed twice is emitted once.
 *
 * <p>Thread-safe: one instance serves all threads of a compute node (typically a virtual thread per operation).
 */
public final class RolexIndex implements WordIndex {
    /** How long a writer keeps trying to lock a group before it gives up (a lock holder that died leaves it set). */
    public static final long LOCK_TIMEOUT_NANOS = TimeUnit.SECONDS.toNanos(10);

    private final FabricConnection connection;
    private final IndexLayout layout;
    private final IndexGeometry geometry;
    /** The models this compute node works with, and the reader bound to them; replaced whole by a refresh. */
    private volatile View view;
    private volatile long roomWaitNanos;
    private volatile long lockTimeoutNanos = LOCK_TIMEOUT_NANOS;
    private final IndexCounters counters = new IndexCounters();
    private final LeafPool leafPool;

    RolexIndex(FabricConnection connection, IndexLayout layout, IndexGeometry geometry, ModelCache cache) {
        this.connection = connection;
        this.layout = layout;
        this.geometry = geometry;
        this.view = new View(cache, new LeafGroupReader(layout, cache, counters));
        this.leafPool = new LeafPool(geometry.leafAllocationChunk());
    }

    /** Opens the index on the connection's memory node, loading its models, LTs and SLTs into a new v.cache(). */
    public static RolexIndex open(FabricConnection connection) {
        return IndexLoader.open(connection);
    }

    /**
     * Builds an index of {@code keys} (strictly increasing, unsigned) and their values on the connection's memory node,
     * replacing whatever index was there, and returns it opened with a warm v.cache(). Any number of compute nodes may then
     * {@link #open} it.
     *
     * @throws IllegalArgumentException for unsorted or duplicate keys (naming the first offending pair), or regions
     *                                  too small for the index; nothing is published then
     */
    public static RolexIndex bulkLoad(FabricConnection connection, IndexGeometry geometry, long[] keys, long[] values) {
        return IndexLoader.bulkLoad(connection, geometry, keys, values);
    }

    /** Builds an empty index (one model over the whole key space) that grows by inserts, replacing any index there. */
    public static RolexIndex createEmpty(FabricConnection connection, IndexGeometry geometry) {
        return IndexLoader.createEmpty(connection, geometry);
    }

    /**
     * How many retrains the memory node behind {@code connection} has completed, as its retrainer counts them in the
     * meta region (0 for a node that never retrained). One READ.
     */
    public static long retrainsPublished(FabricConnection connection) {
        IndexLayout layout = new IndexLayout(connection, LeafDescriptor.MIN_CAPACITY);
        DoorbellBatch batch = new DoorbellBatch();
        int verb = batch.read(layout.metaAddress(IndexMetaDescriptor.RETRAINS_OFFSET), Long.BYTES);
        return connection.execute(batch).readLong(verb, 0);
    }

    /** Unpublishes the index on the connection's memory node; the next build reuses its space. */
    public static void clear(FabricConnection connection) {
        IndexLoader.clear(connection);
    }

    public IndexGeometry geometry() {
        return geometry;
    }

    /** The models this compute node currently works with. */
    public ModelCache cache() {
        return view.cache();
    }

    /**
     * How long a write that finds its model's synonym table full waits for the memory node to retrain the model before
     * it gives up with {@link IndexFullException}. Zero (the default) when no retrainer runs.
     */
    public RolexIndex waitForRoom(java.time.Duration wait) {
        if (wait.isNegative()) {
            throw new IllegalArgumentException("room wait=" + wait + " must be >= 0");
        }
        this.roomWaitNanos = wait.toNanos();
        return this;
    }

    /**
     * How long a write keeps trying to lock its leaf groups before it gives up with {@link IndexGaveUpException}
     * ({@link #LOCK_TIMEOUT_NANOS} by default).
     */
    public RolexIndex lockTimeout(java.time.Duration timeout) {
        if (timeout.isNegative() || timeout.isZero()) {
            throw new IllegalArgumentException("lock timeout=" + timeout + " must be > 0");
        }
        this.lockTimeoutNanos = timeout.toNanos();
        return this;
    }

    /** Bytes of cached models, leaf tables and synonym tables. */
    @Override
    public long cachedBytes() {
        return view.cache().bytes();
    }

    /** One locked write covers this many keys: their groups are locked and read in one doorbell. */
    @Override
    public int maxAtomicBatchKeys() {
        return KEYS_PER_DOORBELL;
    }

    /** One model epoch as cached, with its reader. */
    record View(ModelCache cache, LeafGroupReader reader) {
    }

    public IndexCounters.Snapshot counters() {
        return counters.snapshot();
    }

    public FabricConnection connection() {
        return connection;
    }

    // ------------------------------------------------------------------ lookup

    /**
     * The value stored under {@code key}, or empty. The hot path of the index: one prediction, one doorbell of the
     * candidate groups' cached chains, and each leaf it needs checked and searched in place in a pooled scratch
     * ({@link LookupScratch}), starting at the group the line points at. Nothing is allocated but the answer. A torn
     * leaf or a link the cache did not know hands the doorbell's reads to the general reader, which goes on from
     * there as {@link #getAll} does.
     */
    @Override
    public OptionalLong get(long key) {
        for (int refreshes = 0; ; refreshes++) {
            View current = view;
            LookupScratch scratch = LookupScratch.take();
            try {
                return lookup(current, key, scratch);
            } catch (StaleModelsException stale) {
                refreshOrGiveUp(current, refreshes, stale);
            } finally {
                LookupScratch.give(scratch);
            }
        }
    }

    /** What {@link #searchCandidates} concluded. */
    private static final int FOUND = 0;
    private static final int ABSENT = 1;
    /** A torn leaf, or a chain longer than the cache knew: the general reader must finish the job. */
    private static final int UNSURE = 2;

    private OptionalLong lookup(View v, long key, LookupScratch scratch) {
        ModelCache cache = v.cache();
        int model = cache.modelFor(key);
        long candidates = cache.candidateLeaves(model, key);
        int first = IndexModel.firstOf(candidates);
        int groups = IndexModel.lastOf(candidates) - first + 1;
        scratch.ensureGroups(groups);
        scratch.ensureLeafBytes(layout.leafBytes());
        for (int g = 0; g < groups; g++) {
            scratch.groupStart[g] = scratch.batch.size();
            v.reader().appendCachedChain(scratch, model, first + g);
            scratch.groupEnd[g] = scratch.batch.size();
        }
        BatchResult result = connection.execute(scratch.batch);
        return switch (searchCandidates(v, key, groups, result, scratch)) {
            case FOUND -> OptionalLong.of(scratch.value);
            case ABSENT -> OptionalLong.empty();
            default -> finishLookup(v, key, model, first, groups, result, scratch);
        };
    }

    /**
     * Looks for {@code key} in the leaves the lookup's doorbell returned, in place. Starts at the middle candidate
     * group (the one the line points at) and moves towards the key by the groups' fences, which never change within
     * an epoch: a group's first leaf keeps its low fence, and its chain ends at its high fence. Within a group it walks
     * the chain as read, each leaf checked before its fences or link are believed, and stops at the first leaf that
     * owns the key: that leaf, intact, says whether the key was present when it was read (owners change only by
     * splits, which leave the old and new owner holding the same keys until the writer's unlock). Any leaf whose link
     * is not the next leaf the doorbell read (the owner included) makes the answer {@link #UNSURE}, as does a torn
     * leaf: the fast path answers only from chains exactly as the cache knows them, and the general reader, which
     * walks and learns new links and rejects corrupt ones, handles the rest.
     */
    private int searchCandidates(View v, long key, int groups, BatchResult result, LookupScratch scratch) {
        int leafBytes = layout.leafBytes();
        int capacity = layout.leafCapacity();
        long epoch = v.cache().epoch();
        byte[] leaf = scratch.leaf;
        int group = (groups - 1) >>> 1;
        int direction = 0;
        while (true) {
            int end = scratch.groupEnd[group];
            int next = 0; // -1: the key is below this group, +1: above it
            for (int verb = scratch.groupStart[group]; verb < end; verb++) {
                result.copyRead(verb, leaf, leafBytes);
                if (!Leaf.isIntact(leaf, leafBytes, scratch.crc)) {
                    return UNSURE;
                }
                if (LeafDescriptor.epoch(leaf) > epoch) {
                    throw new StaleModelsException(); // a retraining regrouped this leaf under newer models
                }
                long link = LeafDescriptor.nextLeaf(leaf);
                if (link == 0 ? verb + 1 != end : verb + 1 == end || link != scratch.references[verb + 1]) {
                    return UNSURE; // the chain is not the one the cache knew (a new synonym leaf, or corrupt links)
                }
                if (Long.compareUnsigned(key, LeafDescriptor.lowFence(leaf)) < 0) {
                    if (verb != scratch.groupStart[group]) {
                        return UNSURE; // fences out of chain order: let the general reader judge
                    }
                    next = -1;
                    break;
                }
                if (Long.compareUnsigned(key, LeafDescriptor.highFence(leaf)) <= 0) {
                    int index = Leaf.find(leaf, Leaf.checkedCount(leaf, capacity), key);
                    if (index < 0) {
                        return ABSENT;
                    }
                    scratch.value = LeafDescriptor.value(leaf, capacity, index);
                    return FOUND;
                }
                if (link == 0) {
                    next = 1;
                    break;
                }
            }
            if (next == 0) {
                return UNSURE;
            }
            if (direction == -next) {
                return ABSENT; // the key falls between two groups: no leaf owns it
            }
            direction = next;
            group += next;
            if (group < 0 || group >= groups) {
                return ABSENT; // outside every candidate: the model's bound says no leaf holds it
            }
        }
    }

    /** The general reader finishes a lookup whose doorbell {@link #searchCandidates} could not judge alone. */
    private OptionalLong finishLookup(View v, long key, int model, int first, int groups, BatchResult result,
                                      LookupScratch scratch) {
        List<LeafGroupReader.Group> read = new ArrayList<>(groups);
        List<List<long[]>> reads = new ArrayList<>(groups);
        for (int g = 0; g < groups; g++) {
            read.add(new LeafGroupReader.Group(model, first + g));
            List<long[]> verbs = new ArrayList<>();
            for (int verb = scratch.groupStart[g]; verb < scratch.groupEnd[g]; verb++) {
                verbs.add(new long[] {scratch.references[verb], verb});
            }
            reads.add(verbs);
        }
        v.reader().absorbFirst(read, result, reads);
        v.reader().finish(connection, read);
        for (LeafGroupReader.Group group : read) {
            for (LeafGroupReader.ReadLeaf leaf : group.chain()) {
                if (leaf.leaf().owns(key)) {
                    int index = leaf.leaf().find(key);
                    return index >= 0 ? OptionalLong.of(leaf.leaf().value(index)) : OptionalLong.empty();
                }
            }
        }
        return OptionalLong.empty();
    }

    /**
     * The values of {@code keys}, in order: the candidate leaves of all of them in one doorbell (per
     * {@value #KEYS_PER_DOORBELL} keys), a group shared by several keys read once.
     */
    @Override
    public OptionalLong[] getAll(long[] keys) {
        OptionalLong[] values = new OptionalLong[keys.length];
        long[] candidates = new long[keys.length];
        int[] models = new int[keys.length];
        for (int start = 0; start < keys.length; start += KEYS_PER_DOORBELL) {
            int from = start;
            int end = Math.min(keys.length, start + KEYS_PER_DOORBELL);
            withFreshModels(v -> {
                Map<Long, LeafGroupReader.Group> groups = new LinkedHashMap<>();
                for (int i = from; i < end; i++) {
                    models[i] = v.cache().modelFor(keys[i]);
                    candidates[i] = v.cache().candidateLeaves(models[i], keys[i]);
                    addCandidateGroups(groups, models[i], candidates[i]);
                }
                v.reader().read(connection, new ArrayList<>(groups.values()));
                for (int i = from; i < end; i++) {
                    values[i] = find(groups, keys[i], models[i], candidates[i]);
                }
                return null;
            });
        }
        return values;
    }

    /**
     * Runs {@code operation} on the current models; if it meets signs of a newer model epoch (retraining published new
     * models), refreshes the cache and runs it again. An operation that throws {@link StaleModelsException} has changed
     * nothing (it released any lock it held), so running it again is safe.
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

    /** After an operation on {@code seen} met newer models: refreshes, unless it has done so too often already. */
    private void refreshOrGiveUp(View seen, int refreshes, StaleModelsException stale) {
        if (refreshes >= MAX_REFRESHES) {
            throw new IndexGaveUpException("the index's models kept changing under " + MAX_REFRESHES
                    + " refreshes in one operation", stale);
        }
        refresh(seen);
    }

    /** Refreshes that one operation may need before it gives up (each is a retraining finishing meanwhile). */
    static final int MAX_REFRESHES = 1_000;

    /**
     * Reloads the models if the memory node has published a newer epoch than {@code seen}; models the new epoch did not
     * change keep their cached tables. Concurrent callers share one reload.
     */
    private synchronized void refresh(View seen) {
        if (view != seen) {
            return; // someone refreshed meanwhile
        }
        ModelCache fresh = IndexLoader.reload(connection, layout, seen.cache());
        if (fresh.epoch() > seen.cache().epoch()) {
            view = new View(fresh, new LeafGroupReader(layout, fresh, counters));
            counters.refreshes.increment();
        }
    }

    /** Reloads the models now if the memory node has a newer epoch; returns the epoch in use afterwards. */
    public long refreshModels() {
        refresh(view);
        return view.cache().epoch();
    }

    /** Keys whose candidate groups go in one doorbell: bounded so a batch stays well inside a node's verb limit. */
    public static final int KEYS_PER_DOORBELL = 256;

    private static void addCandidateGroups(Map<Long, LeafGroupReader.Group> groups, int model, long candidates) {
        for (int leaf = IndexModel.firstOf(candidates); leaf <= IndexModel.lastOf(candidates); leaf++) {
            groups.computeIfAbsent(groupId(model, leaf), id -> new LeafGroupReader.Group(model, (int) (long) id));
        }
    }

    private static long groupId(int model, int leaf) {
        return ((long) model << 32) | leaf;
    }

    private static OptionalLong find(Map<Long, LeafGroupReader.Group> groups, long key, int model, long candidates) {
        for (int leaf = IndexModel.firstOf(candidates); leaf <= IndexModel.lastOf(candidates); leaf++) {
            for (LeafGroupReader.ReadLeaf read : groups.get(groupId(model, leaf)).chain()) {
                if (read.leaf().owns(key)) {
                    int index = read.leaf().find(key);
                    if (index >= 0) {
                        return OptionalLong.of(read.leaf().value(index));
                    }
                }
            }
        }
        return OptionalLong.empty();
    }

    // ------------------------------------------------------------------ writes

    /**
     * Stores {@code word} under {@code key}, inserting or replacing.
     *
     * @throws IndexFullException if the key is new, its leaf is full and no synonym leaf can be had; nothing changed
     */
    public PutOutcome put(long key, long word) {
        return put(key, word, null).outcome();
    }

    /**
     * Stores {@code word} under {@code key} and returns the word it replaced. {@code firstDoorbellExtras} (may be
     * {@code null}) appends verbs to the first doorbell, ahead of the lock CASes: the engine writes a new value block
     * there, so a put of a large value still costs two round trips. If the index throws, the extras may have run;
     * {@link IndexGaveUpException} (a lock time-out, model churn, no room) means nothing links to what they wrote.
     */
    @Override
    public WriteResult put(long key, long word, DoorbellExtras firstDoorbellExtras) {
        OptionalLong written = OptionalLong.of(word);
        return updateAll(new long[] {key}, new WordUpdate[] {(current, finalDoorbell) -> written}, firstDoorbellExtras)[0];
    }

    /** Removes {@code key}; returns whether it was there. Other keys do not move. */
    public boolean delete(long key) {
        return remove(key).isPresent();
    }

    /** Removes {@code key} and returns the word it held, if any. Other keys do not move. */
    @Override
    public OptionalLong remove(long key) {
        return updateAll(new long[] {key}, new WordUpdate[] {(current, finalDoorbell) -> OptionalLong.empty()}, null)[0].previous();
    }

    /** Applies {@code update} to {@code key}'s word under the key's lock: a read-modify-write no other write can split. */
    @Override
    public WriteResult update(long key, WordUpdate update) {
        return updateAll(new long[] {key}, new WordUpdate[] {update}, null)[0];
    }

    /**
     * Applies {@code updates[i]} to {@code keys[i]} for every i, in order (a key repeated ends with its later update),
     * as one locked write: the leaf groups of all the keys are locked and read in one doorbell and written and
     * unlocked in the next (per {@value #KEYS_PER_DOORBELL} keys), plus a claim doorbell for each leaf that splits.
     * Each key's update sees the word the earlier updates of the same call left.
     *
     * @throws IndexFullException if a new key finds no room; the keys before it in the same doorbell chunk are not
     *                            written either (the chunk is all or nothing), earlier chunks are
     */
    @Override
    public WriteResult[] updateAll(long[] keys, WordUpdate[] updates, DoorbellExtras firstDoorbellExtras) {
        if (keys.length != updates.length) {
            throw new IllegalArgumentException("keys=" + keys.length + " updates=" + updates.length + " must match");
        }
        WriteResult[] results = new WriteResult[keys.length];
        for (int start = 0; start < keys.length; start += KEYS_PER_DOORBELL) {
            int end = Math.min(keys.length, start + KEYS_PER_DOORBELL);
            int from = start;
            long roomDeadline = System.nanoTime() + roomWaitNanos;
            for (int waits = 0; ; waits++) {
                try {
                    withFreshModels(v -> {
                        lockedWrite(v, keys, updates, from, end, from == 0 ? firstDoorbellExtras : null, results);
                        return null;
                    });
                    break;
                } catch (IndexFullException full) {
                    if (!full.retrainingMakesRoom() || System.nanoTime() > roomDeadline) {
                        counters.insertsRejected.increment();
                        throw full;
                    }
                    // The model's synonym table is full; its retraining (on the memory node) will make room.
                    counters.roomWaits.increment();
                    backOff(Math.min(waits + 4, 9));
                    refresh(view);
                }
            }
        }
        return results;
    }

    /** One locked write of {@code keys[start, end)}: lock and read every candidate group, apply, write, unlock. */
    private void lockedWrite(View v, long[] keys, WordUpdate[] updates, int start, int end,
                             DoorbellExtras firstDoorbellExtras, WriteResult[] results) {
        TreeMap<Long, LockedGroup> locks = new TreeMap<>();
        for (int i = start; i < end; i++) {
            int model = v.cache().modelFor(keys[i]);
            long candidates = v.cache().candidateLeaves(model, keys[i]);
            for (int leaf = IndexModel.firstOf(candidates); leaf <= IndexModel.lastOf(candidates); leaf++) {
                locks.computeIfAbsent(groupId(model, leaf), id -> new LockedGroup(model, (int) (long) id));
            }
        }
        List<LockedGroup> groups = new ArrayList<>(locks.values());
        long timeoutNanos = lockTimeoutNanos;
        long deadline = System.nanoTime() + timeoutNanos;
        int conflicts = 0;
        boolean extrasSent = false;
        while (true) {
            DoorbellBatch batch = new DoorbellBatch();
            boolean extrasHere = firstDoorbellExtras != null && !extrasSent;
            if (extrasHere) {
                firstDoorbellExtras.appendTo(batch);
                extrasSent = true;
            }
            // The model epoch, read ahead of the CASes: a writer must never change tables a newer epoch retired.
            int epochVerb = batch.read(layout.metaAddress(IndexMetaDescriptor.MODEL_EPOCH_OFFSET), Long.BYTES);
            for (LockedGroup group : groups) {
                if (!group.holding) {
                    group.expected = v.cache().leafTableEntry(group.model, group.leaf);
                    group.casVerb = batch.compareAndSwap(layout.leafTableEntryAddress(v.cache().model(group.model), group.leaf),
                            group.expected, LeafTableEntry.withLock(group.expected));
                }
            }
            List<LeafGroupReader.Group> readGroups = new ArrayList<>(groups.size());
            for (LockedGroup group : groups) {
                group.read = new LeafGroupReader.Group(group.model, group.leaf);
                readGroups.add(group.read);
            }
            List<List<long[]>> reads = v.reader().appendCachedChains(batch, readGroups);
            BatchResult result = connection.execute(batch);
            if (extrasHere) {
                firstDoorbellExtras.completed(result);
            }
            boolean contended = false;
            boolean allHeld = true;
            boolean stale = result.readLong(epochVerb, 0) != v.cache().epoch();
            for (LockedGroup group : groups) {
                if (group.holding) {
                    continue;
                }
                long old = result.oldValue(group.casVerb);
                if (old == group.expected) {
                    group.holding = true;
                    group.held = group.expected;
                    continue;
                }
                allHeld = false;
                if (old == LeafTableEntry.RETIRED || !v.cache().learnLeafTableEntry(group.model, group.leaf, old)) {
                    stale = true;
                } else if (LeafTableEntry.isLocked(old)) {
                    contended = true;
                } else {
                    counters.staleLeafTableEntries.increment();
                }
            }
            if (stale) {
                release(v, groups);
                throw new StaleModelsException();
            }
            if (contended) {
                counters.lockConflicts.increment();
                release(v, groups);
                if (System.nanoTime() > deadline) {
                    throw new IndexGaveUpException("could not lock the leaf groups of keys from key="
                            + Long.toUnsignedString(keys[start]) + " (" + groups.size() + " groups) within "
                            + TimeUnit.NANOSECONDS.toMillis(timeoutNanos) + " ms: a lock holder may have died; nothing was changed");
                }
                backOff(++conflicts);
                continue;
            }
            if (!allHeld) {
                continue; // only stale cache entries: retry those CASes now, keeping the locks we won
            }
            try {
                v.reader().absorbFirst(readGroups, result, reads);
                v.reader().finish(connection, readGroups);
            } catch (RuntimeException e) {
                release(v, groups);
                throw e;
            }
            applyLocked(v, keys, updates, start, end, locks, results);
            return;
        }
    }

    /** A candidate leaf group of a locked write, and the state of its lock. */
    private static final class LockedGroup {
        final int model;
        final int leaf;
        long expected;
        int casVerb;
        boolean holding;
        long held;
        LeafGroupReader.Group read;
        /** The chain as read, then as this write changes it (splits insert leaves). */
        List<LeafGroupReader.ReadLeaf> chain;

        LockedGroup(int model, int leaf) {
            this.model = model;
            this.leaf = leaf;
        }
    }

    /**
     * Applies every update to the leaves the locks protect, then writes the changed leaves and unlocks everything in
     * one doorbell: the updates' own verbs first, new split leaves as they are made, the changed leaves, the unlocks.
     */
    private void applyLocked(View v, long[] keys, WordUpdate[] updates, int start, int end, TreeMap<Long, LockedGroup> locks,
                             WriteResult[] results) {
        for (LockedGroup group : locks.values()) {
            group.chain = new ArrayList<>(group.read.chain());
        }
        DoorbellBatch batch = new DoorbellBatch();
        Map<Long, LeafGroupReader.ReadLeaf> dirty = new LinkedHashMap<>();
        List<SplitLink> splits = new ArrayList<>();
        try {
            for (int i = start; i < end; i++) {
                long key = keys[i];
                LockedGroup group = owningGroup(locks, key);
                int position = owningPosition(group, key);
                LeafGroupReader.ReadLeaf owner = group.chain.get(position);
                Leaf leaf = owner.leaf();
                int index = leaf.find(key);
                OptionalLong previous = index >= 0 ? OptionalLong.of(leaf.value(index)) : OptionalLong.empty();
                OptionalLong next = updates[i].apply(previous, batch);
                if (next.isPresent()) {
                    if (index >= 0 || !leaf.isFull()) {
                        leaf.put(key, next.getAsLong());
                    } else {
                        LeafGroupReader.ReadLeaf right = split(v, group, position, batch, splits);
                        dirty.put(LeafGroupReader.leafKey(right.reference()), right);
                        (leaf.owns(key) ? leaf : right.leaf()).put(key, next.getAsLong());
                    }
                    dirty.put(LeafGroupReader.leafKey(owner.reference()), owner);
                } else if (index >= 0) {
                    leaf.remove(key);
                    dirty.put(LeafGroupReader.leafKey(owner.reference()), owner);
                }
                results[i] = new WriteResult(previous, next);
            }
        } catch (RuntimeException e) {
            release(v, locks.values()); // nothing of this chunk was written: its leaves are as they were
            for (SplitLink split : splits) {
                leafPool.giveBack(LeafTableEntry.leafNumber(split.next()));
            }
            throw e;
        }
        for (LeafGroupReader.ReadLeaf changed : dirty.values()) {
            appendLeafWrite(batch, layout.leafAddress(changed.reference()), changed.leaf());
        }
        for (LockedGroup group : locks.values()) {
            batch.writeLong(layout.leafTableEntryAddress(v.cache().model(group.model), group.leaf), group.held);
        }
        BatchResult written = connection.execute(batch);
        for (int i = start; i < end; i++) {
            updates[i].finalDoorbellCompleted(written);
        }
        for (SplitLink split : splits) {
            // Learned only now that the new leaves exist: the cache never names a leaf that was not written.
            v.cache().learnLink(split.model(), split.leaf(), split.fromSlot(), split.next());
            v.cache().learnLink(split.model(), split.leaf(), LeafTableEntry.synonymSlot(split.next()), split.nextOfNew());
        }
    }

    /**
     * Appends the WRITEs that bring the leaf at {@code address} from the image it was read with to its new contents
     * (new version, new checksum): only the 8-byte words that differ, as runs of adjacent words. A leaf built here (a
     * split's new leaf, in memory that may hold anything) is written whole. Why readers still never accept a mix of
     * old and new words: see "Writing part of a leaf" in the class notes.
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

    /** A link a split made: in group {@code leaf} of {@code model}, after the leaf at {@code fromSlot} comes {@code next}. */
    private record SplitLink(int model, int leaf, int fromSlot, long next, long nextOfNew) {
    }

    private static LockedGroup owningGroup(TreeMap<Long, LockedGroup> locks, long key) {
        for (LockedGroup group : locks.values()) {
            if (owningPosition(group, key) >= 0) {
                return group;
            }
        }
        throw new CorruptDataException("no leaf among the candidate groups owns key=" + Long.toUnsignedString(key)
                + ": the model's prediction bound is broken or the fences are corrupt");
    }

    private static int owningPosition(LockedGroup group, long key) {
        for (int position = 0; position < group.chain.size(); position++) {
            if (group.chain.get(position).leaf().owns(key)) {
                return position;
            }
        }
        return -1;
    }

    /**
     * Splits the full leaf at {@code position} of {@code group}'s chain into itself and a new synonym leaf linked right
     * after it. Claims a synonym slot (and leaves, when the local pool is empty) in a doorbell of its own, then appends
     * the new leaf's WRITE and its SLT entry to {@code batch}; the split leaf itself is written later, after them, so no
     * link to the new leaf is visible before the new leaf is.
     *
     * @throws IndexFullException if no slot or leaf can be had; nothing was changed
     */
    private LeafGroupReader.ReadLeaf split(View v, LockedGroup group, int position, DoorbellBatch batch, List<SplitLink> splits) {
        IndexModel indexModel = v.cache().model(group.model);
        // Take a leaf from the local pool first: a check for "empty" followed by a later take would let another thread
        // take the last leaf in between, and this one would then report a full region that is not full.
        long leafNumber = leafPool.take();
        DoorbellBatch claim = new DoorbellBatch();
        int slotVerb = claim.fetchAndAdd(layout.synonymUsedAddress(indexModel), 1);
        int chunkVerb = leafNumber < 0
                ? claim.fetchAndAdd(layout.leavesAddress(LeafRegionDescriptor.USED_LEAVES_OFFSET), geometry.leafAllocationChunk())
                : -1;
        BatchResult claimed = connection.execute(claim);
        if (chunkVerb >= 0) {
            leafNumber = leafPool.refillAndTake(claimed.oldValue(chunkVerb), layout.leafCapacityOfRegion());
        }
        long slotsUsedBefore = claimed.oldValue(slotVerb);
        if (slotsUsedBefore >= TablesDescriptor.USABLE_SYNONYM_SLOTS || leafNumber < 0) {
            if (leafNumber >= 0) {
                leafPool.giveBack(leafNumber);
            }
            throw new IndexFullException(leafNumber >= 0, "no room for a new key in model=" + group.model + " leaf group=" + group.leaf
                    + ": its leaf is full and " + (leafNumber < 0
                    ? "the leaf region is full (leaves=" + layout.leafCapacityOfRegion() + ")"
                    : "the model has no free synonym slot (slots=" + TablesDescriptor.USABLE_SYNONYM_SLOTS + ")")
                    + "; nothing was stored");
        }
        int slot = (int) slotsUsedBefore + 1;
        LeafGroupReader.ReadLeaf left = group.chain.get(position);
        Leaf right = new Leaf(left.leaf().capacity());
        left.leaf().splitInto(right);
        long rightReference = LeafTableEntry.of(IndexLayout.LOCAL_LEAF_REGION, slot, leafNumber);
        left.leaf().setNextLeaf(rightReference);
        right.bumpVersion();
        batch.write(layout.leafAddress(rightReference), right.encode());
        int afterRight = right.nextLeaf() == 0 ? LeafTableEntry.NO_SYNONYM : LeafTableEntry.synonymSlot(right.nextLeaf());
        batch.writeLong(layout.synonymSlotAddress(indexModel, slot),
                LeafTableEntry.of(IndexLayout.LOCAL_LEAF_REGION, afterRight, leafNumber));
        int leftSlot = left.slot();
        if (leftSlot == 0) {
            group.held = LeafTableEntry.withSynonymSlot(group.held, slot);
        } else {
            long leftReference = left.reference();
            batch.writeLong(layout.synonymSlotAddress(indexModel, leftSlot),
                    LeafTableEntry.of(LeafTableEntry.leafRegion(leftReference), slot, LeafTableEntry.leafNumber(leftReference)));
        }
        splits.add(new SplitLink(group.model, group.leaf, leftSlot, rightReference, right.nextLeaf()));
        counters.splits.increment();
        LeafGroupReader.ReadLeaf added = new LeafGroupReader.ReadLeaf(rightReference, right);
        group.chain.add(position + 1, added);
        return added;
    }

    /** Writes back every lock of {@code groups} this write holds, unchanged. */
    private void release(View v, Iterable<LockedGroup> groups) {
        DoorbellBatch batch = new DoorbellBatch();
        for (LockedGroup group : groups) {
            if (group.holding) {
                batch.writeLong(layout.leafTableEntryAddress(v.cache().model(group.model), group.leaf), group.expected);
                group.holding = false;
            }
        }
        if (!batch.isEmpty()) {
            connection.execute(batch);
        }
    }

    static void backOff(int conflicts) {
        long ceilingNanos = Math.min(1_000_000L, 2_000L << Math.min(conflicts, 9));
        LockSupport.parkNanos(ThreadLocalRandom.current().nextLong(ceilingNanos / 2, ceilingNanos + 1));
    }

    // ------------------------------------------------------------------ scan

    /**
     * Up to {@code limit} pairs with {@code from <= key <= to} (unsigned), in key order. A key present for the whole
     * scan is returned; one inserted or deleted meanwhile may or may not be.
     */
    @Override
    public List<KeyValue> scan(long from, long to, int limit) {
        if (limit < 0) {
            throw new IllegalArgumentException("limit=" + limit + " must be >= 0");
        }
        return withFreshModels(v -> scan(v, from, to, limit));
    }

    private List<KeyValue> scan(View v, long from, long to, int limit) {
        List<KeyValue> out = new ArrayList<>(Math.min(limit, 1024));
        if (limit == 0 || Long.compareUnsigned(from, to) > 0) {
            return out;
        }
        int model = v.cache().modelFor(from);
        long candidates = v.cache().candidateLeaves(model, from);
        int leaf = IndexModel.firstOf(candidates);
        // The first doorbell covers the candidate groups of `from` (any may own it) and then enough groups for the
        // limit at the load fill, so that a scan of a bulk-loaded index mostly completes in one round trip.
        int candidateGroups = IndexModel.lastOf(candidates) - leaf + 1;
        int groupsPerDoorbell = candidateGroups + groupsFor(limit);
        boolean emitted = false;
        long last = 0;
        while (out.size() < limit && model < v.cache().modelCount()) {
            List<LeafGroupReader.Group> groups = new ArrayList<>(groupsPerDoorbell);
            while (groups.size() < groupsPerDoorbell && model < v.cache().modelCount()) {
                groups.add(new LeafGroupReader.Group(model, leaf));
                if (++leaf == v.cache().model(model).leafCount()) {
                    model++;
                    leaf = 0;
                }
            }
            v.reader().read(connection, groups);
            for (LeafGroupReader.Group group : groups) {
                for (LeafGroupReader.ReadLeaf read : group.chain()) {
                    Leaf chainLeaf = read.leaf();
                    if (Long.compareUnsigned(chainLeaf.lowFence(), to) > 0) {
                        return out;
                    }
                    for (int i = 0; i < chainLeaf.count() && out.size() < limit; i++) {
                        long key = chainLeaf.key(i);
                        if (Long.compareUnsigned(key, from) < 0 || Long.compareUnsigned(key, to) > 0) {
                            continue;
                        }
                        if (emitted && Long.compareUnsigned(key, last) <= 0) {
                            continue; // seen already in the pre-split state of an earlier leaf
                        }
                        out.add(new KeyValue(key, chainLeaf.value(i)));
                        emitted = true;
                        last = key;
                    }
                    if (out.size() >= limit) {
                        return out;
                    }
                }
            }
            // Fewer keys per group than at load (deletes, or chains the cache did not know): ask for more, growing.
            groupsPerDoorbell = Math.max(groupsFor(limit - out.size()), Math.min(MAX_SCAN_GROUPS_PER_DOORBELL, groupsPerDoorbell * 2));
        }
        return out;
    }

    /** The most leaf groups a scan reads in one doorbell beyond its start's candidates. */
    static final int MAX_SCAN_GROUPS_PER_DOORBELL = 64;

    /** Leaf groups that hold {@code keys} keys at the load fill, at least one, at most a doorbell's worth. */
    private int groupsFor(int keys) {
        int perGroup = geometry.keysPerLeafAtLoad();
        return (int) Math.max(1, Math.min(MAX_SCAN_GROUPS_PER_DOORBELL, ((long) keys + perGroup - 1) / perGroup));
    }


    /** Slots used in {@code model}'s SLT, as the memory node counts them (clamped: failed claims overshoot). */
    public int synonymSlotsUsed(int model) {
        DoorbellBatch batch = new DoorbellBatch();
        int verb = batch.read(layout.synonymUsedAddress(view.cache().model(model)), 8);
        long used = WordOrder.getLong(connection.execute(batch).read(verb), 0);
        return (int) Math.min(used, TablesDescriptor.USABLE_SYNONYM_SLOTS);
    }
}
