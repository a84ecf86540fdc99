package io.rolexkv.rolex.index;

import io.rolexkv.common.fabric.BatchResult;
import io.rolexkv.common.fabric.CorruptDataException;
import io.rolexkv.common.fabric.DoorbellBatch;
import io.rolexkv.common.fabric.FabricConnection;
import io.rolexkv.common.fabric.FabricLimits;
import io.rolexkv.common.fabric.WordOrder;
import io.rolexkv.rolex.layout.IndexMetaDescriptor;
import io.rolexkv.rolex.layout.LeafRegionDescriptor;
import io.rolexkv.rolex.layout.LeafTableEntry;
import io.rolexkv.rolex.layout.TablesDescriptor;
import io.rolexkv.rolex.leaf.Leaf;

import java.lang.foreign.MemorySegment;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Iterator;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.LongAdder;
import java.util.concurrent.locks.LockSupport;

/**
 * Retrains and compacts models as they grow, on the memory node's own CPU, without blocking readers. Runs the same
 * verbs as compute nodes, through a connection to the memory node's own memory (in-process, no network), so its atomics
 * are exactly the ones compute nodes race with, and it cuts its work into doorbells within the node's
 * {@link FabricLimits}. Not thread-safe: one retrainer per memory node, driven by one background thread (memory nodes
 * have weak CPUs) through {@link #runPass()}.
 *
 * <h2>When a model is retrained ({@link Policy})</h2>
 * When its synonym leaves (SLT slots used) exceed {@code max(minSynonymLeaves, synonymLeafFraction * leaves)}, so the
 * work is in proportion to the model's size and chains stay short in small and large models alike; or when only
 * {@code freeSlots} SLT slots remain (the paper's trigger, kept as the guard a model must never pass: with 255 slots a
 * model of more than 2,000 leaves reaches it first). The last model takes every append past the largest key, and its
 * room runs out at its last leaf, where a chain would grow; it is retrained after {@code minSynonymLeaves} alone, and
 * room this retrainer made for appends (below) is renewed once a key lands at {@link #ROOM_REFILL_AT} of it, before
 * appends run past it: ordered inserts then never build a chain, and their retraining keeps ahead of them.
 *
 * <h2>Protocol for one model {@code m} (epoch {@code E} to {@code E + 1})</h2>
 * <ol>
 *   <li><b>Freeze writers of m.</b> CAS the lock bit into every LT entry of m (waiting out writers that hold one).
 *       Writers of m now back off; readers go on, they take no locks.</li>
 *   <li><b>Read m whole.</b> Every leaf group, every chain, in key order, following the leaves' own links. Under the
 *       locks nothing changes.</li>
 *   <li><b>Plan and write fresh leaves.</b> The optimal PLA over m's keys, laid out as bulk load lays them out
 *       ({@link IndexLoader#planPacked}): each segment a model whose new leaves hold {@code keysPerLeaf} keys each, in
 *       leaves no reader can reach yet (reused after their grace period, or claimed from the leaf region's counter),
 *       written with epoch {@code E + 1}. If m is the last model, the keys past its largest one get a model of their
 *       own ({@link IndexLoader#planRoom}): empty leaves, {@link #ROOM_KEYS_PER_LEAF} key of the density of m's last
 *       keys each, for about twice as many keys as m held (at most {@link #MAX_ROOM_LEAVES} leaves). Appends then land
 *       leaf after leaf instead of in one ever longer chain, and concurrent appends of neighbouring keys lock
 *       different leaves. Then the new models' tables, every LT entry locked.</li>
 *   <li><b>Publish</b> a model set with m replaced by the new models, epoch {@code E + 1}, in the next place of the
 *       models region's circular queue, then the meta words that point at it. This is the point of no return.</li>
 *   <li><b>Mark m's leaves.</b> Rewrite every old leaf of m, unchanged but for epoch {@code E + 1}.</li>
 *   <li><b>Open the new models.</b> Unlock their LT entries; then retire m's LT entries
 *       ({@link LeafTableEntry#RETIRED}).</li>
 *   <li><b>Free m's space late.</b> Its tables are reused only after {@link #TABLE_REUSE_GRACE_NANOS}, its leaves
 *       after {@link #LEAF_REUSE_GRACE_NANOS}.</li>
 * </ol>
 *
 * <h2>Why no reader or writer misses a key</h2>
 * Between steps 1 and 6 no writer can change m's keys anywhere: m's LT entries are locked (then retired) and the new
 * models' entries are locked until step 6. So the old leaves and the new ones hold the same keys and values throughout,
 * and a reader of either epoch finds every key: an epoch-{@code E} reader walks the old leaves, whose contents and
 * links are untouched but for the epoch; an epoch-{@code E + 1} reader reads the new leaves, written before the models
 * that name them were published. After step 6 writers change only the new leaves, so an old reader must not trust an
 * old leaf from then on; it does not, because step 5 marked every old leaf with epoch {@code E + 1} before step 6, and
 * a reader that meets a leaf of a newer epoch than its models refreshes them and runs again (a read that raced the
 * marking is torn, fails its checksum and is read again). A multi-doorbell walk of an old chain that straddles step 6
 * meets a marked leaf in its later doorbells for the same reason. A writer with epoch-{@code E} models either locked
 * before step 1 (step 1 waited for it, step 2 read its result), or loses its CAS to a locked or retired entry, or reads
 * the new epoch word in its first doorbell; it then refreshes and retries against the new models.
 *
 * <p>Reuse: a leaf or table range is handed out again only a grace period after the step that retired it, far longer
 * than an operation's doorbells; a reader still holding epoch-{@code E} models after that would in any case see the
 * newer epoch that the reused leaf's new contents carry, and no writer can reach an old leaf (its every write happens
 * under a lock of m's, which step 1 waited out and step 6 retired). The grace period is a stand-in: the faults issue
 * replaces it with reader epochs or leases, which bound how long a stalled compute node may hold an old model.
 *
 * <p>What readers must keep doing for this to hold: reject (and refresh on) any leaf whose epoch is newer than their
 * models ({@link LeafGroupReader}), and detect a torn leaf, so that a read racing step 5 is read again.
 *
 * <h2>Failures</h2>
 * A failure before step 4 undoes what was done: the locks of m are written back as they were, the new leaves and
 * tables freed (never published, so reusable at once). A failure in or after step 4 (including a publish whose outcome
 * is unknown) is completed forward: steps 4 to 7 are idempotent and are run again at the start of every following
 * pass, after a back-off, until they succeed (unless the index was rebuilt meanwhile: then the new build owns the
 * memory and the work is dropped). Either way no lock outlives the next successful pass; a memory node
 * whose own memory stays unreachable can hold m's writers off (they time out), which the faults issue's leases cover.
 *
 * <h2>Interleavings it handles</h2>
 * A writer holding an LT lock when retraining starts (step 1 waits); a writer of m whose CAS loses to the retrainer
 * (backs off, then sees the new epoch); a stale writer after step 6 (meets RETIRED); a stale reader before, during and
 * after step 5 (unchanged old leaves, or a newer leaf epoch); a compute node that opens during the retraining (reads
 * either epoch's complete model set; the set's checksum and epoch catch a half-published one); a split in progress on
 * another model (untouched).
 */
