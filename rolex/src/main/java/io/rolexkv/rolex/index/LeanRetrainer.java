package io.rolexkv.rolex.index;

import io.rolexkv.common.fabric.BatchResult;
import io.rolexkv.common.fabric.CorruptDataException;
import io.rolexkv.common.fabric.DoorbellBatch;
import io.rolexkv.common.fabric.FabricConnection;
import io.rolexkv.common.fabric.FabricLimits;
import io.rolexkv.common.fabric.WordOrder;
import io.rolexkv.rolex.layout.GroupWord;
import io.rolexkv.rolex.layout.IndexMetaDescriptor;
import io.rolexkv.rolex.layout.LeafTableEntry;
import io.rolexkv.rolex.layout.TablesDescriptor;
import io.rolexkv.rolex.leaf.Leaf;
import io.rolexkv.rolex.model.LinearModel;
import io.rolexkv.rolex.model.OptimalPiecewiseLinearTrainer;

import java.lang.foreign.MemorySegment;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Iterator;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.LongAdder;
import java.util.concurrent.locks.LockSupport;

/**
 * Compacts and retrains the models of a {@link LeanIndex} on the memory node's own CPU, without blocking readers: a
 * model whose delta leaves grew is rebuilt with every live key in a fresh dense base, so lookups go back to reading one
 * window, and the keys are fitted anew (the optimal PLA, cut into models of at most {@link Policy#maxModelKeys} keys so
 * that a model taking appends is rebuilt in bounded work). Runs the same verbs as compute nodes through a connection to
 * the node's own memory, in doorbells within its {@link FabricLimits}. Not thread-safe: one per memory node, driven by
 * one background thread through {@link #runPass()}.
 *
 * <h2>One pass (epoch {@code E} to {@code E + 1})</h2>
 * <ol>
 *   <li><b>Freeze</b> each due model: CAS the lock and frozen bits into every group word (waiting out writers that
 *       hold one). Writers of it back off for about a pass; readers go on, they take no locks.</li>
 *   <li><b>Read</b> it whole under the locks: group heads, base, every delta chain. Nothing changes under the locks.</li>
 *   <li><b>Write</b> its replacement models in tables space no published model names: group words locked, empty SLT,
 *       the merged live keys as the base.</li>
 *   <li><b>Publish</b> one model set with every due model replaced, epoch {@code E + 1}, in the next place of the models
 *       region's circular queue, then the meta words that point at it. The point of no return.</li>
 *   <li><b>Retire</b> the old models' group words ({@link GroupWord#RETIRED}).</li>
 *   <li><b>Open</b> the new models: CAS their group words unlocked.</li>
 *   <li><b>Free</b> the old blocks and delta leaves (reused after {@link #REUSE_GRACE_NANOS}).</li>
 * </ol>
 *
 * <h2>Why no reader or writer misses a key or sees an old value</h2>
 * From step 1 to step 6 no writer changes a due model's keys anywhere: its groups are locked, then retired, and the new
 * models' groups are locked until step 6. The old block and the new one hold the same keys and values throughout. A
 * reader of the old epoch reads the frozen old block (values as of the freeze, which stay current until step 6) or
 * meets a retired group and refreshes; since step 5 comes before step 6, no reader of the old block can return a value
 * older than one a completed write of the new block made. A read of the old block's delta leaves in a later doorbell
 * finds them frozen too (no writer reaches them again), or reused and written under a newer epoch, which it rejects.
 * A writer with old models either locked before step 1 (step 1 waited for it and step 2 read its result), or loses its
 * CAS to a frozen or retired group, or reads the new epoch word in its first doorbell; it then releases by CAS (never
 * a blind write, so a lock it took on reused memory is undone without touching anyone else's word), refreshes and runs
 * again.
 *
 * <h2>Reuse</h2>
 * A freed block may be handed out again once its grace period is over. Writers are safe against reuse by the epoch
 * word they read with their locks. A reader's models could still name a reused block, so before any reused space is
 * written the retrainer raises the meta word {@link IndexMetaDescriptor#REUSE_FLOOR_OFFSET} to the epoch that retired
 * it, and every read doorbell reads that word after its windows: a reader whose models are older refreshes. A reader
 * whose doorbell raced the reuse reads the raised floor, since the floor is written first and read last.
 *
 * <h2>Failures</h2>
 * A failure before step 4 undoes what was done: the frozen group words are CAS'd back to what they held, the new
 * blocks freed at once (never published). A failure in or after step 4 (a publish whose outcome is unknown included) is
 * completed forward: steps 4 to 7 are idempotent (step 6 by CAS from the locked word) and run again at the start of
 * every following pass, after a back-off, until they succeed or the index is rebuilt. No lock outlives the next
 * successful pass.
 */
public final class LeanRetrainer {
    private static final org.slf4j.Logger LOG = org.slf4j.LoggerFactory.getLogger(LeanRetrainer.class);
    /** How long freed blocks and leaves stay untouched before they are reused: far longer than a doorbell. */
    public static final long REUSE_GRACE_NANOS = TimeUnit.SECONDS.toNanos(1);
    /** How long a pass waits to freeze one model before it leaves that model for a later pass. */
    static final long FREEZE_TIMEOUT_NANOS = TimeUnit.SECONDS.toNanos(1);
    static final long FIRST_BACKOFF_NANOS = TimeUnit.MILLISECONDS.toNanos(10);
    static final long MAX_BACKOFF_NANOS = TimeUnit.SECONDS.toNanos(1);
    /**
     * How long no SLT counter may move before the index counts as idle and every model with a delta leaf is
     * compacted, so that lookups after a load read one window.
     */
    static final long IDLE_NANOS = TimeUnit.MILLISECONDS.toNanos(500);
    /**
     * While writes go on but no model is due, this many models halfway due ({@link Policy#halfwayDue}) are compacted at
     * most every {@link #TRICKLE_INTERVAL_NANOS}: delta leaves left below the due threshold (every lookup of their
     * groups reads them) do not pile up for good under a steady trickle of inserts, and new epochs stay few. Models with
     * fewer delta leaves wait: compacting a model for one or two inserts, again and again, cost more than all the
     * inserts (and every new epoch makes the writers in flight refresh and run again).
     */
    static final int TRICKLE_MODELS = 32;
    static final long TRICKLE_INTERVAL_NANOS = TimeUnit.MILLISECONDS.toNanos(200);
    /**
     * The least time between two publications for models that are due but not urgent (an SLT at its guard, appends
     * piling up): every new epoch makes each writer in flight refresh and run again, so due models are gathered into
     * fewer epochs. Far shorter than it takes any model to go from due to its guard.
     */
    static final long DUE_PACE_NANOS = TimeUnit.MILLISECONDS.toNanos(20);
    /** The share of time compaction may already take for the trickle to run (a load's compactions keep it off). */
    static final double TRICKLE_BUSY_FRACTION = 0.05;

