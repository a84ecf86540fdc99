package io.rolexkv.rolex.index;

import io.rolexkv.common.fabric.BatchResult;
import io.rolexkv.common.fabric.DoorbellBatch;
import io.rolexkv.common.fabric.FabricConnection;
import io.rolexkv.common.fabric.WordOrder;
import io.rolexkv.rolex.layout.IndexMetaDescriptor;
import io.rolexkv.rolex.layout.LeafTableEntry;
import io.rolexkv.rolex.layout.TablesDescriptor;
import io.rolexkv.rolex.leaf.Leaf;
import io.rolexkv.rolex.model.LinearModel;
import io.rolexkv.rolex.model.OptimalPiecewiseLinearTrainer;

import java.lang.foreign.MemorySegment;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.LongAdder;
import java.util.concurrent.locks.LockSupport;

/**
 * Retrains models whose synonym leaf tables are filling up, on the memory node's own CPU, without moving a key and
 * without blocking readers. Runs the same verbs as compute nodes, through a connection to the memory node's own memory
 * (in-process, no network), so its atomics are exactly the ones compute nodes race with. Not thread-safe: one
 * retrainer per memory node, driven by one background thread (memory nodes have weak CPUs).
 *
 * <h2>Protocol for one model {@code m} (epoch {@code E} to {@code E + 1})</h2>
 * <ol>
 *   <li><b>Freeze writers of m.</b> CAS the lock bit into every LT entry of m (waiting out writers that hold one).
 *       Writers of m now back off; readers go on, they take no locks.</li>
 *   <li><b>Read m whole.</b> Every leaf group, every chain, in key order. Under the locks nothing changes.</li>
 *   <li><b>Train.</b> The optimal PLA over the keys now in m; new models take whole runs of the existing leaves, every
 *       leaf becomes the first leaf of its own group (an LT entry each, synonym chains dissolved), with a leaf rank
 *       directory since leaves hold varying counts, a fresh empty SLT, and the error bound measured on the keys.</li>
 *   <li><b>Write the new tables</b> with every new LT entry already locked, so no writer can use them yet.</li>
 *   <li><b>Publish</b> a model set with m replaced by the new models, epoch {@code E + 1}, in the next place of the
 *       models region's circular queue, then the meta words that point at it.</li>
 *   <li><b>Cut the chains.</b> Rewrite every leaf of m with no next link and epoch {@code E + 1}.</li>
 *   <li><b>Open the new models.</b> Unlock the new LT entries.</li>
 *   <li><b>Retire m.</b> Overwrite its LT entries with {@link LeafTableEntry#RETIRED}; after a grace period its tables
 *       are reused.</li>
 * </ol>
 *
 * <h2>Why no key is lost or missed</h2>
 * Keys never move: the new models point at the very leaves that hold them. An insert that raced the retraining either
 * took its lock before step 1, and then step 1 waited for it and step 2 read its result (carried into the new models),
 * or met a locked or retired entry, or read the new epoch word in its first doorbell, and then refreshed its models and
 * retried against the new ones. A reader with epoch-E models reads epoch-E leaves with their old chain links, which
 * reach every key as before; any leaf rewritten in step 6 shows epoch {@code E + 1}, which sends the reader to refresh
 * (the new models are published before any leaf shows the new epoch). A reader with epoch {@code E + 1} models that
 * reads a leaf still carrying an old link follows it: extra reading, never a wrong answer, since every leaf checks its
 * own fences. Writers of the new models wait for step 7, after the links are cut, so no group overlaps another when a
 * writer locks it.
 *
 * <h2>Interleavings it handles</h2>
 * A writer holding an LT lock when retraining starts (step 1 waits); a writer of m whose CAS loses to the retrainer
 * (backs off, then sees the new epoch); a stale writer after step 8 (meets RETIRED); a stale reader before, during and
 * after step 6 (old links, or a newer leaf epoch); a compute node that opens during the retraining (reads either
 * epoch's complete model set; the set's checksum and epoch catch a half-published one); a split in progress on another
 * model (untouched).
 */