public final class Retrainer {
    private static final org.slf4j.Logger LOG = org.slf4j.LoggerFactory.getLogger(Retrainer.class);
    /**
     * How long superseded tables stay untouched before their space is reused: far longer than any operation, since a
     * stale writer's lock CAS on a reused LT word is what the wait guards against.
     */
    public static final long TABLE_REUSE_GRACE_NANOS = TimeUnit.SECONDS.toNanos(60);
    /**
     * How long superseded leaves stay untouched before they are reused: far longer than the doorbells of one operation.
     * Shorter than the tables' wait because no writer can reach an old leaf once its model is frozen (every leaf write
     * happens under a lock the retrainer waited out), and a stale reader that still reads a reused leaf finds the newer
     * epoch its new contents carry.
     */
    public static final long LEAF_REUSE_GRACE_NANOS = TimeUnit.SECONDS.toNanos(1);
    /** Leaves of room the last model gets at least, and at most, when it is split for appends. */
    static final int MIN_ROOM_LEAVES = 64;
    static final int MAX_ROOM_LEAVES = 8192;
    /**
     * Keys of the expected density each leaf of room takes: one, so that concurrent appends of consecutive keys lock
     * different leaves instead of queueing on one. Compaction packs them once the room is used.
     */
    static final int ROOM_KEYS_PER_LEAF = 1;
    /** The room is retrained once its leaf at this fraction of its leaves holds a key, before appends run past it. */
    static final double ROOM_REFILL_AT = 0.75;
    /** Back-off after a failed pass: doubles per failure in a row, from the first to the last. */
    static final long FIRST_BACKOFF_NANOS = TimeUnit.MILLISECONDS.toNanos(10);
    static final long MAX_BACKOFF_NANOS = TimeUnit.SECONDS.toNanos(1);

    /**
     * When a model is due for retraining.
     *
     * @param freeSlots           retrain once this many or fewer SLT slots are free (the paper's 127), whatever the size
     * @param minSynonymLeaves    a model is never retrained for fewer synonym leaves than this; the last model is
     *                            retrained as soon as it has more
     * @param synonymLeafFraction retrain once synonym leaves exceed this fraction of the model's leaves
     */
    public record Policy(int freeSlots, int minSynonymLeaves, double synonymLeafFraction) {
        public static final int FREE_SLOTS_DEFAULT = TablesDescriptor.RETRAIN_FREE_SLOTS;
        public static final int MIN_SYNONYM_LEAVES_DEFAULT = 8;
        public static final double SYNONYM_LEAF_FRACTION_DEFAULT = 0.125;
        public static final Policy DEFAULT = new Policy(FREE_SLOTS_DEFAULT, MIN_SYNONYM_LEAVES_DEFAULT,
                SYNONYM_LEAF_FRACTION_DEFAULT);

        public Policy {
            if (freeSlots < 0 || freeSlots >= TablesDescriptor.USABLE_SYNONYM_SLOTS) {
                throw new IllegalArgumentException("free_slots=" + freeSlots + " allowed=[0,"
                        + (TablesDescriptor.USABLE_SYNONYM_SLOTS - 1) + "]");
            }
            if (minSynonymLeaves < 0 || minSynonymLeaves >= TablesDescriptor.USABLE_SYNONYM_SLOTS) {
                throw new IllegalArgumentException("min_synonym_leaves=" + minSynonymLeaves + " allowed=[0,"
                        + (TablesDescriptor.USABLE_SYNONYM_SLOTS - 1) + "]");
            }
            if (!(synonymLeafFraction > 0 && synonymLeafFraction <= 1)) {
                throw new IllegalArgumentException("synonym_leaf_fraction=" + synonymLeafFraction + " allowed=(0,1]");
            }
        }