    /**
     * When a model is due, and how much one pass does.
     *
     * @param minDeltaLeaves    a model is compacted once it has more delta leaves than this...
     * @param deltaLeafFraction ...and more than this fraction of its groups (so work stays in proportion to size)
     * @param minModelKeys      a model with fewer keys (a sliver: the remainder of a cut) is compacted together with a due
     *                          neighbour. Well below the size the optimal PLA gives models (about 600 keys of random
     *                          keys at epsilon 12): a neighbour of that size is refitted to the very same segment, so
     *                          dragging it along is work that absorbs no insert
     * @param maxModelKeys      the most base keys a rebuilt model gets: a model taking appends is rebuilt in bounded work
     * @param maxKeysPerPass    a pass stops freezing models once it holds this many keys (the rest wait for the next)
     */
    public record Policy(int minDeltaLeaves, double deltaLeafFraction, int minModelKeys, int maxModelKeys,
                         int maxKeysPerPass) {
        public static final Policy DEFAULT = new Policy(8, 1.0, 128, 4096, 1 << 18);

        public Policy {
            if (minDeltaLeaves < 0 || minDeltaLeaves >= TablesDescriptor.USABLE_SYNONYM_SLOTS / 2) {
                throw new IllegalArgumentException("min_delta_leaves=" + minDeltaLeaves + " allowed=[0,"
                        + (TablesDescriptor.USABLE_SYNONYM_SLOTS / 2 - 1) + "]");
            }
            if (!(deltaLeafFraction > 0 && deltaLeafFraction <= 1)) {
                throw new IllegalArgumentException("delta_leaf_fraction=" + deltaLeafFraction + " allowed=(0,1]");
            }
            if (maxModelKeys < GroupWord.MAX_GROUP_SIZE || maxKeysPerPass < maxModelKeys || minModelKeys < 0
                    || minModelKeys > maxModelKeys / 2) {
                throw new IllegalArgumentException("max_model_keys=" + maxModelKeys + " must be >= "
                        + GroupWord.MAX_GROUP_SIZE + ", max_keys_per_pass=" + maxKeysPerPass + " >= it, and min_model_keys="
                        + minModelKeys + " in [0, max_model_keys / 2]");
            }
        }

        /**
         * Whether a model of {@code groups} groups with {@code slotsUsed} SLT slots claimed is due. Half the SLT is the
         * guard no model may pass whatever its size: writers claim slots ahead, and appends keep coming meanwhile.
         */
        boolean due(int groups, int slotsUsed) {
            return slotsUsed > Math.max(minDeltaLeaves, deltaLeafFraction * groups)
                    || slotsUsed >= TablesDescriptor.USABLE_SYNONYM_SLOTS / 2;
        }

        /**
         * Whether a model has claimed at least half the SLT slots that make it due (and one at least): what a trickle
         * pass, or a run started by another model, may compact early. Compacting it then absorbs at least that many
         * delta leaves, so the work stays in proportion to the inserts (a model with one delta leaf is left for the idle
         * pass, or until it takes more).
         */
        boolean halfwayDue(int groups, int slotsUsed) {
            double threshold = Math.min(Math.max(minDeltaLeaves, deltaLeafFraction * groups),
                    TablesDescriptor.USABLE_SYNONYM_SLOTS / 2);
            return slotsUsed >= 1 && 2.0 * slotsUsed >= threshold;
        }
    }

    /** What one {@link #runPass()} did: models compacted, and if it failed, why and when to try again. */
    public record PassResult(int retrained, Optional<String> failure, long retryAfterNanos) {
        public boolean failed() {
            return failure.isPresent();
        }
    }

    /** Why a model was compacted: the first model of each run is counted under its cause, the rest as neighbours. */
    enum Cause {
        /** Its SLT use passed the policy's threshold ({@link Policy#due}). */
        DUE,
        /** Appends piled up in its last group, or its room for appends is filling. */
        APPENDS,
        /** A trickle pass: writes go on, nothing is due. */
        TRICKLE,
        /** An idle pass: no SLT claim for {@link #IDLE_NANOS}. */
        IDLE
    }

    /**
     * What the retrainer has done so far.
     *
     * @param retrains      models replaced (retired), whatever the cause
     * @param epochs        model sets published: each one makes every writer in flight refresh and run again
     * @param byCause       models replaced as the first of a run, per {@link Cause} (by ordinal)
     * @param neighbours    models replaced because they joined a run beside the model that started it
     */
    public record Stats(long retrains, long retrainNanos, long keysRetrained, long failures, long epochs,
                        long due, long appends, long trickle, long idle, long neighbours) {
        public static final Stats NONE = new Stats(0, 0, 0, 0, 0, 0, 0, 0, 0, 0);

        public double meanMillisPerRetrain() {
            return retrains == 0 ? 0 : retrainNanos / 1e6 / retrains;
        }
    }

    private final FabricConnection connection;
    private final BoundedDoorbells doorbells;
    private final Policy policy;
    private final IndexLayout probe;
    private final FreeSpace tableSpace = new FreeSpace();
    /** Delta leaves freed by compaction and not yet in the recycled-leaf ring: (leaf number, epoch that freed it). */
    private final java.util.ArrayDeque<long[]> recycleBacklog = new java.util.ArrayDeque<>();
    private final LongAdder retrains = new LongAdder();
    private final LongAdder retrainNanos = new LongAdder();
    private final LongAdder keysRetrained = new LongAdder();
    private final LongAdder failures = new LongAdder();
    private final LongAdder epochs = new LongAdder();
    private final LongAdder neighbours = new LongAdder();
    private final LongAdder[] byCause = java.util.stream.Stream.generate(LongAdder::new).limit(Cause.values().length)
            .toArray(LongAdder[]::new);
    private List<LeanModel> models;
    private long epoch = -1;
    private long buildId;
    private IndexLoader.Meta meta;
    private IndexLayout layout;
    private Recovery pending;
    private int failuresInRow;
    private long lastSlotSum = -1;
    private long lastTrickle;
    /** When the last model set was published (by {@link System#nanoTime()}). */
    private long lastPublished = System.nanoTime() - DUE_PACE_NANOS;
    /** Whether the last pass left due models for the next one ({@link #DUE_PACE_NANOS}). */
    private boolean dueDeferred;
    private long busyWindowStart;
    private long busyWindowNanos;
    /** Whether every model was checked for delta leaves since the SLT counters last moved. */
    private boolean idleChecked = true;
    private int trickleCursor;
    /** Whether this retrainer has looked for tables space a retrainer before it freed (see readView). */
    private boolean reclaimChecked;
    private long slotsLastMoved = System.nanoTime();

    public LeanRetrainer(FabricConnection connection, FabricLimits limits, Policy policy) {
        this.connection = connection;
        this.doorbells = new BoundedDoorbells(connection, limits);
        this.policy = policy;
        this.probe = IndexLoader.layoutProbe(connection);
    }

    public Stats stats() {
        return new Stats(retrains.sum(), retrainNanos.sum(), keysRetrained.sum(), failures.sum(), epochs.sum(),
                byCause[Cause.DUE.ordinal()].sum(), byCause[Cause.APPENDS.ordinal()].sum(),
                byCause[Cause.TRICKLE.ordinal()].sum(), byCause[Cause.IDLE.ordinal()].sum(), neighbours.sum());
    }

    /** The superblock of the published lean index in the connection's memory, or null if there is none. */
    private static IndexLoader.Meta publishedLean(FabricConnection connection) {
        try {
            IndexLoader.Meta meta = IndexLoader.readMeta(connection);
            return meta.layout() == IndexMetaDescriptor.LAYOUT_LEAN ? meta : null;
        } catch (IllegalStateException noIndex) {
            return null;
        }
    }

    /**
     * One pass: finishes or undoes what a failed pass left, then compacts every due model (as many as
     * {@link Policy#maxKeysPerPass} allows) under one new epoch. Never throws for a failure of the fabric or the index:
     * it reports it, and the caller waits {@link PassResult#retryAfterNanos()} before the next pass.
     */
    public PassResult runPass() {
        try {
            if (pending != null) {
                if (readMetaWord(IndexMetaDescriptor.BUILD_ID_OFFSET) == buildId) {
                    pending.run();
                }
                pending = null; // done, or moot: a new build owns the memory it would have written
            }
            int retrained = 0;
            dueDeferred = false;
            if (readView()) {
                retrained = retrainDue();
                publishRecycled();
            }
            failuresInRow = 0;
            return new PassResult(retrained, Optional.empty(), 0);
        } catch (RuntimeException e) {
            failures.increment();
            failuresInRow++;
            long backoff = Math.min(MAX_BACKOFF_NANOS, FIRST_BACKOFF_NANOS << Math.min(20, failuresInRow - 1));
            String state = pending == null ? "undone" : "pending=" + pending.describe();
            return new PassResult(0, Optional.of(e + " (" + state + ")"), backoff);
        }
    }

