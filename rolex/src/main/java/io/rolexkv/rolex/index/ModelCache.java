package io.rolexkv.rolex.index;

import io.rolexkv.rolex.layout.LeafTableEntry;
import io.rolexkv.rolex.layout.ModelRecordDescriptor;
import io.rolexkv.rolex.layout.TablesDescriptor;
import io.rolexkv.rolex.model.UnsignedKeys;

import java.util.List;
import java.util.concurrent.atomic.AtomicLongArray;

/**
 * A compute node's cached copy of one model epoch of the index: every model's parameters, and a snapshot of its leaf
 * table (LT), synonym leaf table (SLT) and, for retrained models, leaf rank directory. Immutable as to which models
 * there are; the table snapshots are updated in place as operations learn links. Thread-safe.
 *
 * <p>What may be stale and why that is safe: the leaf an LT entry names never changes within a model epoch, so the
 * cache always knows each leaf group's first leaf. Synonym links (an LT entry's synonymSlot, SLT entries) grow as other
 * compute nodes split leaves; the cache learns them from leaf headers ({@code nextLeaf}) as operations meet them and
 * records them here ({@link #learnLink}), and a stale LT entry also shows up as a failed lock CAS, whose returned value
 * refreshes it ({@link #learnLeafTableEntry}). Lock bits are never cached. A new model epoch (retraining) replaces the
 * cache as a whole; models it did not change keep their snapshots ({@link CachedModel} objects are shared).
 */
public final class ModelCache {
    private final long epoch;
    private final CachedModel[] models;
    private final long[] lowKeys;

    /** One model and its tables as this compute node knows them. */
    public static final class CachedModel {
        final IndexModel model;
        final AtomicLongArray leafTable;
        /**
         * The SLT snapshot, made only once the model has a synonym leaf (most models of a fresh or freshly retrained
         * index have none) and only as long as the highest slot learned, rounded up to a power of two: slots are claimed
         * in order from 1 (FAA on slot 0), so a model with a few synonym leaves caches a few words, not the 2 KiB SLT.
         */
        private volatile AtomicLongArray synonymTable;
        final int[] leafFirstRanks;

        /**
         * @param leafTable      the model's LT entries as read (lock bits are dropped)
         * @param synonymTable   its SLT as read (slot 0 the used-slot counter)
         * @param leafFirstRanks its leaf rank directory, or {@code null} if it has none
         */
        public CachedModel(IndexModel model, long[] leafTable, long[] synonymTable, int[] leafFirstRanks) {
            if (leafTable.length != model.leafCount()) {
                throw new IllegalArgumentException("leafCount=" + model.leafCount() + " leafTable=" + leafTable.length);
            }
            if (synonymTable.length != TablesDescriptor.SYNONYM_SLOTS) {
                throw new IllegalArgumentException("synonymTable=" + synonymTable.length);
            }
            if (model.hasDirectory() != (leafFirstRanks != null)
                    || (leafFirstRanks != null && leafFirstRanks.length != model.leafCount())) {
                throw new IllegalArgumentException("leaf rank directory does not match model: " + model);
            }
            long[] unlocked = new long[leafTable.length];
            for (int i = 0; i < leafTable.length; i++) {
                unlocked[i] = LeafTableEntry.withoutLock(leafTable[i]);
            }
            this.model = model;
            this.leafTable = new AtomicLongArray(unlocked);
            this.leafFirstRanks = leafFirstRanks;
            int highest = 0;
            for (int slot = 1; slot < synonymTable.length; slot++) {
                if (synonymTable[slot] != 0) {
                    highest = slot;
                }
            }
            if (highest > 0) {
                this.synonymTable = new AtomicLongArray(java.util.Arrays.copyOf(synonymTable, snapshotLength(highest)));
            }
        }

        /** Words a snapshot needs to hold slot {@code slot}: a power of two (at least 8), at most the whole SLT. */
        static int snapshotLength(int slot) {
            return Math.min(TablesDescriptor.SYNONYM_SLOTS, Math.max(8, Integer.highestOneBit(slot) << 1));
        }

        long synonymEntry(int slot) {
            AtomicLongArray table = synonymTable;
            return table == null || slot >= table.length() ? 0 : table.get(slot);
        }

        /**
         * The snapshot, grown to hold {@code slot}. Growing copies the old words into a new array; an entry another
         * thread learns into the old array meanwhile may be lost. That is safe: an SLT entry the cache does not know
         * reads as 0, and a reader then follows the leaf's own next link (one more doorbell, never a wrong answer).
         */
        AtomicLongArray synonymTableCovering(int slot) {
            AtomicLongArray table = synonymTable;
            if (table != null && slot < table.length()) {
                return table;
            }
            synchronized (this) {
                table = synonymTable;
                if (table == null || slot >= table.length()) {
                    AtomicLongArray grown = new AtomicLongArray(snapshotLength(slot));
                    for (int i = 0; table != null && i < table.length(); i++) {
                        grown.set(i, table.get(i));
                    }
                    table = grown;
                    synonymTable = table;
                }
                return table;
            }
        }