        /** Whether a model of {@code leaves} leaves with {@code synonymLeaves} SLT slots used is due. */
        public boolean due(int leaves, int synonymLeaves, boolean lastModel) {
            if (TablesDescriptor.USABLE_SYNONYM_SLOTS - synonymLeaves <= freeSlots) {
                return true;
            }
            double threshold = lastModel ? minSynonymLeaves : Math.max(minSynonymLeaves, synonymLeafFraction * leaves);
            return synonymLeaves > threshold;
        }
    }

    /** What one {@link #runPass()} did: models retrained, and if it failed, why and when to try again. */
    public record PassResult(int retrained, Optional<String> failure, long retryAfterNanos) {
        public boolean failed() {
            return failure.isPresent();
        }
    }

    /** What the retrainer has done so far. */
    public record Stats(long retrains, long retrainNanos, long keysRetrained, long failures) {
        public double meanMillisPerRetrain() {
            return retrains == 0 ? 0 : retrainNanos / 1e6 / retrains;
        }
    }

    private final FabricConnection connection;
    private final BoundedDoorbells doorbells;
    private final Policy policy;
    private final IndexLayout probe;
    private final SpaceList tableSpace = new SpaceList(TABLE_REUSE_GRACE_NANOS);
    private final SpaceList leafSpace = new SpaceList(LEAF_REUSE_GRACE_NANOS);
    private final LongAdder retrains = new LongAdder();
    private final LongAdder retrainNanos = new LongAdder();
    private final LongAdder keysRetrained = new LongAdder();
    private final LongAdder failures = new LongAdder();
    /** The model set as this retrainer last published or read it. */
    private List<IndexModel> models;
    private long epoch = -1;
    private long buildId;
    private IndexLoader.Meta meta;
    private IndexLayout layout;
    /** The room for appends this retrainer last made, while it is the last model. */
    private IndexModel room;
    /** Work left by a failed pass, done first by the next one. */
    private Recovery pending;
    private int failuresInRow;

    /**
     * @param connection a connection to this memory node's own memory
     * @param limits     what the memory node accepts in one doorbell; every batch the retrainer posts stays within
     * @param policy     when a model is due
     */
    public Retrainer(FabricConnection connection, FabricLimits limits, Policy policy) {
        this.connection = connection;
        this.doorbells = new BoundedDoorbells(connection, limits);
        this.policy = policy;
        this.probe = new IndexLayout(connection, io.rolexkv.rolex.layout.LeafDescriptor.MIN_CAPACITY);
    }

    public Stats stats() {
        return new Stats(retrains.sum(), retrainNanos.sum(), keysRetrained.sum(), failures.sum());
    }

    /**
     * One pass: finishes or undoes what a failed pass left, then retrains every model that is due. Never throws for a
     * failure of the fabric or the index: it reports it, and the caller waits {@link PassResult#retryAfterNanos()}
     * (doubling per failure in a row) before the next pass, which starts by completing the failed one.
     */
    public PassResult runPass() {
        int retrained = 0;
        try {
            if (pending != null) {
                if (readMetaWord(IndexMetaDescriptor.BUILD_ID_OFFSET) == buildId) {
                    pending.run();
                }
                pending = null; // done, or moot: a new build owns the memory it would have written
            }
            if (readView()) {
                int[] used = synonymSlotsUsed();
                // Right to left, so retraining one model does not shift the indexes of those still to check.
                for (int m = used.length - 1; m >= 0; m--) {
                    boolean last = m == used.length - 1;
                    if (policy.due(models.get(m).leafCount(), used[m], last) || (last && roomFilling())) {
                        retrain(m);
                        retrained++;
                    }
                }
            }
            failuresInRow = 0;
            return new PassResult(retrained, Optional.empty(), 0);
        } catch (RuntimeException e) {
            failures.increment();
            failuresInRow++;
            long backoff = Math.min(MAX_BACKOFF_NANOS, FIRST_BACKOFF_NANOS << Math.min(20, failuresInRow - 1));
            String state = pending == null ? "undone" : "pending=" + pending.describe();
            return new PassResult(retrained, Optional.of(e + " (" + state + ")"), backoff);
        }
    }

    /**
     * {@link #runPass()} as a background loop runs it: a failed pass is logged with its reason (a warning) and followed
     * by its back-off. Returns whether the pass retrained a model (then the loop runs the next one at once).
     *
     * @throws InterruptedException if interrupted during the back-off (the loop is stopping)
     */
    public boolean passThenBackOff() throws InterruptedException {
        PassResult pass = runPass();
        if (pass.failed()) {
            LOG.warn("retrain pass failed reason={} failures_in_row={} retry_in_ms={}", pass.failure().orElseThrow(),
                    failuresInRow, TimeUnit.NANOSECONDS.toMillis(pass.retryAfterNanos()));
            TimeUnit.NANOSECONDS.sleep(pass.retryAfterNanos());
        }
        return pass.retrained() > 0;
    }

    /** Whether a pass left work that the next pass completes first (locks still held, a publication to finish). */
    public boolean hasPendingRecovery() {
        return pending != null;
    }

    /** SLT fill per model of the current model set: used slots, clamped to the usable count. */
    public int[] synonymSlotsUsed() {
        if (models == null) {
            return new int[0];
        }
        long[] addresses = new long[models.size()];
        for (int m = 0; m < addresses.length; m++) {
            addresses[m] = layout.synonymUsedAddress(models.get(m));
        }
        byte[][] words = doorbells.readAll(addresses, Long.BYTES);
        int[] used = new int[words.length];
        for (int m = 0; m < used.length; m++) {
            used[m] = (int) Math.min(Math.max(0, WordOrder.getLong(words[m], 0)), TablesDescriptor.USABLE_SYNONYM_SLOTS);
        }
        return used;
    }