    /** {@link #runPass()} with a failure logged and backed off; returns whether the pass compacted a model. */
    public boolean passThenBackOff() throws InterruptedException {
        PassResult pass = runPass();
        if (pass.failed()) {
            LOG.warn("retrain pass failed reason={} failures_in_row={} retry_in_ms={}", pass.failure().orElseThrow(),
                    failuresInRow, TimeUnit.NANOSECONDS.toMillis(pass.retryAfterNanos()));
            TimeUnit.NANOSECONDS.sleep(pass.retryAfterNanos());
        }
        return pass.retrained() > 0;
    }

    /** Whether a failed pass left work that the next pass completes (or undoes) first. */
    public boolean hasPendingRecovery() {
        return pending != null;
    }

    /**
     * Whether a pass may find work although nothing was written since the last one: a failed pass's recovery, due
     * models a pass left for the next ({@link #DUE_PACE_NANOS}), or delta leaves that writes since the last idle check
     * may have left, which only an idle pass (after {@link #IDLE_NANOS} without new SLT claims) compacts.
     */
    public boolean hasWorkWithoutNewWrites() {
        return pending != null || !idleChecked || dueDeferred;
    }

    private boolean readView() {
        IndexLoader.Meta current = publishedLean(connection);
        if (current == null) {
            return false;
        }
        long currentBuild = current.buildId();
        if (currentBuild != buildId) {
            tableSpace.clear(); // a new build owns the tables and leaves now
            recycleBacklog.clear();
            buildId = currentBuild;
            models = null;
        }
        if (models == null || current.epoch() != epoch) {
            byte[] set = doorbells.readRange(probe.modelsAddress(current.modelSetOffset()), Math.toIntExact(current.modelSetBytes()));
            List<LeanModel> decoded = IndexLoader.decodeModelSet(MemorySegment.ofArray(set), current.epoch());
            if (decoded == null) {
                throw new CorruptDataException("model set epoch=" + current.epoch() + " fails its checksum");
            }
            models = decoded;
            epoch = current.epoch();
        }
        meta = current;
        layout = new IndexLayout(connection, current.leafCapacity());
        if (!reclaimChecked) {
            reclaimUnreachableTables();
            reclaimChecked = true;
        }
        return true;
    }

    /**
     * Frees the tables space below {@code tablesUsed} that no published model's block covers: what a retrainer before
     * this one (the memory node restarted with its data) freed and kept in its process memory, and the blocks of a pass
     * it left unpublished. Only retrainers claim tables space once an index is built, so space no published model covers
     * is no one's; it is freed as by the current epoch, with a full grace, so that readers whose models are older
     * refresh before it is reused.
     */
    private void reclaimUnreachableTables() {
        long tablesUsed = Math.min(readMetaWord(IndexMetaDescriptor.TABLES_USED_OFFSET), layout.tablesBytes());
        java.util.TreeMap<Long, Long> live = new java.util.TreeMap<>(); // block offset -> aligned end
        for (LeanModel model : models) {
            live.put(model.blockOffset(), model.blockOffset() + TablesDescriptor.alignedBlockBytes(model.blockBytes()));
        }
        long now = System.nanoTime();
        long cursor = 0;
        long reclaimed = 0;
        for (java.util.Map.Entry<Long, Long> block : live.entrySet()) {
            if (block.getKey() > cursor && block.getKey() <= tablesUsed) {
                tableSpace.free(cursor, block.getKey() - cursor, now, epoch);
                reclaimed += block.getKey() - cursor;
            }
            cursor = Math.max(cursor, block.getValue());
        }
        if (tablesUsed > cursor) {
            tableSpace.free(cursor, tablesUsed - cursor, now, epoch);
            reclaimed += tablesUsed - cursor;
        }
        if (reclaimed > 0) {
            LOG.info("tables space no published model covers, freed for reuse bytes={} epoch={}", reclaimed, epoch);
        }
    }

    /** SLT slots claimed per model (slot 0 of each SLT counts them). */
    private int[] slotsUsed() {
        long[] addresses = new long[models.size()];
        for (int m = 0; m < addresses.length; m++) {
            addresses[m] = layout.tablesAddress(models.get(m).synonymTableOffset());
        }
        byte[][] words = doorbells.readAll(addresses, Long.BYTES);
        int[] used = new int[words.length];
        for (int m = 0; m < used.length; m++) {
            used[m] = (int) Math.min(Math.max(0, WordOrder.getLong(words[m], 0)), TablesDescriptor.USABLE_SYNONYM_SLOTS);
        }
        return used;
    }

    private int retrainDue() {
        int[] used = slotsUsed();
        long sum = Arrays.stream(used).asLongStream().sum();
        long now = System.nanoTime();
        if (sum != lastSlotSum) {
            lastSlotSum = sum;
            slotsLastMoved = now;
            idleChecked = false;
        }
        boolean[] piling = appendsPiling(used);
        boolean[] due = new boolean[used.length];
        boolean anyDue = false;
        boolean anyUrgent = false;
        for (int m = 0; m < used.length; m++) {
            due[m] = piling[m] || policy.due(models.get(m).groupCount(), used[m]);
            anyDue |= due[m];
            anyUrgent |= piling[m] || used[m] >= TablesDescriptor.USABLE_SYNONYM_SLOTS / 2;
        }
        dueDeferred = anyDue && !anyUrgent && now - lastPublished < DUE_PACE_NANOS;
        if (dueDeferred) {
            return 0; // gathered into the next pass's epoch
        }
        boolean[] chained;
        Cause chainedCause = Cause.IDLE;
        if (now - slotsLastMoved >= IDLE_NANOS) {
            boolean[] any = new boolean[used.length];
            for (int m = 0; m < used.length; m++) {
                any[m] = used[m] > 0;
            }
            chained = hasDeltaLeaves(any, used.length); // idle: every model with a delta leaf
            idleChecked = true;
        } else if (!anyDue && now - lastTrickle >= TRICKLE_INTERVAL_NANOS && !busy(now)) {
            boolean[] halfway = new boolean[used.length];
            for (int m = 0; m < used.length; m++) {
                halfway[m] = worthCompactingEarly(m, used);
            }
            chained = hasDeltaLeaves(halfway, TRICKLE_MODELS); // busy, but nothing due: a few halfway there
            chainedCause = Cause.TRICKLE;
            lastTrickle = now;
        } else {
            chained = new boolean[used.length];
        }
        List<int[]> runs = new ArrayList<>();
        int smallModel = Math.max(1, policy.minModelKeys());
        for (int m = 0; m < used.length; m++) {
            if (!due[m] && !chained[m]) {
                continue;
            }
            // A run: the due model and the models beside it worth compacting with it: slivers, so that models never
            // dwindle (each compaction's last segment is a remainder, and nothing else would ever join it to a
            // neighbour), and models halfway due, whose delta leaves pay for their share of the work and which would
            // otherwise need an epoch of their own soon. Any other neighbour would be refitted to the segment it has,
            // work that absorbs no insert. At most RUN_MODEL_KEYS_FACTOR times max_model_keys in all, so a run stays
            // bounded work.
            long runKeys = models.get(m).keyCount();
            long runLimit = (long) RUN_MODEL_KEYS_FACTOR * policy.maxModelKeys();
            int first = m;
            int previousEnd = runs.isEmpty() ? -1 : runs.getLast()[1];
            while (first - 1 > previousEnd && worthJoining(first - 1, used, smallModel)
                    && runKeys + models.get(first - 1).keyCount() <= runLimit) {
                runKeys += models.get(--first).keyCount();
            }
            int last = m;
            if (last + 1 < models.size() && models.get(m).keyCount() + models.get(last + 1).keyCount() <= policy.maxModelKeys()) {
                runKeys += models.get(++last).keyCount(); // and the next model, so that the cut between them is fitted anew
            }
            while (last + 1 < models.size() && worthJoining(last + 1, used, smallModel)
                    && runKeys + models.get(last + 1).keyCount() <= runLimit) {
                runKeys += models.get(++last).keyCount();
            }
            Cause cause = piling[m] ? Cause.APPENDS : due[m] ? Cause.DUE : chainedCause;
            runs.add(new int[] {first, last, piling[last] ? 1 : 0, cause.ordinal()});
            m = last;
        }
        if (runs.isEmpty()) {
            return 0;
        }
        return retrain(runs);
    }