public final class Retrainer {
    /** How long superseded tables stay untouched before their space is reused: far longer than any operation. */
    public static final long TABLE_REUSE_GRACE_NANOS = TimeUnit.SECONDS.toNanos(60);

    private final FabricConnection connection;
    private final IndexLayout layout;
    private final int freeSlotsThreshold;
    private final TableSpace tableSpace = new TableSpace();
    private final LongAdder retrains = new LongAdder();
    private final LongAdder retrainNanos = new LongAdder();
    private final LongAdder keysRetrained = new LongAdder();
    private final LongAdder failures = new LongAdder();
    private ModelCache cache;
    private long buildId;

    /**
     * @param connection         a connection to this memory node's own memory
     * @param freeSlotsThreshold retrain a model when this many or fewer of its SLT slots are free (the paper: 127)
     */
    public Retrainer(FabricConnection connection, int freeSlotsThreshold) {
        if (freeSlotsThreshold < 0 || freeSlotsThreshold >= TablesDescriptor.USABLE_SYNONYM_SLOTS) {
            throw new IllegalArgumentException("retrain_free_slots=" + freeSlotsThreshold + " allowed=[0,"
                    + (TablesDescriptor.USABLE_SYNONYM_SLOTS - 1) + "]");
        }
        this.connection = connection;
        this.layout = new IndexLayout(connection, io.rolexkv.rolex.layout.LeafDescriptor.MIN_CAPACITY);
        this.freeSlotsThreshold = freeSlotsThreshold;
    }

    /** What the retrainer has done so far. */
    public record Stats(long retrains, long retrainNanos, long keysRetrained, long failures) {
        public double meanMillisPerRetrain() {
            return retrains == 0 ? 0 : retrainNanos / 1e6 / retrains;
        }
    }

    public Stats stats() {
        return new Stats(retrains.sum(), retrainNanos.sum(), keysRetrained.sum(), failures.sum());
    }

    /**
     * One pass: if an index is published, retrains every model whose SLT has {@code freeSlotsThreshold} or fewer free
     * slots. Returns how many models it retrained.
     */
    public int retrainFullModels() {
        IndexLoader.Meta meta;
        try {
            meta = IndexLoader.readMeta(connection);
        } catch (IllegalStateException noIndex) {
            return 0;
        }
        long currentBuild = readMetaWord(IndexMetaDescriptor.BUILD_ID_OFFSET);
        if (cache == null || currentBuild != buildId || cache.epoch() != meta.epoch()) {
            if (currentBuild != buildId) {
                tableSpace.clear(); // a new build owns the tables region now
                buildId = currentBuild;
            }
            IndexLayout sized = new IndexLayout(connection, meta.leafCapacity());
            cache = IndexLoader.reload(connection, sized, cache == null || cache.epoch() > meta.epoch() ? null : cache);
        }
        IndexLayout sized = new IndexLayout(connection, meta.leafCapacity());
        int[] used = synonymSlotsUsed(sized);
        int retrained = 0;
        // Right to left, so retraining one model does not shift the indexes of those still to check.
        for (int m = used.length - 1; m >= 0; m--) {
            if (TablesDescriptor.USABLE_SYNONYM_SLOTS - used[m] <= freeSlotsThreshold) {
                if (retrain(sized, meta, m)) {
                    retrained++;
                }
            }
        }
        return retrained;
    }

    /** SLT fill per model of the cached epoch: used slots, clamped to the usable count. */
    public int[] synonymSlotsUsed() {
        if (cache == null) {
            return new int[0];
        }
        return synonymSlotsUsed(new IndexLayout(connection, io.rolexkv.rolex.layout.LeafDescriptor.MIN_CAPACITY));
    }

    private int[] synonymSlotsUsed(IndexLayout sized) {
        int[] used = new int[cache.modelCount()];
        for (int start = 0; start < used.length; start += 1024) {
            DoorbellBatch batch = new DoorbellBatch();
            int end = Math.min(used.length, start + 1024);
            for (int m = start; m < end; m++) {
                batch.read(sized.synonymUsedAddress(cache.model(m)), Long.BYTES);
            }
            BatchResult result = connection.execute(batch);
            for (int m = start; m < end; m++) {
                used[m] = (int) Math.min(result.readLong(m - start, 0), TablesDescriptor.USABLE_SYNONYM_SLOTS);
            }
        }
        return used;
    }