    /** Whether the last model is room this retrainer made and appends have reached {@link #ROOM_REFILL_AT} of it. */
    private boolean roomFilling() {
        IndexModel last = models.getLast();
        if (!last.equals(room)) {
            return false;
        }
        int probeLeaf = (int) Math.min(last.leafCount() - 1, (long) (last.leafCount() * ROOM_REFILL_AT));
        DoorbellBatch batch = new DoorbellBatch();
        int verb = batch.read(layout.leafTableEntryAddress(last, probeLeaf), Long.BYTES);
        long entry = LeafTableEntry.withoutLock(connection.execute(batch).readLong(verb, 0));
        if (entry == LeafTableEntry.withoutLock(LeafTableEntry.RETIRED)) {
            return false;
        }
        long reference = LeafTableEntry.withSynonymSlot(entry, 0);
        Leaf leaf = Leaf.decodeOrNull(MemorySegment.ofArray(doorbells.readAll(new long[] {layout.leafAddress(reference)},
                layout.leafBytes())[0]), layout.leafCapacity());
        return leaf != null && (leaf.count() > 0 || leaf.nextLeaf() != 0); // a torn read: the next pass looks again
    }

    /** Reads the meta region and, if the index is new or its epoch not ours, its model set. False if no index. */
    private boolean readView() {
        IndexLoader.Meta current;
        try {
            current = IndexLoader.readMeta(connection);
        } catch (IllegalStateException noIndex) {
            return false;
        }
        if (current.layout() != IndexMetaDescriptor.LAYOUT_GROUPED) {
            return false; // a lean index: LeanRetrainer's
        }
        long currentBuild = current.buildId();
        if (currentBuild != buildId) {
            tableSpace.clear(); // a new build owns the tables and leaves now
            leafSpace.clear();
            buildId = currentBuild;
            models = null;
            room = null;
        }
        if (models == null || current.epoch() != epoch) {
            byte[] set = doorbells.readRange(probe.modelsAddress(current.modelSetOffset()), Math.toIntExact(current.modelSetBytes()));
            List<IndexModel> decoded = IndexLoader.decodeModelSet(MemorySegment.ofArray(set), current.epoch());
            if (decoded == null) {
                throw new CorruptDataException("model set epoch=" + current.epoch() + " fails its checksum");
            }
            models = decoded;
            epoch = current.epoch();
        }
        meta = current;
        layout = new IndexLayout(connection, current.leafCapacity());
        return true;
    }

    // ------------------------------------------------------------------ one model

    private void retrain(int m) {
        IndexModel old = models.get(m);
        long started = System.nanoTime();
        long[] held = lockAll(old);
        Allocation allocation = null;
        Compaction compaction;
        try {
            Snapshot snapshot = readModel(old, held);
            List<IndexLoader.ModelPlan> plans = plan(snapshot, old, m == models.size() - 1);
            allocation = allocate(plans);
            boolean withRoom = plans.size() > 1 && plans.getLast().firstRank() == snapshot.keys().length;
            compaction = writeNew(m, old, snapshot, plans, allocation, started, withRoom);
        } catch (RuntimeException e) {
            undo(new Rollback(old, held, allocation), e);
            throw e;
        }
        pending = compaction;
        compaction.run();
        pending = null;
    }

    /** Model m as read under its locks: its leaves in key order (with their references), keys and values. */
    private record Snapshot(List<Long> references, List<Leaf> leaves, long[] keys, long[] values, long highFence) {
    }

    /** Locks every LT entry of {@code model}; returns the unlocked values. Throws after the lock time-out, holding none. */
    private long[] lockAll(IndexModel model) {
        int count = model.leafCount();
        long[] held = new long[count];
        boolean[] holding = new boolean[count];
        int remaining = count;
        int chunk = (int) Math.max(1, Math.min(Math.min(512, doorbells.maxVerbs()), doorbells.maxBytes() / 8));
        long deadline = System.nanoTime() + RolexIndex.LOCK_TIMEOUT_NANOS;
        try {
            while (remaining > 0) {
                for (int start = 0; start < count; start += chunk) {
                    int end = Math.min(count, start + chunk);
                    DoorbellBatch read = new DoorbellBatch();
                    int verb = read.read(layout.leafTableEntryAddress(model, start), 8 * (end - start));
                    MemorySegment entries = connection.execute(read).read(verb);
                    DoorbellBatch lock = new DoorbellBatch();
                    List<int[]> attempts = new ArrayList<>();
                    for (int leaf = start; leaf < end; leaf++) {
                        long entry = WordOrder.getLong(entries, 8L * (leaf - start));
                        if (!holding[leaf] && !LeafTableEntry.isLocked(entry)) {
                            held[leaf] = entry;
                            attempts.add(new int[] {leaf, lock.compareAndSwap(layout.leafTableEntryAddress(model, leaf),
                                    entry, LeafTableEntry.withLock(entry))});
                        }
                    }
                    if (lock.isEmpty()) {
                        continue;
                    }
                    BatchResult result;
                    try {
                        result = connection.execute(lock);
                    } catch (RuntimeException e) {
                        // Outcome unknown: a CAS that took effect left our lock, whose value we know.
                        for (int[] attempt : attempts) {
                            holding[attempt[0]] = true;
                        }
                        throw e;
                    }
                    for (int[] attempt : attempts) {
                        if (result.casSucceeded(attempt[1])) {
                            holding[attempt[0]] = true;
                            remaining--;
                        }
                    }
                }
                if (remaining > 0) {
                    if (System.nanoTime() > deadline) {
                        throw new IllegalStateException("could not lock model lowKey=" + Long.toUnsignedString(model.lowKey())
                                + " (" + remaining + " of " + count + " leaf groups held by writers) within "
                                + TimeUnit.NANOSECONDS.toMillis(RolexIndex.LOCK_TIMEOUT_NANOS) + " ms");
                    }
                    LockSupport.parkNanos(20_000);
                }
            }
        } catch (RuntimeException e) {
            undo(new Rollback(model, held, holding, null), e);
            throw e;
        }
        return held;
    }