    /** Whether model {@code m} joins a neighbour's run: a sliver, or worth compacting early itself. */
    private boolean worthJoining(int m, int[] used, int smallModel) {
        return models.get(m).keyCount() < smallModel || worthCompactingEarly(m, used);
    }

    /**
     * Whether model {@code m} is worth compacting before it is due: it is halfway due, or it is a model of deleted fences
     * (an empty index's, a room for appends) that took inserts. Such a model's live keys are all inserted ones, so
     * compacting it copies each inserted key once, and until then every lookup of them reads delta leaves; appends that
     * land between an empty index's fences pile up in one group's chain, which only compaction into a model of the
     * keys (whose last group then shows the appends) turns into a room.
     */
    private boolean worthCompactingEarly(int m, int[] used) {
        LeanModel model = models.get(m);
        return used[m] > 0 && (model.startsDeleted() || policy.halfwayDue(model.groupCount(), used[m]));
    }

    /**
     * Whether compaction took more than {@link #TRICKLE_BUSY_FRACTION} of the time since the current one-second window
     * began: then the node's CPU is better left to serving verbs than to compacting what is not due.
     */
    private boolean busy(long now) {
        if (now - busyWindowStart > TimeUnit.SECONDS.toNanos(1)) {
            busyWindowStart = now;
            busyWindowNanos = 0;
        }
        return busyWindowNanos > TRICKLE_BUSY_FRACTION * (now - busyWindowStart);
    }

    /**
     * Per model among the {@code candidates}: whether any group has a delta leaf (a model's SLT counter also counts
     * slots writers claimed ahead and never used, so only the heads tell), for at most {@code limit} models with any,
     * taken round-robin from where the last call stopped.
     */
    private boolean[] hasDeltaLeaves(boolean[] candidates, int limit) {
        boolean[] chained = new boolean[candidates.length];
        int found = 0;
        for (int step = 0; step < candidates.length && found < limit; step++) {
            int m = (trickleCursor + step) % candidates.length;
            if (!candidates[m]) {
                continue;
            }
            LeanModel model = models.get(m);
            byte[] heads = doorbells.readRange(layout.tablesAddress(model.groupOffset(0)),
                    TablesDescriptor.GROUP_HEAD_BYTES * model.groupCount());
            for (int g = 0; g < model.groupCount() && !chained[m]; g++) {
                chained[m] = WordOrder.getLong(heads, TablesDescriptor.GROUP_HEAD_BYTES * g + TablesDescriptor.DELTA_HEAD_OFFSET) != 0;
            }
            if (chained[m] && ++found == limit) {
                trickleCursor = m + 1;
            }
        }
        return chained;
    }

    /**
     * Delta leaves a model's last group may have before the model is due whatever its size: appends (keys past the
     * model's largest) pile up there, and every append reads that chain. Compacting such a model also gives it room.
     */
    static final int MAX_LAST_CHAIN = 2;
    /** A run of models compacted together holds at most this many times {@link Policy#maxModelKeys} keys. */
    static final int RUN_MODEL_KEYS_FACTOR = 4;
    /** A room is renewed once the fence at this fraction of it holds a key, before appends run past its end. */
    static final double ROOM_REFILL_AT = 0.75;
    /** Fences a room has at least (a fence model of an empty index has fewer, and is no room). */
    static final int MIN_ROOM_FENCES = 128;

    /** Per model: whether its last group's delta chain is longer than {@link #MAX_LAST_CHAIN} leaves. */
    private boolean[] appendsPiling(int[] used) {
        boolean[] piling = new boolean[models.size()];
        List<Integer> open = new ArrayList<>();
        for (int m = 0; m < used.length; m++) {
            if (used[m] > MAX_LAST_CHAIN) {
                open.add(m); // fewer delta leaves in all than that: no chain of the model can be too long
            }
        }
        long[] next = new long[models.size()];
        long[] addresses = new long[open.size()];
        for (int i = 0; i < addresses.length; i++) {
            LeanModel model = models.get(open.get(i));
            addresses[i] = layout.tablesAddress(model.groupOffset(model.groupCount() - 1) + TablesDescriptor.DELTA_HEAD_OFFSET);
        }
        byte[][] heads = doorbells.readAll(addresses, Long.BYTES);
        for (int i = 0; i < heads.length; i++) {
            next[open.get(i)] = WordOrder.getLong(heads[i], 0);
        }
        for (int depth = 0; depth < MAX_LAST_CHAIN && !open.isEmpty(); depth++) {
            open.removeIf(m -> next[m] == 0);
            long[] leafAddresses = new long[open.size()];
            for (int i = 0; i < leafAddresses.length; i++) {
                leafAddresses[i] = layout.leafAddress(next[open.get(i)]);
            }
            Leaf[] leaves = doorbells.readLeaves(leafAddresses, layout);
            for (int i = 0; i < leaves.length; i++) {
                next[open.get(i)] = leaves[i].nextLeaf();
            }
        }
        for (int m : open) {
            piling[m] = next[m] != 0; // a leaf beyond the first MAX_LAST_CHAIN
        }
        // A room of evenly spaced fences whose fence at ROOM_REFILL_AT holds a key: appends are about to run past it.
        List<Integer> rooms = new ArrayList<>();
        for (int m = 0; m < piling.length; m++) {
            LeanModel model = models.get(m);
            if (!piling[m] && model.groupSize() == 1 && model.maxError() == 0 && model.keyCount() >= MIN_ROOM_FENCES) {
                rooms.add(m);
            }
        }
        long[] probes = new long[rooms.size()];
        for (int i = 0; i < probes.length; i++) {
            LeanModel room = models.get(rooms.get(i));
            probes[i] = layout.tablesAddress(room.groupOffset((int) (room.groupCount() * ROOM_REFILL_AT)));
        }
        byte[][] words = doorbells.readAll(probes, Long.BYTES);
        for (int i = 0; i < words.length; i++) {
            long word = WordOrder.getLong(words[i], 0);
            piling[rooms.get(i)] = word != GroupWord.RETIRED && !GroupWord.isDeleted(word, 0);
        }
        return piling;
    }

    // ------------------------------------------------------------------ one pass

    /** One old model frozen: the group words it held, and which of them carry our lock. */
    private static final class Frozen {
        final LeanModel old;
        final long[] held;
        final boolean[] holding;

        Frozen(LeanModel old) {
            this.old = old;
            this.held = new long[old.groupCount()];
            this.holding = new boolean[old.groupCount()];
        }
    }

    /** Consecutive old models compacted together, and what replaces them. */
    private static final class Run {
        final int first;
        /** Whether appends piled up past the run's last model: its compaction adds room after it. */
        final boolean appends;
        final List<Frozen> parts = new ArrayList<>();
        List<Planned> replacements = List.of();
        /** The delta leaves of the run's old models, free once the new models are published. */
        final List<Long> oldLeaves = new ArrayList<>();
        int keys;
        final Cause cause;

        Run(int first, boolean appends, Cause cause) {
            this.first = first;
            this.appends = appends;
            this.cause = cause;
        }
    }