    private boolean retrain(IndexLayout sized, IndexLoader.Meta meta, int m) {
        long started = System.nanoTime();
        IndexModel old = cache.model(m);
        long[] held = lockAll(sized, old);
        if (held == null) {
            failures.increment();
            return false;
        }
        boolean published = false;
        try {
            // 2. Read every group whole, in key order.
            List<LeafGroupReader.Group> groups = new ArrayList<>(old.leafCount());
            for (int leaf = 0; leaf < old.leafCount(); leaf++) {
                groups.add(new LeafGroupReader.Group(m, leaf));
            }
            new LeafGroupReader(sized, cache, new IndexCounters()).read(connection, groups);
            List<LeafGroupReader.ReadLeaf> leaves = new ArrayList<>();
            for (LeafGroupReader.Group group : groups) {
                leaves.addAll(group.chain());
            }
            // 3. Train new models over the keys in place.
            List<NewModel> planned = plan(leaves, old, meta.epsilon());
            // 4. Their tables, every LT entry locked until the links are cut.
            long tablesBytes = 0;
            for (NewModel model : planned) {
                tablesBytes += model.tableBytes();
            }
            long tablesOffset = tableSpace.allocate(tablesBytes, this::bumpTables, sized.tablesBytes());
            if (tablesOffset < 0) {
                release(sized, old, held);
                failures.increment();
                return false;
            }
            List<IndexModel> newModels = new ArrayList<>(planned.size());
            long cursor = tablesOffset;
            DoorbellBatch tables = new DoorbellBatch();
            for (NewModel model : planned) {
                IndexModel record = model.record(cursor);
                newModels.add(record);
                cursor += model.tableBytes();
                tables.write(sized.tablesAddress(record.ltOffset()), model.lockedLeafTable());
                tables.write(sized.tablesAddress(record.sltOffset()), new byte[TablesDescriptor.SYNONYM_TABLE_BYTES]);
                tables.write(sized.tablesAddress(record.directoryOffset()), model.directoryBytes());
            }
            connection.execute(tables);
            // 5. Publish the new model set.
            List<IndexModel> all = new ArrayList<>(cache.modelCount() - 1 + newModels.size());
            for (int i = 0; i < cache.modelCount(); i++) {
                if (i == m) {
                    all.addAll(newModels);
                } else {
                    all.add(cache.model(i));
                }
            }
            long epoch = cache.epoch() + 1;
            publish(sized, all, epoch);
            published = true;
            // 6. Cut the chains: every leaf ends its own group now, under the new epoch.
            IndexLoader.BulkWriter leafWriter = new IndexLoader.BulkWriter(connection);
            for (LeafGroupReader.ReadLeaf read : leaves) {
                Leaf leaf = read.leaf();
                leaf.setNextLeaf(0);
                leaf.setEpoch(epoch);
                leaf.bumpVersion();
                leafWriter.write(sized.leafAddress(read.reference()), leaf.encode());
            }
            leafWriter.flush();
            // 7. Open the new models; 8. retire the old one.
            DoorbellBatch open = new DoorbellBatch();
            for (int i = 0; i < planned.size(); i++) {
                IndexModel record = newModels.get(i);
                long[] entries = planned.get(i).leafTableEntries();
                for (int leaf = 0; leaf < entries.length; leaf++) {
                    open.writeLong(sized.leafTableEntryAddress(record, leaf), entries[leaf]);
                }
            }
            for (int leaf = 0; leaf < old.leafCount(); leaf++) {
                open.writeLong(sized.leafTableEntryAddress(old, leaf), LeafTableEntry.RETIRED);
            }
            long elapsed = System.nanoTime() - started;
            open.fetchAndAdd(sized.metaAddress(IndexMetaDescriptor.RETRAINS_OFFSET), 1);
            open.fetchAndAdd(sized.metaAddress(IndexMetaDescriptor.RETRAIN_NANOS_OFFSET), elapsed);
            connection.execute(open);
            tableSpace.retire(old.ltOffset(), tableBytes(old), System.nanoTime());
            cache = IndexLoader.reload(connection, sized, cache);
            retrains.increment();
            retrainNanos.add(elapsed);
            keysRetrained.add(keyCount(leaves));
            return true;
        } catch (RuntimeException e) {
            if (!published) {
                release(sized, old, held);
            }
            failures.increment();
            throw e;
        }
    }