    /** Runs {@code rollback} now; if it fails too, leaves it for the next pass and notes why on {@code cause}. */
    private void undo(Rollback rollback, RuntimeException cause) {
        pending = rollback;
        try {
            rollback.run();
            pending = null;
        } catch (RuntimeException again) {
            cause.addSuppressed(again);
        }
    }

    /** Reads every leaf of {@code model} in key order, walking each group's chain by the leaves' own links. */
    private Snapshot readModel(IndexModel model, long[] held) {
        int groups = model.leafCount();
        List<List<Long>> chainReferences = new ArrayList<>(groups);
        List<List<Leaf>> chainLeaves = new ArrayList<>(groups);
        long[] next = new long[groups];
        boolean[] open = new boolean[groups];
        for (int g = 0; g < groups; g++) {
            chainReferences.add(new ArrayList<>(2));
            chainLeaves.add(new ArrayList<>(2));
            next[g] = LeafTableEntry.withSynonymSlot(held[g], 0);
            open[g] = true;
        }
        for (int round = 0; round <= LeafTableEntry.SYNONYM_SLOTS; round++) {
            int[] pendingGroups = new int[groups];
            int pendingCount = 0;
            for (int g = 0; g < groups; g++) {
                if (open[g]) {
                    pendingGroups[pendingCount++] = g;
                }
            }
            if (pendingCount == 0) {
                break;
            }
            if (round == LeafTableEntry.SYNONYM_SLOTS) {
                throw new CorruptDataException("a leaf group of model lowKey=" + Long.toUnsignedString(model.lowKey())
                        + " has a chain longer than its synonym table: corrupt links");
            }
            long[] addresses = new long[pendingCount];
            for (int i = 0; i < pendingCount; i++) {
                addresses[i] = layout.leafAddress(next[pendingGroups[i]]);
            }
            Leaf[] leaves = doorbells.readLeaves(addresses, layout);
            for (int i = 0; i < pendingCount; i++) {
                int g = pendingGroups[i];
                chainReferences.get(g).add(next[g]);
                chainLeaves.get(g).add(leaves[i]);
                next[g] = leaves[i].nextLeaf();
                open[g] = next[g] != 0;
            }
        }
        List<Long> references = new ArrayList<>();
        List<Leaf> leaves = new ArrayList<>();
        int keyCount = 0;
        for (int g = 0; g < groups; g++) {
            references.addAll(chainReferences.get(g));
            for (Leaf leaf : chainLeaves.get(g)) {
                leaves.add(leaf);
                keyCount += leaf.count();
            }
        }
        long[] keys = new long[keyCount];
        long[] values = new long[keyCount];
        int rank = 0;
        for (Leaf leaf : leaves) {
            for (int i = 0; i < leaf.count(); i++) {
                keys[rank] = leaf.key(i);
                values[rank] = leaf.value(i);
                if (rank > 0 && Long.compareUnsigned(keys[rank - 1], keys[rank]) >= 0) {
                    throw new CorruptDataException("model lowKey=" + Long.toUnsignedString(model.lowKey())
                            + " holds keys out of order at key=" + Long.toUnsignedString(keys[rank]) + ": corrupt leaves");
                }
                rank++;
            }
        }
        return new Snapshot(references, leaves, keys, values, leaves.getLast().highFence());
    }

    /**
     * The new models for a snapshot: its keys packed as bulk load packs them, over the old model's key range; and, for
     * the last model, a model of empty leaves for the keys past its largest.
     */
    private List<IndexLoader.ModelPlan> plan(Snapshot snapshot, IndexModel old, boolean lastModel) {
        long[] keys = snapshot.keys();
        int count = keys.length;
        int perLeaf = meta.keysPerLeaf();
        if (count == 0) {
            return List.of(new IndexLoader.ModelPlan(old.lowKey(), old.lowKey(), 0, 0, 0, 0, 0,
                    new long[] {old.lowKey()}, snapshot.highFence()));
        }
        long lastKey = keys[count - 1];
        boolean room = lastModel && count >= 2 && Long.compareUnsigned(lastKey, snapshot.highFence()) < 0;
        List<IndexLoader.ModelPlan> plans = new ArrayList<>(IndexLoader.planPacked(keys, count, Math.max(1, meta.epsilon()),
                perLeaf, old.lowKey(), room ? lastKey : snapshot.highFence()));
        if (room) {
            int sample = Math.min(count, 4096);
            double spread = IndexModel.unsignedToDouble(lastKey - keys[count - sample]);
            double keysPerUnit = (sample - 1) / Math.max(1.0, spread);
            long width = (long) Math.max(1, Math.min(Math.ceil(ROOM_KEYS_PER_LEAF / keysPerUnit), (double) Long.MAX_VALUE));
            long first = lastKey + 1;
            long span = snapshot.highFence() - first; // unsigned: keys in the room's range, less one
            long fitting = Long.compareUnsigned(Long.divideUnsigned(span, width), MAX_ROOM_LEAVES) >= 0
                    ? MAX_ROOM_LEAVES : Long.divideUnsigned(span, width) + 1;
            // Room for about twice the keys the model took: a run of appends gets geometrically larger rooms.
            int wanted = Math.clamp(2L * count / ROOM_KEYS_PER_LEAF, MIN_ROOM_LEAVES, MAX_ROOM_LEAVES);
            int leaves = (int) Math.max(1, Math.min(fitting, wanted));
            plans.add(IndexLoader.planRoom(first, width, leaves, perLeaf, snapshot.highFence(), count));
        }
        return plans;
    }