    private int retrain(List<int[]> due) {
        long started = System.nanoTime();
        long newEpoch = epoch + 1;
        List<Run> frozen = new ArrayList<>();
        long keysHeld = 0;
        Finish finish;
        try {
            for (int[] range : due) {
                if (keysHeld >= policy.maxKeysPerPass()) {
                    break;
                }
                Run run = new Run(range[0], range[2] == 1, Cause.values()[range[3]]);
                frozen.add(run); // from its first lock on, so that a failure anywhere gives back what it holds
                boolean all = true;
                for (int m = range[0]; m <= range[1] && all; m++) {
                    Frozen part = new Frozen(models.get(m));
                    run.parts.add(part);
                    all = freeze(part);
                }
                if (!all) {
                    new Rollback(List.of(run)).run(); // a writer held a group all along: a later pass tries again
                    frozen.removeLast();
                    continue;
                }
                rebuild(run);
                keysHeld += run.keys;
            }
            if (frozen.isEmpty()) {
                return 0;
            }
            List<LeanModel> all = new ArrayList<>(models.size() + frozen.size());
            int next = 0;
            for (Run run : frozen) {
                all.addAll(models.subList(next, run.first));
                run.replacements.forEach(planned -> all.add(planned.model()));
                next = run.first + run.parts.size();
            }
            all.addAll(models.subList(next, models.size()));
            byte[] set = IndexLoader.encodeModelSet(all, newEpoch);
            if (set.length > layout.modelsBytes() / 2) {
                throw new IllegalStateException("model set bytes=" + set.length + " exceeds half the models region ("
                        + layout.modelsBytes() + "): give the memory node a larger models region");
            }
            byte[] patch = patchOf(frozen, newEpoch).encode();
            long cursor = readMetaWord(IndexMetaDescriptor.MODELS_USED_OFFSET);
            long patchOffset = (cursor + 63) / 64 * 64;
            if (patchOffset + patch.length + 64 + set.length > layout.modelsBytes()) {
                patchOffset = 0; // wrap: what was written there is many publications old
            }
            long setOffset = (patchOffset + patch.length + 63) / 64 * 64;
            finish = new Finish(frozen, all, newEpoch, set, setOffset, patch, patchOffset, started);
        } catch (RuntimeException e) {
            // Nothing is published yet: every lock this pass took is given back, its new blocks freed.
            undo(new Rollback(frozen), e);
            throw e;
        }
        pending = finish;
        finish.run();
        pending = null;
        return frozen.size();
    }

    /** What this publication changes: each run's old models replaced by its new ones. */
    private static ModelPatch patchOf(List<Run> frozen, long newEpoch) {
        int[] firsts = new int[frozen.size()];
        int[] removed = new int[frozen.size()];
        int[] added = new int[frozen.size()];
        List<LeanModel> records = new ArrayList<>();
        for (int r = 0; r < frozen.size(); r++) {
            Run run = frozen.get(r);
            firsts[r] = run.first;
            removed[r] = run.parts.size();
            added[r] = run.replacements.size();
            run.replacements.forEach(planned -> records.add(planned.model()));
        }
        return new ModelPatch(newEpoch, firsts, removed, added, records);
    }

    /**
     * CASes the lock into every group word of the model; false if a writer kept one past the timeout (the caller gives
     * back what {@code model.holding} says it holds).
     */
    private boolean freeze(Frozen model) {
        LeanModel old = model.old;
        int groups = old.groupCount();
        int remaining = groups;
        int chunk = (int) Math.max(1, Math.min(Math.min(512, doorbells.maxVerbs()), doorbells.maxBytes() / TablesDescriptor.GROUP_HEAD_BYTES));
        long deadline = System.nanoTime() + FREEZE_TIMEOUT_NANOS;
        while (remaining > 0) {
            for (int start = 0; start < groups; start += chunk) {
                int end = Math.min(groups, start + chunk);
                DoorbellBatch read = new DoorbellBatch();
                int verb = read.read(layout.tablesAddress(old.groupOffset(start)), TablesDescriptor.GROUP_HEAD_BYTES * (end - start));
                MemorySegment heads = connection.execute(read).read(verb);
                DoorbellBatch lock = new DoorbellBatch();
                List<int[]> attempts = new ArrayList<>();
                for (int g = start; g < end; g++) {
                    long word = WordOrder.getLong(heads, (long) TablesDescriptor.GROUP_HEAD_BYTES * (g - start));
                    if (word == GroupWord.RETIRED) {
                        throw new CorruptDataException("group " + g + " of live model lowKey="
                                + Long.toUnsignedString(old.lowKey()) + " is retired");
                    }
                    if (!model.holding[g] && !GroupWord.isLocked(word)) {
                        model.held[g] = word;
                        attempts.add(new int[] {g, lock.compareAndSwap(layout.tablesAddress(old.groupOffset(g)), word,
                                GroupWord.frozen(word))});
                    }
                }
                if (lock.isEmpty()) {
                    continue;
                }
                BatchResult result;
                try {
                    result = connection.execute(lock);
                } catch (RuntimeException e) {
                    for (int[] attempt : attempts) {
                        model.holding[attempt[0]] = true; // outcome unknown: the rollback CASes back only ours
                    }
                    throw e;
                }
                for (int[] attempt : attempts) {
                    if (result.casSucceeded(attempt[1])) {
                        model.holding[attempt[0]] = true;
                        remaining--;
                    }
                }
            }
            if (remaining > 0) {
                if (System.nanoTime() > deadline) {
                    LOG.info("lean retrain skipped model lowKey={}: {} of {} groups stayed locked for {} ms",
                            Long.toUnsignedString(old.lowKey()), remaining, groups,
                            TimeUnit.NANOSECONDS.toMillis(FREEZE_TIMEOUT_NANOS));
                    return false;
                }
                LockSupport.parkNanos(20_000);
            }
        }
        return true;
    }

