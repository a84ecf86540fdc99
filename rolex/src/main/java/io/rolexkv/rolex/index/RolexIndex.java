package io.rolexkv.rolex.index;

import io.rolexkv.common.fabric.BatchResult;
import io.rolexkv.common.fabric.DoorbellBatch;
import io.rolexkv.common.fabric.FabricConnection;
import io.rolexkv.common.fabric.CorruptDataException;
import io.rolexkv.common.fabric.WordOrder;
import io.rolexkv.rolex.layout.IndexMetaDescriptor;
import io.rolexkv.rolex.layout.LeafRegionDescriptor;
import io.rolexkv.rolex.layout.LeafTableEntry;
import io.rolexkv.rolex.layout.SynonymTableDescriptor;
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
 *   <li>Change the one leaf that owns the key and WRITE it whole (new version and checksum), then WRITE every LT
 *       entry back unlocked, all in one doorbell, in that order: the unlock is visible only after the leaf is.</li>
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
        IndexLayout layout = new IndexLayout(connection, io.rolexkv.rolex.layout.LeafDescriptor.MIN_CAPACITY);
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

    /** The value stored under {@code key}, or empty. */
    @Override
    public OptionalLong get(long key) {
        return getAll(new long[] {key})[0];
    }

    /**
     * The values of {@code keys}, in order: the candidate leaves of all of them in one doorbell (per
     * {@value #KEYS_PER_DOORBELL} keys), a group shared by several keys read once.
     */
    @Override
    public OptionalLong[] getAll(long[] keys) {
        OptionalLong[] values = new OptionalLong[keys.length];
        for (int start = 0; start < keys.length; start += KEYS_PER_DOORBELL) {
            int from = start;
            int end = Math.min(keys.length, start + KEYS_PER_DOORBELL);
            withFreshModels(v -> {
                Map<Long, LeafGroupReader.Group> groups = new LinkedHashMap<>();
                for (int i = from; i < end; i++) {
                    addCandidateGroups(v, groups, keys[i]);
                }
                v.reader().read(connection, new ArrayList<>(groups.values()));
                for (int i = from; i < end; i++) {
                    values[i] = find(v, groups, keys[i]);
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
                if (refreshes >= MAX_REFRESHES) {
                    throw new IndexGaveUpException("the index's models kept changing under " + MAX_REFRESHES
                            + " refreshes in one operation", stale);
                }
                refresh(current);
            }
        }
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

    private static void addCandidateGroups(View v, Map<Long, LeafGroupReader.Group> groups, long key) {
        int model = v.cache().modelFor(key);
        int last = v.cache().lastCandidateLeaf(model, key);
        for (int leaf = v.cache().firstCandidateLeaf(model, key); leaf <= last; leaf++) {
            groups.computeIfAbsent(groupId(model, leaf), id -> new LeafGroupReader.Group(model, (int) (long) id));
        }
    }

    private static long groupId(int model, int leaf) {
        return ((long) model << 32) | leaf;
    }

    private static OptionalLong find(View v, Map<Long, LeafGroupReader.Group> groups, long key) {
        int model = v.cache().modelFor(key);
        int last = v.cache().lastCandidateLeaf(model, key);
        for (int leaf = v.cache().firstCandidateLeaf(model, key); leaf <= last; leaf++) {
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
            int last = v.cache().lastCandidateLeaf(model, keys[i]);
            for (int leaf = v.cache().firstCandidateLeaf(model, keys[i]); leaf <= last; leaf++) {
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
            changed.leaf().bumpVersion();
            batch.write(layout.leafAddress(changed.reference()), changed.leaf().encode());
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
        if (slotsUsedBefore >= SynonymTableDescriptor.USABLE_SLOTS || leafNumber < 0) {
            if (leafNumber >= 0) {
                leafPool.giveBack(leafNumber);
            }
            throw new IndexFullException(leafNumber >= 0, "no room for a new key in model=" + group.model + " leaf group=" + group.leaf
                    + ": its leaf is full and " + (leafNumber < 0
                    ? "the leaf region is full (leaves=" + layout.leafCapacityOfRegion() + ")"
                    : "the model has no free synonym slot (slots=" + SynonymTableDescriptor.USABLE_SLOTS + ")")
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

    private static void backOff(int conflicts) {
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
        int leaf = v.cache().firstCandidateLeaf(model, from);
        int groupsPerDoorbell = Math.max(1, Math.min(32, limit / Math.max(1, geometry.keysPerLeafAtLoad()) + 1));
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
            groupsPerDoorbell = Math.min(64, groupsPerDoorbell * 2);
        }
        return out;
    }

    /** Leaves handed out to this compute node by FAA on the leaf region's counter, not yet used. */
    private static final class LeafPool {
        private final int chunk;
        private final ArrayList<Long> spare = new ArrayList<>();
        private long next;
        private long end;

        LeafPool(int chunk) {
            this.chunk = chunk;
        }

        /** Takes in the chunk a FAA returned {@code firstLeaf} for; leaves beyond the region's capacity do not exist. */
        synchronized void refill(long firstLeaf, long capacityLeaves) {
            for (long leaf = next; leaf < end; leaf++) {
                spare.add(leaf); // what remains of a chunk another thread claimed
            }
            next = firstLeaf;
            end = Math.max(firstLeaf, Math.min(firstLeaf + chunk, capacityLeaves));
        }

        /** {@link #refill}, then {@link #take}, with no other thread in between. */
        synchronized long refillAndTake(long firstLeaf, long capacityLeaves) {
            refill(firstLeaf, capacityLeaves);
            return take();
        }

        synchronized long take() {
            if (!spare.isEmpty()) {
                return spare.removeLast();
            }
            return next < end ? next++ : -1;
        }

        synchronized void giveBack(long leafNumber) {
            spare.add(leafNumber);
        }
    }

    /** Slots used in {@code model}'s SLT, as the memory node counts them (clamped: failed claims overshoot). */
    public int synonymSlotsUsed(int model) {
        DoorbellBatch batch = new DoorbellBatch();
        int verb = batch.read(layout.synonymUsedAddress(view.cache().model(model)), 8);
        long used = WordOrder.getLong(connection.execute(batch).read(verb), 0);
        return (int) Math.min(used, SynonymTableDescriptor.USABLE_SLOTS);
    }
}