    /** Leaves and table space for a compaction, claimed before anything is written. */
    private record Allocation(long[] leafNumbers, long tablesOffset, long tablesBytes) {
    }

    private Allocation allocate(List<IndexLoader.ModelPlan> plans) {
        int leafCount = 0;
        long tablesBytes = 0;
        for (IndexLoader.ModelPlan plan : plans) {
            leafCount += plan.leafCount();
            tablesBytes += TablesDescriptor.leafTableBytes(plan.leafCount()) + TablesDescriptor.SYNONYM_TABLE_BYTES;
        }
        long[] leaves = new long[leafCount];
        int taken = leafSpace.takeUnits(leaves, System.nanoTime());
        if (taken < leafCount) {
            int needed = leafCount - taken;
            DoorbellBatch claim = new DoorbellBatch();
            int verb = claim.fetchAndAdd(layout.leavesAddress(LeafRegionDescriptor.USED_LEAVES_OFFSET), needed);
            long first = connection.execute(claim).oldValue(verb);
            long capacity = layout.leafCapacityOfRegion();
            for (long leaf = first; leaf < first + needed; leaf++) {
                if (leaf < capacity) {
                    leaves[taken++] = leaf;
                }
            }
            if (taken < leafCount) {
                leafSpace.freeUnits(Arrays.copyOf(leaves, taken), 0);
                throw new IllegalStateException("leaf region full: a compaction needs leaves=" + leafCount
                        + " and the region holds " + capacity + ": give the memory node a larger leaves region");
            }
        }
        long tablesOffset = tableSpace.allocateRange(tablesBytes, this::bumpTables, layout.tablesBytes());
        if (tablesOffset < 0) {
            leafSpace.freeUnits(leaves, 0);
            throw new IllegalStateException("tables region full: retraining needs bytes=" + tablesBytes
                    + ": give the memory node a larger tables region");
        }
        return new Allocation(leaves, tablesOffset, tablesBytes);
    }

    /** Steps 3 (the writes): the new leaves and the new models' locked tables. Returns the rest of the work. */
    private Compaction writeNew(int m, IndexModel old, Snapshot snapshot, List<IndexLoader.ModelPlan> plans,
                                Allocation allocation, long started, boolean withRoom) {
        long newEpoch = epoch + 1;
        int perLeaf = meta.keysPerLeaf();
        BoundedDoorbells.Writer writer = doorbells.writer();
        List<IndexModel> newModels = new ArrayList<>(plans.size());
        List<byte[]> openTables = new ArrayList<>(plans.size());
        long tablesCursor = allocation.tablesOffset();
        int leafCursor = 0;
        long[] keys = snapshot.keys();
        long[] values = snapshot.values();
        for (IndexLoader.ModelPlan plan : plans) {
            IndexModel record = plan.record(tablesCursor, perLeaf);
            tablesCursor += TablesDescriptor.leafTableBytes(plan.leafCount()) + TablesDescriptor.SYNONYM_TABLE_BYTES;
            byte[] lockedTable = new byte[8 * plan.leafCount()];
            byte[] openTable = new byte[8 * plan.leafCount()];
            for (int leaf = 0; leaf < plan.leafCount(); leaf++) {
                long leafNumber = allocation.leafNumbers()[leafCursor++];
                Leaf contents = Leaf.empty(layout.leafCapacity(), plan.lowFences()[leaf], plan.leafHighFence(leaf));
                long rankStart = plan.firstRank() + (long) leaf * perLeaf;
                long rankEnd = Math.min(plan.firstRank() + plan.keyCount(), rankStart + perLeaf);
                for (long rank = rankStart; rank < rankEnd && rank < keys.length; rank++) {
                    contents.put(keys[(int) rank], values[(int) rank]);
                }
                contents.setEpoch(newEpoch);
                contents.bumpVersion();
                long entry = LeafTableEntry.of(IndexLayout.LOCAL_LEAF_REGION, LeafTableEntry.NO_SYNONYM, leafNumber);
                writer.write(layout.leafAddress(entry), contents.encode());
                WordOrder.putLong(openTable, 8 * leaf, entry);
                WordOrder.putLong(lockedTable, 8 * leaf, LeafTableEntry.withLock(entry));
            }
            writer.write(layout.tablesAddress(record.ltOffset()), lockedTable);
            writer.write(layout.tablesAddress(record.sltOffset()), new byte[TablesDescriptor.SYNONYM_TABLE_BYTES]);
            newModels.add(record);
            openTables.add(openTable);
        }
        writer.flush();
        List<IndexModel> all = new ArrayList<>(models.size() - 1 + newModels.size());
        all.addAll(models.subList(0, m));
        all.addAll(newModels);
        all.addAll(models.subList(m + 1, models.size()));
        byte[] set = IndexLoader.encodeModelSet(all, newEpoch);
        if (set.length > layout.modelsBytes() / 2) {
            throw new IllegalStateException("model set bytes=" + set.length + " exceeds half the models region ("
                    + layout.modelsBytes() + "): give the memory node a larger models region");
        }
        long cursor = readMetaWord(IndexMetaDescriptor.MODELS_USED_OFFSET);
        long setOffset = (cursor + 63) / 64 * 64;
        if (setOffset + set.length > layout.modelsBytes()) {
            setOffset = 0; // wrap: the set written there is many publications old
        }
        long[] oldLeafNumbers = new long[snapshot.references().size()];
        List<byte[]> markedOld = new ArrayList<>(oldLeafNumbers.length);
        for (int i = 0; i < oldLeafNumbers.length; i++) {
            oldLeafNumbers[i] = LeafTableEntry.leafNumber(snapshot.references().get(i));
            Leaf leaf = snapshot.leaves().get(i);
            leaf.setEpoch(newEpoch);
            leaf.bumpVersion();
            markedOld.add(leaf.encode());
        }
        return new Compaction(old, all, newEpoch, set, setOffset, newModels, openTables, snapshot.references(),
                markedOld, oldLeafNumbers, keys.length, started, withRoom);
    }