    /** Reads the run's frozen models whole, merges their live keys, plans and writes the replacement models (locked). */
    private void rebuild(Run run) {
        long[] keys = new long[64];
        long[] values = new long[64];
        int count = 0;
        for (Frozen part : run.parts) {
            LeanModel old = part.old;
            int groups = old.groupCount();
            // Heads again, under our locks: a writer may have changed a delta head between our read and our CAS.
            MemorySegment heads = MemorySegment.ofArray(doorbells.readRange(layout.tablesAddress(old.groupOffset(0)),
                    TablesDescriptor.GROUP_HEAD_BYTES * groups));
            MemorySegment base = MemorySegment.ofArray(doorbells.readRange(layout.tablesAddress(old.baseOffset()),
                    TablesDescriptor.BASE_ENTRY_BYTES * old.keyCount()));
            List<List<Leaf>> chains = readChains(old, heads);
            for (int g = 0; g < groups; g++) {
                long reference = WordOrder.getLong(heads, (long) TablesDescriptor.GROUP_HEAD_BYTES * g + TablesDescriptor.DELTA_HEAD_OFFSET);
                for (Leaf leaf : chains.get(g)) {
                    run.oldLeaves.add(LeafTableEntry.leafNumber(reference));
                    reference = leaf.nextLeaf();
                }
            }
            for (int g = 0; g < groups; g++) {
                long word = GroupWord.withoutLock(WordOrder.getLong(heads, (long) TablesDescriptor.GROUP_HEAD_BYTES * g));
                int first = old.groupFirstRank(g);
                int end = old.groupEndRank(g);
                List<Leaf> chain = chains.get(g);
                int leaf = 0;
                int inLeaf = 0;
                int rank = first;
                while (true) {
                    while (leaf < chain.size() && inLeaf >= chain.get(leaf).count()) {
                        leaf++;
                        inLeaf = 0;
                    }
                    boolean baseLeft = rank < end;
                    boolean deltaLeft = leaf < chain.size();
                    if (!baseLeft && !deltaLeft) {
                        break;
                    }
                    long baseKey = baseLeft ? WordOrder.getLong(base, (long) TablesDescriptor.BASE_ENTRY_BYTES * rank) : 0;
                    boolean takeBase = baseLeft && (!deltaLeft
                            || Long.compareUnsigned(baseKey, chain.get(leaf).key(inLeaf)) < 0);
                    long key;
                    long value;
                    boolean live;
                    if (takeBase) {
                        key = baseKey;
                        value = WordOrder.getLong(base, (long) TablesDescriptor.BASE_ENTRY_BYTES * rank + TablesDescriptor.BASE_VALUE_OFFSET);
                        live = !GroupWord.isDeleted(word, rank - first);
                        rank++;
                    } else {
                        key = chain.get(leaf).key(inLeaf);
                        value = chain.get(leaf).value(inLeaf);
                        live = true;
                        inLeaf++;
                    }
                    if (!live) {
                        continue;
                    }
                    if (count > 0 && Long.compareUnsigned(keys[count - 1], key) >= 0) {
                        throw new CorruptDataException("model lowKey=" + Long.toUnsignedString(old.lowKey())
                                + " holds keys out of order at key=" + Long.toUnsignedString(key)
                                + ": corrupt base or delta leaves");
                    }
                    if (count == keys.length) {
                        keys = Arrays.copyOf(keys, keys.length * 2);
                        values = Arrays.copyOf(values, values.length * 2);
                    }
                    keys[count] = key;
                    values[count] = value;
                    count++;
                }
            }
        }
        run.keys = count;
        int after = run.first + run.parts.size();
        long roomEnd = after == models.size() ? -1L : models.get(after).lowKey() - 1; // unsigned: the largest key it may take
        run.replacements = plan(run.parts.getFirst().old.lowKey(), Arrays.copyOf(keys, count), run.appends, roomEnd);
        writeBlocks(run.replacements, keys, values);
    }

    /** Every group's delta chain, read level by level (one doorbell per depth across all groups). */
    private List<List<Leaf>> readChains(LeanModel model, MemorySegment heads) {
        int groups = model.groupCount();
        List<List<Leaf>> chains = new ArrayList<>(groups);
        long[] next = new long[groups];
        for (int g = 0; g < groups; g++) {
            chains.add(new ArrayList<>(1));
            next[g] = WordOrder.getLong(heads, (long) TablesDescriptor.GROUP_HEAD_BYTES * g + TablesDescriptor.DELTA_HEAD_OFFSET);
        }
        for (int depth = 0; ; depth++) {
            List<Integer> open = new ArrayList<>();
            for (int g = 0; g < groups; g++) {
                if (next[g] != 0) {
                    open.add(g);
                }
            }
            if (open.isEmpty()) {
                return chains;
            }
            if (depth == TablesDescriptor.SYNONYM_SLOTS) {
                throw new CorruptDataException("a delta chain of model lowKey=" + Long.toUnsignedString(model.lowKey())
                        + " is longer than its synonym table: corrupt links");
            }
            long[] addresses = new long[open.size()];
            for (int i = 0; i < addresses.length; i++) {
                addresses[i] = layout.leafAddress(next[open.get(i)]);
            }
            Leaf[] leaves = doorbells.readLeaves(addresses, layout);
            for (int i = 0; i < leaves.length; i++) {
                int g = open.get(i);
                chains.get(g).add(leaves[i]);
                next[g] = leaves[i].nextLeaf();
            }
        }
    }

    /** A model to write: its base is the next of the merged live keys, or all deleted fences. */
    private record Planned(LeanModel model, long[] fences) {
        /** The group word the model opens with: nothing deleted, or every fence of the group deleted. */
        long openWord(int group) {
            return fences == null ? GroupWord.EMPTY
                    : GroupWord.allDeleted(model.groupEndRank(group) - model.groupFirstRank(group));
        }
    }

    /**
     * The models that replace old ones, owning from {@code lowKey}, for their live keys: the optimal PLA cut into
     * pieces of at most {@link Policy#maxModelKeys} keys, the first owning from {@code lowKey}; or, with no key left,
     * one model of {@code lowKey} as a deleted fence. Where appends piled up, room for more follows ({@link #room}),
     * up to {@code roomEnd} (unsigned, inclusive).
     * Tables space is claimed for each.
     */
    private List<Planned> plan(long lowKey, long[] keys, boolean appends, long roomEnd) {
        int groupSize = meta.groupSize();
        List<Planned> plans = new ArrayList<>();
        if (keys.length == 0) {
            long[] fence = {lowKey};
            plans.add(new Planned(LeanIndex.measured(lowKey, lowKey, 0, 0, fence, 0, 1,
                    allocate(TablesDescriptor.blockBytes(1, 1)), 1), fence));
            return plans;
        }
        for (LinearModel segment : OptimalPiecewiseLinearTrainer.train(keys, Math.max(1, meta.epsilon()))) {
            int segmentFirst = Math.toIntExact(segment.firstRank());
            int segmentCount = Math.toIntExact(segment.rankCount());
            for (int offset = 0; offset < segmentCount; offset += policy.maxModelKeys()) {
                int first = segmentFirst + offset;
                int count = Math.min(policy.maxModelKeys(), segmentCount - offset);
                long modelLowKey = plans.isEmpty() ? lowKey : keys[first];
                int groups = TablesDescriptor.groupCount(count, groupSize);
                plans.add(new Planned(LeanIndex.measured(modelLowKey, segment.firstKey(), segment.slope(),
                        segment.intercept() - offset, keys, first, count, allocate(TablesDescriptor.blockBytes(groups, count)),
                        groupSize), null));
            }
        }
        if (appends && keys.length >= 2) {
            Planned room = room(keys, groupSize, roomEnd);
            if (room != null) {
                plans.add(room);
            }
        }
        return plans;
    }

    /**
     * Room for appends past the largest key (none beyond {@code roomEnd}): a model of deleted fence keys continuing the spacing of the last keys,
     * about twice as many as there are keys (at most {@link Policy#maxModelKeys}). Appends then land in many groups
     * instead of lengthening the last group's delta chain; when the keys are exactly evenly spaced (auto-increment ids)
     * they land on the fences themselves, and an append is a base value write, each fence a group of its own so that
     * concurrent appends of consecutive keys lock different groups.
     */
    private Planned room(long[] keys, int groupSize, long roomEnd) {
        int sample = Math.min(keys.length, 4096);
        long lastKey = keys[keys.length - 1];
        long spread = lastKey - keys[keys.length - sample]; // unsigned
        long step = Math.max(1, (long) Math.rint(io.rolexkv.rolex.model.UnsignedKeys.toDouble(spread) / (sample - 1)));
        // Evenly spaced if most gaps are the step: appends still in flight when the model was frozen leave a few wider.
        int even = 0;
        for (int i = keys.length - sample; i + 1 < keys.length; i++) {
            even += keys[i + 1] - keys[i] == step ? 1 : 0;
        }
        boolean exact = even >= 0.9 * (sample - 1);
        int wanted = (int) Math.clamp(2L * keys.length, Math.min(MIN_ROOM_FENCES, policy.maxModelKeys()), policy.maxModelKeys());
        long[] fences = new long[wanted];
        int count = 0;
        long fence = lastKey;
        while (count < wanted) {
            long next = fence + step;
            if (Long.compareUnsigned(next, fence) <= 0 || Long.compareUnsigned(next, roomEnd) > 0) {
                break; // the next model's keys, or the key space's end
            }
            fences[count++] = fence = next;
        }
        if (count == 0) {
            return null;
        }
        fences = Arrays.copyOf(fences, count);
        int roomGroupSize = exact ? 1 : groupSize;
        int groups = TablesDescriptor.groupCount(count, roomGroupSize);
        LeanModel model = LeanIndex.measured(fences[0], fences[0], 1.0 / step, 0, fences, 0, count,
                allocate(TablesDescriptor.blockBytes(groups, count)), roomGroupSize);
        return new Planned(model, fences);
    }