        public IndexModel model() {
            return model;
        }

        long bytes() {
            AtomicLongArray table = synonymTable;
            return ModelRecordDescriptor.RECORD_BYTES + 8L * leafTable.length() + (table == null ? 0 : 8L * table.length())
                    + (leafFirstRanks == null ? 0 : 4L * leafFirstRanks.length);
        }
    }

    public ModelCache(long epoch, List<CachedModel> models) {
        if (models.isEmpty()) {
            throw new IllegalArgumentException("a model cache needs at least one model");
        }
        this.epoch = epoch;
        this.models = models.toArray(CachedModel[]::new);
        this.lowKeys = new long[this.models.length];
        for (int m = 0; m < this.models.length; m++) {
            lowKeys[m] = this.models[m].model.lowKey();
            if (m > 0 && Long.compareUnsigned(lowKeys[m - 1], lowKeys[m]) >= 0) {
                throw new IllegalArgumentException("models out of key order at model=" + m);
            }
        }
    }

    public long epoch() {
        return epoch;
    }

    public int modelCount() {
        return models.length;
    }

    public IndexModel model(int model) {
        return models[model].model;
    }

    /** The cached state of {@code model}, for a refresh that keeps models a new epoch did not change. */
    public CachedModel cachedModel(int model) {
        return models[model];
    }

    /** The model that owns {@code key}: the last whose lowKey is at or below it (the first for smaller keys). */
    public int modelFor(long key) {
        return UnsignedKeys.floorIndex(lowKeys, key);
    }

    /**
     * The leaf groups of {@code model} that may hold {@code key}, from one prediction: read them with
     * {@link IndexModel#firstOf} and {@link IndexModel#lastOf}.
     */
    public long candidateLeaves(int model, long key) {
        return models[model].model.candidateLeaves(key, models[model].leafFirstRanks);
    }

    /** The cached LT entry of leaf group {@code leaf} of {@code model}, unlocked. */
    public long leafTableEntry(int model, int leaf) {
        return models[model].leafTable.get(leaf);
    }

    /**
     * Records an LT entry seen remotely (from a failed CAS); the lock bit is dropped. Returns false if the entry names a
     * different leaf than the cache: the index was rebuilt or retrained under this cache, which must be refreshed.
     */
    public boolean learnLeafTableEntry(int model, int leaf, long entry) {
        long unlocked = LeafTableEntry.withoutLock(entry);
        AtomicLongArray leafTable = models[model].leafTable;
        if (!LeafTableEntry.sameLeaf(leafTable.get(leaf), unlocked)) {
            return false;
        }
        leafTable.set(leaf, unlocked);
        return true;
    }

    /** The cached SLT entry at {@code slot} (1..255) of {@code model}; 0 if never learned. */
    public long synonymEntry(int model, int slot) {
        return models[model].synonymEntry(slot);
    }

    /**
     * Records that, in leaf group {@code leaf} of {@code model}, the leaf after the one at {@code fromSlot} (0 for the
     * group's LT leaf) is {@code next}: a {@link io.rolexkv.rolex.layout.LeafDescriptor} nextLeaf word (0 for none).
     */
    public void learnLink(int model, int leaf, int fromSlot, long next) {
        AtomicLongArray leafTable = models[model].leafTable;
        int nextSlot = next == 0 ? LeafTableEntry.NO_SYNONYM : LeafTableEntry.synonymSlot(next);
        if (next == 0 && fromSlot == 0 && LeafTableEntry.synonymSlot(leafTable.get(leaf)) == LeafTableEntry.NO_SYNONYM) {
            return; // the common case, a group with no synonym leaf: nothing to learn, no SLT snapshot to make
        }
        AtomicLongArray synonymTable = models[model].synonymTableCovering(Math.max(fromSlot, nextSlot));
        if (fromSlot == 0) {
            leafTable.set(leaf, LeafTableEntry.withSynonymSlot(leafTable.get(leaf), nextSlot));
        } else {
            synonymTable.set(fromSlot, LeafTableEntry.withSynonymSlot(synonymTable.get(fromSlot), nextSlot));
        }
        if (next != 0) {
            long known = synonymTable.get(nextSlot);
            // The entry for the next leaf: its own address; its onward link is learned when its header is read.
            long entry = LeafTableEntry.of(LeafTableEntry.leafRegion(next),
                    known != 0 && LeafTableEntry.sameLeaf(known, next) ? LeafTableEntry.synonymSlot(known) : 0,
                    LeafTableEntry.leafNumber(next));
            synonymTable.set(nextSlot, entry);
        }
    }

    /** Bytes this cache holds: model records, LT and SLT snapshots, directories (reported as model cache bytes). */
    public long bytes() {
        long bytes = 0;
        for (CachedModel model : models) {
            bytes += model.bytes();
        }
        return bytes;
    }
}