    // ------------------------------------------------------------------ recovery

    /** Work that must be done, and may be run again until it succeeds. */
    private interface Recovery {
        void run();

        String describe();
    }

    /** Undo before publication: the old model's locks written back as they were, new space freed. */
    private final class Rollback implements Recovery {
        private final IndexModel model;
        private final long[] held;
        private final boolean[] holding;
        private final Allocation allocation;

        Rollback(IndexModel model, long[] held, Allocation allocation) {
            this(model, held, all(held.length), allocation);
        }

        Rollback(IndexModel model, long[] held, boolean[] holding, Allocation allocation) {
            this.model = model;
            this.held = held;
            this.holding = holding;
            this.allocation = allocation;
        }

        private static boolean[] all(int length) {
            boolean[] holding = new boolean[length];
            Arrays.fill(holding, true);
            return holding;
        }

        @Override
        public void run() {
            // By CAS from our lock value, not a blind WRITE: after a lock CAS of unknown outcome the entry may not be
            // ours, and writing a stale value over another holder's lock would drop the synonym link it adds.
            BoundedDoorbells.Writer writer = doorbells.writer();
            for (int leaf = 0; leaf < held.length; leaf++) {
                if (holding[leaf]) {
                    writer.compareAndSwap(layout.leafTableEntryAddress(model, leaf), LeafTableEntry.withLock(held[leaf]), held[leaf]);
                }
            }
            writer.flush();
            if (allocation != null) {
                // Never published: no reader can know these, so they are free at once.
                leafSpace.freeUnits(allocation.leafNumbers(), 0);
                tableSpace.freeRange(allocation.tablesOffset(), allocation.tablesBytes(), 0);
            }
        }

        @Override
        public String describe() {
            return "unlock model lowKey=" + Long.toUnsignedString(model.lowKey());
        }
    }

    /** Steps 4 to 7 of a compaction: idempotent, so a failed attempt is simply run again. */
    private final class Compaction implements Recovery {
        private final IndexModel old;
        private final List<IndexModel> all;
        private final long newEpoch;
        private final byte[] set;
        private final long setOffset;
        private final List<IndexModel> newModels;
        private final List<byte[]> openTables;
        private final List<Long> oldReferences;
        private final List<byte[]> markedOld;
        private final long[] oldLeafNumbers;
        private final int keys;
        private final long started;
        private final boolean withRoom;

        Compaction(IndexModel old, List<IndexModel> all, long newEpoch, byte[] set, long setOffset, List<IndexModel> newModels,
                   List<byte[]> openTables, List<Long> oldReferences, List<byte[]> markedOld, long[] oldLeafNumbers, int keys,
                   long started, boolean withRoom) {
            this.old = old;
            this.all = all;
            this.newEpoch = newEpoch;
            this.set = set;
            this.setOffset = setOffset;
            this.newModels = newModels;
            this.openTables = openTables;
            this.oldReferences = oldReferences;
            this.markedOld = markedOld;
            this.oldLeafNumbers = oldLeafNumbers;
            this.keys = keys;
            this.started = started;
            this.withRoom = withRoom;
        }

        @Override
        public void run() {
            // 4. Publish.
            BoundedDoorbells.Writer writer = doorbells.writer();
            writer.write(layout.modelsAddress(setOffset), set);
            writer.flush();
            DoorbellBatch publish = new DoorbellBatch();
            publish.writeLong(layout.metaAddress(IndexMetaDescriptor.MODEL_SET_OFFSET_OFFSET), setOffset);
            publish.writeLong(layout.metaAddress(IndexMetaDescriptor.MODEL_SET_BYTES_OFFSET), set.length);
            publish.writeLong(layout.metaAddress(IndexMetaDescriptor.MODELS_USED_OFFSET), setOffset + set.length);
            publish.writeLong(layout.metaAddress(IndexMetaDescriptor.MODEL_EPOCH_OFFSET), newEpoch);
            connection.execute(publish);
            models = all;
            epoch = newEpoch;
            if (withRoom) {
                room = newModels.getLast();
            }
            // 5. Mark the old leaves with the new epoch, before any writer can change the new ones.
            for (int i = 0; i < markedOld.size(); i++) {
                writer.write(layout.leafAddress(oldReferences.get(i)), markedOld.get(i));
            }
            writer.flush();
            // 6. Open the new models, then retire the old one.
            for (int i = 0; i < newModels.size(); i++) {
                writer.write(layout.tablesAddress(newModels.get(i).ltOffset()), openTables.get(i));
            }
            byte[] retired = new byte[8 * old.leafCount()];
            Arrays.fill(retired, (byte) 0xFF); // LeafTableEntry.RETIRED in every entry
            writer.write(layout.tablesAddress(old.ltOffset()), retired);
            writer.flush();
            // 7. Free the old space once no reader can hold it.
            long now = System.nanoTime();
            tableSpace.freeRange(old.ltOffset(), tableBytes(old), now);
            leafSpace.freeUnits(oldLeafNumbers, now);
            long elapsed = now - started;
            retrains.increment();
            retrainNanos.add(elapsed);
            keysRetrained.add(keys);
            try {
                DoorbellBatch counters = new DoorbellBatch();
                counters.fetchAndAdd(layout.metaAddress(IndexMetaDescriptor.RETRAINS_OFFSET), 1);
                counters.fetchAndAdd(layout.metaAddress(IndexMetaDescriptor.RETRAIN_NANOS_OFFSET), elapsed);
                connection.execute(counters);
            } catch (RuntimeException statisticsOnly) {
                // Counters for reports: a lost update there is not worth running the finished steps again for.
            }
        }