    /** Writes each new model's block: group words locked and unopened, an empty SLT, its base. */
    private void writeBlocks(List<Planned> replacements, long[] keys, long[] values) {
        BoundedDoorbells.Writer writer = doorbells.writer();
        int rank = 0;
        for (Planned planned : replacements) {
            LeanModel model = planned.model();
            byte[] heads = new byte[TablesDescriptor.GROUP_HEAD_BYTES * model.groupCount()];
            for (int g = 0; g < model.groupCount(); g++) {
                WordOrder.putLong(heads, TablesDescriptor.GROUP_HEAD_BYTES * g, GroupWord.unopened(planned.openWord(g)));
            }
            writer.write(layout.tablesAddress(model.groupOffset(0)), heads);
            writer.write(layout.tablesAddress(model.synonymTableOffset()), new byte[TablesDescriptor.SYNONYM_TABLE_BYTES]);
            byte[] base = new byte[TablesDescriptor.BASE_ENTRY_BYTES * model.keyCount()];
            for (int i = 0; i < model.keyCount(); i++) {
                if (planned.fences() != null) {
                    WordOrder.putLong(base, TablesDescriptor.BASE_ENTRY_BYTES * i, planned.fences()[i]);
                } else {
                    WordOrder.putLong(base, TablesDescriptor.BASE_ENTRY_BYTES * i, keys[rank]);
                    WordOrder.putLong(base, TablesDescriptor.BASE_ENTRY_BYTES * i + TablesDescriptor.BASE_VALUE_OFFSET, values[rank]);
                    rank++;
                }
            }
            writer.write(layout.tablesAddress(model.baseOffset()), base);
        }
        writer.flush();
    }

    // ------------------------------------------------------------------ space

    /**
     * Moves freed delta leaves from the backlog into the recycled-leaf ring, as many as its free slots take: the slots
     * first, then the published count that hands them out. A freed leaf needs no grace: a compute node writes a
     * recycled leaf with an epoch no lower than the one that freed it, so a reader whose models still name the leaf's
     * old model sees a newer epoch than its own and refreshes.
     */
    private void publishRecycled() {
        int slots = IndexMetaDescriptor.recycleSlots(layout.metaBytes());
        if (slots == 0 || recycleBacklog.isEmpty()) {
            return;
        }
        DoorbellBatch read = new DoorbellBatch();
        int takenVerb = read.read(probe.metaAddress(IndexMetaDescriptor.RECYCLED_TAKEN_OFFSET), Long.BYTES);
        int publishedVerb = read.read(probe.metaAddress(IndexMetaDescriptor.RECYCLED_PUBLISHED_OFFSET), Long.BYTES);
        BatchResult counters = connection.execute(read);
        long taken = counters.readLong(takenVerb, 0);
        long published = counters.readLong(publishedVerb, 0);
        int room = (int) Math.min(recycleBacklog.size(), slots - (published - taken));
        if (room <= 0) {
            return;
        }
        BoundedDoorbells.Writer writer = doorbells.writer();
        for (int i = 0; i < room; i++) {
            long[] leaf = recycleBacklog.poll();
            byte[] slot = new byte[IndexMetaDescriptor.RECYCLE_SLOT_BYTES];
            WordOrder.putLong(slot, 0, leaf[0]);
            WordOrder.putLong(slot, 8, leaf[1]);
            writer.write(probe.metaAddress(IndexMetaDescriptor.RECYCLE_RING_OFFSET
                    + ((published + i) % slots) * IndexMetaDescriptor.RECYCLE_SLOT_BYTES), slot);
        }
        writer.flush();
        DoorbellBatch publish = new DoorbellBatch();
        publish.writeLong(probe.metaAddress(IndexMetaDescriptor.RECYCLED_PUBLISHED_OFFSET), published + room);
        connection.execute(publish);
    }

    /** Freed delta leaves waiting for room in the recycled-leaf ring. */
    public int recycleBacklog() {
        return recycleBacklog.size();
    }

    /**
     * Tables space for a new block: a freed range whose grace is over (first fit), fresh space from the bump counter,
     * or, with the region's end reached, a freed range still in its grace. Reused space first raises the reuse floor to
     * the epoch that freed it, so readers that may still name it refresh instead (a range past its grace makes only
     * readers older than that refresh, which the grace keeps rare).
     */
    private long allocate(long bytes) {
        long rounded = TablesDescriptor.alignedBlockBytes(bytes);
        long now = System.nanoTime();
        FreeSpace.Range reused = tableSpace.take(rounded, now, false);
        if (reused == null) {
            DoorbellBatch batch = new DoorbellBatch();
            int verb = batch.fetchAndAdd(probe.metaAddress(IndexMetaDescriptor.TABLES_USED_OFFSET), rounded);
            long offset = connection.execute(batch).oldValue(verb);
            if (offset + rounded <= layout.tablesBytes()) {
                return offset;
            }
            // Only the retrainer claims tables space once an index is built: give back what did not fit.
            DoorbellBatch undo = new DoorbellBatch();
            undo.fetchAndAdd(probe.metaAddress(IndexMetaDescriptor.TABLES_USED_OFFSET), -rounded);
            connection.execute(undo);
            reused = tableSpace.take(rounded, now, true);
            if (reused == null) {
                throw new IllegalStateException("tables region full: compaction needs bytes=" + rounded + " with "
                        + tableSpace.bytes() + " freed bytes in pieces too small, of " + layout.tablesBytes()
                        + ": give the memory node a larger tables region");
            }
        }
        raiseReuseFloor(reused.freedByEpoch());
        return reused.offset();
    }

    private long reuseFloor;

    /** Raises the meta word readers check to {@code freedByEpoch}, before anything is written in reused space. */
    private void raiseReuseFloor(long freedByEpoch) {
        if (freedByEpoch <= reuseFloor) {
            return;
        }
        DoorbellBatch batch = new DoorbellBatch();
        batch.writeLong(probe.metaAddress(IndexMetaDescriptor.REUSE_FLOOR_OFFSET), freedByEpoch);
        connection.execute(batch);
        reuseFloor = freedByEpoch;
    }

    /**
     * Freed table ranges, each with when and by which epoch it was freed; neighbours merge (the merged range takes the
     * later time and epoch), so that space freed in small blocks serves larger ones.
     */
    static final class FreeSpace {
        record Range(long offset, long bytes, long freedAt, long freedByEpoch) {
            long end() {
                return offset + bytes;
            }
        }

        private final java.util.TreeMap<Long, Range> ranges = new java.util.TreeMap<>();

        /** A range of {@code bytes} (the rest of the range it comes from stays free), or null. */
        Range take(long bytes, long now, boolean evenInGrace) {
            for (Range range : ranges.values()) {
                boolean ripe = range.freedAt() == 0 || now - range.freedAt() >= REUSE_GRACE_NANOS;
                if (range.bytes() >= bytes && (ripe || evenInGrace)) {
                    ranges.remove(range.offset());
                    if (range.bytes() > bytes) {
                        Range rest = new Range(range.offset() + bytes, range.bytes() - bytes, range.freedAt(),
                                range.freedByEpoch());
                        ranges.put(rest.offset(), rest);
                    }
                    return range;
                }
            }
            return null;
        }

        void free(long offset, long bytes, long now, long freedByEpoch) {
            Range range = new Range(offset, (bytes + 63) / 64 * 64, now, freedByEpoch);
            java.util.Map.Entry<Long, Range> below = ranges.floorEntry(offset);
            if (below != null && below.getValue().end() == range.offset()) {
                ranges.remove(below.getKey());
                range = merged(below.getValue(), range);
            }
            Range above = ranges.get(range.end());
            if (above != null) {
                ranges.remove(above.offset());
                range = merged(range, above);
            }
            ranges.put(range.offset(), range);
        }