    /** Locks every LT entry of {@code model}; returns the unlocked values, or {@code null} after 10 s of trying. */
    private long[] lockAll(IndexLayout sized, IndexModel model) {
        int count = model.leafCount();
        long[] held = new long[count];
        boolean[] holding = new boolean[count];
        int remaining = count;
        long deadline = System.nanoTime() + RolexIndex.LOCK_TIMEOUT_NANOS;
        while (remaining > 0) {
            for (int start = 0; start < count; start += 512) {
                int end = Math.min(count, start + 512);
                DoorbellBatch read = new DoorbellBatch();
                int verb = read.read(sized.leafTableEntryAddress(model, start), 8 * (end - start));
                MemorySegment entries = connection.execute(read).read(verb);
                DoorbellBatch lock = new DoorbellBatch();
                List<int[]> attempts = new ArrayList<>();
                for (int leaf = start; leaf < end; leaf++) {
                    long entry = WordOrder.getLong(entries, 8L * (leaf - start));
                    if (!holding[leaf] && !LeafTableEntry.isLocked(entry)) {
                        held[leaf] = entry;
                        attempts.add(new int[] {leaf, lock.compareAndSwap(sized.leafTableEntryAddress(model, leaf), entry,
                                LeafTableEntry.withLock(entry))});
                    }
                }
                if (lock.isEmpty()) {
                    continue;
                }
                BatchResult result = connection.execute(lock);
                for (int[] attempt : attempts) {
                    if (result.casSucceeded(attempt[1])) {
                        holding[attempt[0]] = true;
                        remaining--;
                    }
                }
            }
            if (remaining > 0) {
                if (System.nanoTime() > deadline) {
                    release(sized, model, held, holding);
                    return null;
                }
                LockSupport.parkNanos(20_000);
            }
        }
        return held;
    }

    private void release(IndexLayout sized, IndexModel model, long[] held) {
        boolean[] all = new boolean[held.length];
        java.util.Arrays.fill(all, true);
        release(sized, model, held, all);
    }

    private void release(IndexLayout sized, IndexModel model, long[] held, boolean[] holding) {
        DoorbellBatch batch = new DoorbellBatch();
        for (int leaf = 0; leaf < held.length; leaf++) {
            if (holding[leaf]) {
                batch.writeLong(sized.leafTableEntryAddress(model, leaf), held[leaf]);
            }
        }
        if (!batch.isEmpty()) {
            connection.execute(batch);
        }
    }

    /** A new model: its line and the run of existing leaves it takes. */
    private record NewModel(long lowKey, long anchorKey, double slope, double intercept, int keyCount, int maxError,
                            List<LeafGroupReader.ReadLeaf> leaves, int[] firstRanks) {
        long ltBytes() {
            return 8L * leaves.size();
        }

        long directoryBytes8() {
            return (4L * leaves.size() + 7) / 8 * 8;
        }

        long tableBytes() {
            return ltBytes() + TablesDescriptor.SYNONYM_TABLE_BYTES + directoryBytes8();
        }

        IndexModel record(long offset) {
            return new IndexModel(lowKey, anchorKey, slope, intercept, keyCount, offset, leaves.size(), 1, maxError,
                    offset + ltBytes(), offset + ltBytes() + TablesDescriptor.SYNONYM_TABLE_BYTES);
        }

        long[] leafTableEntries() {
            long[] entries = new long[leaves.size()];
            for (int i = 0; i < entries.length; i++) {
                long reference = leaves.get(i).reference();
                entries[i] = LeafTableEntry.of(LeafTableEntry.leafRegion(reference), LeafTableEntry.NO_SYNONYM,
                        LeafTableEntry.leafNumber(reference));
            }
            return entries;
        }

        byte[] lockedLeafTable() {
            long[] entries = leafTableEntries();
            byte[] bytes = new byte[entries.length * 8];
            for (int i = 0; i < entries.length; i++) {
                WordOrder.putLong(bytes, 8 * i, LeafTableEntry.withLock(entries[i]));
            }
            return bytes;
        }

        byte[] directoryBytes() {
            byte[] bytes = new byte[(int) directoryBytes8()];
            MemorySegment segment = MemorySegment.ofArray(bytes);
            for (int i = 0; i < firstRanks.length; i++) {
                segment.set(WordOrder.INT_UNALIGNED, 4L * i, firstRanks[i]);
            }
            return bytes;
        }
    }