        @Override
        public String describe() {
            return "finish epoch=" + newEpoch + " replacing model lowKey=" + Long.toUnsignedString(old.lowKey());
        }
    }

    private static long tableBytes(IndexModel model) {
        long directory = model.hasDirectory() ? (4L * model.leafCount() + 7) / 8 * 8 : 0;
        return 8L * model.leafCount() + TablesDescriptor.SYNONYM_TABLE_BYTES + directory;
    }

    private long bumpTables(long bytes) {
        DoorbellBatch batch = new DoorbellBatch();
        int verb = batch.fetchAndAdd(probe.metaAddress(IndexMetaDescriptor.TABLES_USED_OFFSET), bytes);
        return connection.execute(batch).oldValue(verb);
    }

    private long readMetaWord(int offset) {
        DoorbellBatch batch = new DoorbellBatch();
        int verb = batch.read(probe.metaAddress(offset), Long.BYTES);
        return connection.execute(batch).readLong(verb, 0);
    }

    /**
     * Free space the retrainer hands out again: table byte ranges (first fit) and single leaves (by number), each usable
     * once its grace period is over; a range freed with time 0 is usable at once. Only the retrainer frees and reuses
     * this space after a build, so these lists are the whole truth about it.
     */
    static final class SpaceList {
        private record Range(long offset, long bytes, long freedAt) {
        }

        private final long graceNanos;
        private final List<Range> ranges = new ArrayList<>();
        private final ArrayDeque<long[]> units = new ArrayDeque<>();
        private final ArrayDeque<Long> unitsFreedAt = new ArrayDeque<>();
        private int headUsed;

        SpaceList(long graceNanos) {
            this.graceNanos = graceNanos;
        }

        interface Bump {
            long claim(long bytes);
        }

        /** An offset for {@code bytes}, or -1 if the region is full. */
        long allocateRange(long bytes, Bump bump, long regionBytes) {
            long now = System.nanoTime();
            for (Iterator<Range> it = ranges.iterator(); it.hasNext(); ) {
                Range range = it.next();
                if (range.bytes() >= bytes && (range.freedAt() == 0 || now - range.freedAt() >= graceNanos)) {
                    it.remove();
                    if (range.bytes() > bytes) {
                        ranges.add(new Range(range.offset() + bytes, range.bytes() - bytes, range.freedAt()));
                    }
                    return range.offset();
                }
            }
            long offset = bump.claim(bytes);
            return offset + bytes <= regionBytes ? offset : -1;
        }

        void freeRange(long offset, long bytes, long now) {
            ranges.add(new Range(offset, bytes, now));
        }

        /** Fills {@code out} from the front with free units whose grace is over; returns how many. */
        int takeUnits(long[] out, long now) {
            int taken = 0;
            while (taken < out.length && !units.isEmpty()) {
                long freedAt = unitsFreedAt.peekFirst();
                if (freedAt != 0 && now - freedAt < graceNanos) {
                    break; // freed in time order (or at once): the rest are younger
                }
                long[] head = units.peekFirst();
                while (taken < out.length && headUsed < head.length) {
                    out[taken++] = head[headUsed++];
                }
                if (headUsed == head.length) {
                    units.removeFirst();
                    unitsFreedAt.removeFirst();
                    headUsed = 0;
                }
            }
            return taken;
        }

        void freeUnits(long[] numbers, long now) {
            if (numbers.length == 0) {
                return;
            }
            if (now == 0) {
                // Free at once: ahead of the queue, so they are reused first.
                if (headUsed > 0) {
                    long[] head = units.removeFirst();
                    long headFreedAt = unitsFreedAt.removeFirst();
                    units.addFirst(Arrays.copyOfRange(head, headUsed, head.length));
                    unitsFreedAt.addFirst(headFreedAt);
                    headUsed = 0;
                }
                units.addFirst(numbers.clone());
                unitsFreedAt.addFirst(0L);
            } else {
                units.addLast(numbers.clone());
                unitsFreedAt.addLast(now);
            }
        }

        void clear() {
            ranges.clear();
            units.clear();
            unitsFreedAt.clear();
            headUsed = 0;
        }

        long freeRangeBytes() {
            long total = 0;
            for (Range range : ranges) {
                total += range.bytes();
            }
            return total;
        }

        long freeUnitCount() {
            long total = -headUsed;
            for (long[] chunk : units) {
                total += chunk.length;
            }
            return total;
        }
    }

    /** Bytes of table space waiting out their grace period or free for reuse. */
    public long retiredTableBytes() {
        return tableSpace.freeRangeBytes();
    }

    /** Leaves waiting out their grace period or free for reuse. */
    public long retiredLeaves() {
        return leafSpace.freeUnitCount();
    }
}