        private static Range merged(Range low, Range high) {
            boolean lowRipeNow = low.freedAt() == 0;
            boolean highRipeNow = high.freedAt() == 0;
            long freedAt = lowRipeNow ? high.freedAt() : highRipeNow ? low.freedAt() : Math.max(low.freedAt(), high.freedAt());
            return new Range(low.offset(), low.bytes() + high.bytes(), freedAt,
                    Math.max(low.freedByEpoch(), high.freedByEpoch()));
        }

        void clear() {
            ranges.clear();
        }

        long bytes() {
            return ranges.values().stream().mapToLong(Range::bytes).sum();
        }
    }

    /** Bytes of tables space freed by compaction, waiting out their grace or free for reuse. */
    public long freedTableBytes() {
        return tableSpace.bytes();
    }

    // ------------------------------------------------------------------ recovery

    private interface Recovery {
        void run();

        String describe();
    }

    /** Runs {@code rollback} now; if it fails too, leaves it for the next pass. */
    private void undo(Rollback rollback, RuntimeException cause) {
        pending = rollback;
        try {
            rollback.run();
            pending = null;
        } catch (RuntimeException again) {
            if (cause != null) {
                cause.addSuppressed(again);
            }
        }
    }

    /** Before publication: the frozen words CAS'd back to what they held; new blocks free at once (never published). */
    private final class Rollback implements Recovery {
        private final List<Run> frozen;

        Rollback(List<Run> frozen) {
            this.frozen = List.copyOf(frozen);
        }

        @Override
        public void run() {
            BoundedDoorbells.Writer writer = doorbells.writer();
            for (Run run : frozen) {
                for (Frozen model : run.parts) {
                    for (int g = 0; g < model.held.length; g++) {
                        if (model.holding[g]) {
                            writer.compareAndSwap(layout.tablesAddress(model.old.groupOffset(g)),
                                    GroupWord.frozen(model.held[g]), model.held[g]);
                        }
                    }
                }
            }
            writer.flush();
            for (Run run : frozen) {
                for (Frozen model : run.parts) {
                    java.util.Arrays.fill(model.holding, false); // given back: never CAS'd back twice
                }
                for (Planned replacement : run.replacements) {
                    tableSpace.free(replacement.model().blockOffset(), replacement.model().blockBytes(), 0, 0);
                }
                run.replacements = List.of();
            }
        }

        @Override
        public String describe() {
            return "unlock " + frozen.size() + " frozen models";
        }
    }

    /** Steps 4 to 7: idempotent, so a failed attempt is simply run again. */
    private final class Finish implements Recovery {
        private final List<Run> frozen;
        private final List<LeanModel> all;
        private final long newEpoch;
        private final byte[] set;
        private final long setOffset;
        private final long started;

        private final byte[] patch;
        private final long patchOffset;

        Finish(List<Run> frozen, List<LeanModel> all, long newEpoch, byte[] set, long setOffset, byte[] patch,
               long patchOffset, long started) {
            this.patch = patch;
            this.patchOffset = patchOffset;
            this.frozen = List.copyOf(frozen);
            this.all = all;
            this.newEpoch = newEpoch;
            this.set = set;
            this.setOffset = setOffset;
            this.started = started;
        }

        @Override
        public void run() {
            // 4. Publish: the patch, the whole set, the patch's directory slot, then the meta words naming the set.
            BoundedDoorbells.Writer writer = doorbells.writer();
            writer.write(layout.modelsAddress(patchOffset), patch);
            writer.write(layout.modelsAddress(setOffset), set);
            writer.flush();
            DoorbellBatch publish = new DoorbellBatch();
            if (layout.metaBytes() >= IndexMetaDescriptor.PATCH_DIRECTORY_END) {
                long slot = IndexMetaDescriptor.PATCH_DIRECTORY_OFFSET
                        + (newEpoch % IndexMetaDescriptor.PATCH_SLOTS) * IndexMetaDescriptor.PATCH_SLOT_BYTES;
                publish.writeLong(layout.metaAddress(slot), patchOffset);
                publish.writeLong(layout.metaAddress(slot + 8), patch.length);
            }
            publish.writeLong(layout.metaAddress(IndexMetaDescriptor.MODEL_SET_OFFSET_OFFSET), setOffset);
            publish.writeLong(layout.metaAddress(IndexMetaDescriptor.MODEL_SET_BYTES_OFFSET), set.length);
            publish.writeLong(layout.metaAddress(IndexMetaDescriptor.MODELS_USED_OFFSET), setOffset + set.length);
            publish.writeLong(layout.metaAddress(IndexMetaDescriptor.MODEL_EPOCH_OFFSET), newEpoch);
            connection.execute(publish);
            models = all;
            epoch = newEpoch;
            // 5. Retire the old groups, before any new one opens.
            for (Run run : frozen) {
                for (Frozen model : run.parts) {
                    byte[] retired = new byte[TablesDescriptor.GROUP_HEAD_BYTES * model.old.groupCount()];
                    for (int g = 0; g < model.old.groupCount(); g++) {
                        WordOrder.putLong(retired, TablesDescriptor.GROUP_HEAD_BYTES * g, GroupWord.RETIRED);
                    }
                    writer.write(layout.tablesAddress(model.old.groupOffset(0)), retired);
                }
            }
            writer.flush();
            // 6. Open the new models, by CAS from the locked word: run again after writers took them, it changes nothing.
            for (Run run : frozen) {
                for (Planned replacement : run.replacements) {
                    for (int g = 0; g < replacement.model().groupCount(); g++) {
                        long open = replacement.openWord(g);
                        writer.compareAndSwap(layout.tablesAddress(replacement.model().groupOffset(g)),
                                GroupWord.unopened(open), open);
                    }
                }
            }
            writer.flush();
            // 7. Free the old space once no reader can hold it, and count.
            long now = System.nanoTime();
            int keys = 0;
            int retired = 0;
            for (Run run : frozen) {
                for (Frozen model : run.parts) {
                    tableSpace.free(model.old.blockOffset(), model.old.blockBytes(), now, newEpoch);
                    retired++;
                }
                keys += run.keys;
                byCause[run.cause.ordinal()].increment();
                neighbours.add(run.parts.size() - 1);
                for (long leaf : run.oldLeaves) {
                    recycleBacklog.add(new long[] {leaf, newEpoch}); // no reader or writer of newEpoch reaches them
                }
                run.oldLeaves.clear(); // a Finish run again must not free them twice
            }
            long elapsed = now - started;
            busyWindowNanos += elapsed;
            retrains.add(retired);
            epochs.increment();
            lastPublished = now;
            retrainNanos.add(elapsed);
            keysRetrained.add(keys);
            try {
                DoorbellBatch counters = new DoorbellBatch();
                counters.fetchAndAdd(layout.metaAddress(IndexMetaDescriptor.RETRAINS_OFFSET), retired);
                counters.fetchAndAdd(layout.metaAddress(IndexMetaDescriptor.RETRAIN_NANOS_OFFSET), elapsed);
                connection.execute(counters);
            } catch (RuntimeException statisticsOnly) {
                // Counters for reports: a lost update there is not worth running the finished steps again for.
            }
        }

        @Override
        public String describe() {
            return "finish epoch=" + newEpoch + " replacing " + frozen.size() + " runs of models";
        }
    }

    private long readMetaWord(int offset) {
        DoorbellBatch batch = new DoorbellBatch();
        int verb = batch.read(probe.metaAddress(offset), Long.BYTES);
        return connection.execute(batch).readLong(verb, 0);
    }
}