    /**
     * Splits the leaves (in key order) into new models: the PLA's segments, each widened or narrowed to whole leaves (a
     * leaf goes to the segment its first key falls in; a segment left without a leaf merges into the one before).
     */
    private static List<NewModel> plan(List<LeafGroupReader.ReadLeaf> leaves, IndexModel old, int epsilon) {
        int keyTotal = keyCount(leaves);
        long[] keys = new long[keyTotal];
        int[] leafFirstRank = new int[leaves.size()];
        int rank = 0;
        for (int i = 0; i < leaves.size(); i++) {
            leafFirstRank[i] = rank;
            Leaf leaf = leaves.get(i).leaf();
            for (int k = 0; k < leaf.count(); k++) {
                keys[rank++] = leaf.key(k);
            }
        }
        List<NewModel> models = new ArrayList<>();
        if (keyTotal == 0) {
            models.add(new NewModel(old.lowKey(), old.lowKey(), 0, 0, 0, 0, leaves, leafFirstRank));
            return models;
        }
        List<LinearModel> segments = OptimalPiecewiseLinearTrainer.train(keys, Math.max(1, epsilon));
        int segment = 0;
        for (int firstLeaf = 0; firstLeaf < leaves.size(); ) {
            int leafRank = leafFirstRank[firstLeaf];
            while (segment + 1 < segments.size() && segments.get(segment + 1).firstRank() <= leafRank) {
                segment++; // the segment holding this leaf's first key
            }
            long segmentEnd = segment + 1 < segments.size() ? segments.get(segment + 1).firstRank() : keyTotal + 1L;
            int endLeaf = firstLeaf + 1;
            while (endLeaf < leaves.size() && leafFirstRank[endLeaf] < segmentEnd) {
                endLeaf++;
            }
            models.add(fit(segments.get(segment), leaves.subList(firstLeaf, endLeaf), leafFirstRank, firstLeaf, keys,
                    firstLeaf == 0 ? old.lowKey() : leaves.get(firstLeaf).leaf().lowFence()));
            firstLeaf = endLeaf;
        }
        return models;
    }

    /** A new model of {@code leaves} with {@code segment}'s line re-based to the leaves' first rank, error measured. */
    private static NewModel fit(LinearModel segment, List<LeafGroupReader.ReadLeaf> leaves, int[] leafFirstRank,
                                int firstLeaf, long[] keys, long lowKey) {
        int rankStart = leafFirstRank[firstLeaf];
        int rankEnd = firstLeaf + leaves.size() < leafFirstRank.length ? leafFirstRank[firstLeaf + leaves.size()] : keys.length;
        double intercept = segment.intercept() + (segment.firstRank() - rankStart);
        int[] firstRanks = new int[leaves.size()];
        for (int i = 0; i < firstRanks.length; i++) {
            firstRanks[i] = leafFirstRank[firstLeaf + i] - rankStart;
        }
        IndexModel probe = new IndexModel(lowKey, segment.firstKey(), segment.slope(), intercept, rankEnd - rankStart, 0,
                leaves.size(), 1, 0, 0, 0);
        double worst = 0;
        for (int r = rankStart; r < rankEnd; r++) {
            worst = Math.max(worst, probe.error(keys[r], r - rankStart));
        }
        return new NewModel(lowKey, segment.firstKey(), segment.slope(), intercept, rankEnd - rankStart,
                (int) Math.ceil(worst), leaves, firstRanks);
    }

    private static int keyCount(List<LeafGroupReader.ReadLeaf> leaves) {
        int count = 0;
        for (LeafGroupReader.ReadLeaf read : leaves) {
            count += read.leaf().count();
        }
        return count;
    }

    private static long tableBytes(IndexModel model) {
        long directory = model.hasDirectory() ? (4L * model.leafCount() + 7) / 8 * 8 : 0;
        return 8L * model.leafCount() + TablesDescriptor.SYNONYM_TABLE_BYTES + directory;
    }

    /** Writes the model set after the last one in the models region's circular queue, then points the meta at it. */
    private void publish(IndexLayout sized, List<IndexModel> models, long epoch) {
        byte[] set = IndexLoader.encodeModelSet(models, epoch);
        if (set.length > sized.modelsBytes() / 2) {
            throw new IllegalStateException("model set bytes=" + set.length + " exceeds half the models region ("
                    + sized.modelsBytes() + "): give the memory node a larger models region");
        }
        long cursor = readMetaWord(IndexMetaDescriptor.MODELS_USED_OFFSET);
        long offset = (cursor + 63) / 64 * 64;
        if (offset + set.length > sized.modelsBytes()) {
            offset = 0; // wrap: the set written there is many publications old
        }
        IndexLoader.BulkWriter writer = new IndexLoader.BulkWriter(connection);
        writer.write(sized.modelsAddress(offset), set);
        writer.flush();
        DoorbellBatch meta = new DoorbellBatch();
        meta.writeLong(sized.metaAddress(IndexMetaDescriptor.MODEL_SET_OFFSET_OFFSET), offset);
        meta.writeLong(sized.metaAddress(IndexMetaDescriptor.MODEL_SET_BYTES_OFFSET), set.length);
        meta.writeLong(sized.metaAddress(IndexMetaDescriptor.MODELS_USED_OFFSET), offset + set.length);
        meta.writeLong(sized.metaAddress(IndexMetaDescriptor.MODEL_EPOCH_OFFSET), epoch);
        connection.execute(meta);
    }

    private long bumpTables(long bytes) {
        DoorbellBatch batch = new DoorbellBatch();
        int verb = batch.fetchAndAdd(layout.metaAddress(IndexMetaDescriptor.TABLES_USED_OFFSET), bytes);
        return connection.execute(batch).oldValue(verb);
    }

    private long readMetaWord(int offset) {
        DoorbellBatch batch = new DoorbellBatch();
        int verb = batch.read(layout.metaAddress(offset), Long.BYTES);
        return connection.execute(batch).readLong(verb, 0);
    }

    /**
     * Table space for retrained models: first fit among retired ranges whose grace period is over, else the bump
     * counter in the meta region (shared with bulk load). Only the retrainer allocates after a build, so this list is
     * the whole truth about free table space.
     */
    static final class TableSpace {
        private record Range(long offset, long bytes, long retiredAt) {
        }

        private final List<Range> retired = new ArrayList<>();

        interface Bump {
            long claim(long bytes);
        }

        /** An offset for {@code bytes}, or -1 if the tables region is full. */
        long allocate(long bytes, Bump bump, long regionBytes) {
            long now = System.nanoTime();
            for (Iterator<Range> it = retired.iterator(); it.hasNext(); ) {
                Range range = it.next();
                if (range.bytes() >= bytes && now - range.retiredAt() >= TABLE_REUSE_GRACE_NANOS) {
                    it.remove();
                    if (range.bytes() > bytes) {
                        retired.add(new Range(range.offset() + bytes, range.bytes() - bytes, range.retiredAt()));
                    }
                    return range.offset();
                }
            }
            long offset = bump.claim(bytes);
            return offset + bytes <= regionBytes ? offset : -1;
        }

        void retire(long offset, long bytes, long now) {
            retired.add(new Range(offset, bytes, now));
        }

        void clear() {
            retired.clear();
        }

        long retiredBytes() {
            long total = 0;
            for (Range range : retired) {
                total += range.bytes();
            }
            return total;
        }
    }

    /** Bytes of table space waiting out their grace period or free for reuse. */
    public long retiredTableBytes() {
        return tableSpace.retiredBytes();
    }
}
