package io.rolexkv.rolex.index;

import io.rolexkv.rolex.layout.LeafTableEntry;
import io.rolexkv.rolex.layout.SynonymTableDescriptor;

import java.util.List;
import java.util.concurrent.atomic.AtomicLongArray;

/**
 * A compute node's cached copy of the index's models: the model parameters, and a snapshot of every model's leaf
 * table (LT) and synonym leaf table (SLT). Shared by every operation of one compute node; thread-safe.
 *
 * <p>What may be stale and why that is safe: the leaf an LT entry names never changes within a model epoch, so the
 * cache always knows each leaf group's first leaf. Synonym links (an LT entry's synonymSlot, SLT entries) grow as other
 * compute nodes split leaves; the cache learns them from leaf headers ({@code nextLeaf}) as operations meet them and
 * records them here ({@link #learnLink}), and a stale LT entry also shows up as a failed lock CAS, whose returned value
 * refreshes it ({@link #learnLeafTableEntry}). Lock bits are never cached.
 */
public final class ModelCache {
    private final long epoch;
    private final IndexModel[] models;
    private final long[] lowKeys;
    private final AtomicLongArray[] leafTables;
    private final AtomicLongArray[] synonymTables;

    /**
     * @param leafTables    per model, its LT entries as read (lock bits are dropped)
     * @param synonymTables per model, its SLT as read (slot 0 the used-slot counter)
     */
    public ModelCache(long epoch, List<IndexModel> models, List<long[]> leafTables, List<long[]> synonymTables) {
        if (models.isEmpty() || models.size() != leafTables.size() || models.size() != synonymTables.size()) {
            throw new IllegalArgumentException("models=" + models.size() + " leafTables=" + leafTables.size()
                    + " synonymTables=" + synonymTables.size());
        }
        this.epoch = epoch;
        this.models = models.toArray(IndexModel[]::new);
        this.lowKeys = new long[this.models.length];
        this.leafTables = new AtomicLongArray[this.models.length];
        this.synonymTables = new AtomicLongArray[this.models.length];
        for (int m = 0; m < this.models.length; m++) {
            lowKeys[m] = this.models[m].lowKey();
            if (m > 0 && Long.compareUnsigned(lowKeys[m - 1], lowKeys[m]) >= 0) {
                throw new IllegalArgumentException("models out of key order at model=" + m);
            }
            long[] leafTable = leafTables.get(m);
            if (leafTable.length != this.models[m].leafCount()) {
                throw new IllegalArgumentException("model=" + m + " leafCount=" + this.models[m].leafCount()
                        + " leafTable=" + leafTable.length);
            }
            long[] unlocked = new long[leafTable.length];
            for (int i = 0; i < leafTable.length; i++) {
                unlocked[i] = LeafTableEntry.withoutLock(leafTable[i]);
            }
            this.leafTables[m] = new AtomicLongArray(unlocked);
            long[] synonymTable = synonymTables.get(m);
            if (synonymTable.length != SynonymTableDescriptor.SLOTS) {
                throw new IllegalArgumentException("model=" + m + " synonymTable=" + synonymTable.length);
            }
            this.synonymTables[m] = new AtomicLongArray(synonymTable);
        }
    }

    public long epoch() {
        return epoch;
    }

    public int modelCount() {
        return models.length;
    }

    public IndexModel model(int model) {
        return models[model];
    }

    /** The model that owns {@code key}: the last whose lowKey is at or below it (the first for smaller keys). */
    public int modelFor(long key) {
        int low = 0;
        int high = lowKeys.length - 1;
        while (low < high) {
            int middle = (low + high + 1) >>> 1;
            if (Long.compareUnsigned(lowKeys[middle], key) <= 0) {
                low = middle;
            } else {
                high = middle - 1;
            }
        }
        return low;
    }

    /** The cached LT entry of leaf group {@code leaf} of {@code model}, unlocked. */
    public long leafTableEntry(int model, int leaf) {
        return leafTables[model].get(leaf);
    }

    /** Records an LT entry seen remotely (from a failed CAS or a header); the lock bit is dropped. */
    public void learnLeafTableEntry(int model, int leaf, long entry) {
        long unlocked = LeafTableEntry.withoutLock(entry);
        long cached = leafTables[model].get(leaf);
        if (!LeafTableEntry.sameLeaf(cached, unlocked)) {
            throw new IllegalStateException("LT entry of model=" + model + " leaf=" + leaf + " changed leaf: cached="
                    + LeafTableEntry.toString(cached) + " seen=" + LeafTableEntry.toString(unlocked)
                    + " (a new model epoch was published; the cache must be reloaded)");
        }
        leafTables[model].set(leaf, unlocked);
    }

    /** The cached SLT entry at {@code slot} (1..255) of {@code model}; 0 if never learned. */
    public long synonymEntry(int model, int slot) {
        return synonymTables[model].get(slot);
    }

    /**
     * Records that, in leaf group {@code leaf} of {@code model}, the leaf after the one at {@code fromSlot} (0 for the
     * group's LT leaf) is {@code next}: a {@link io.rolexkv.rolex.layout.LeafDescriptor} nextLeaf word (0 for none).
     */
    public void learnLink(int model, int leaf, int fromSlot, long next) {
        int nextSlot = next == 0 ? LeafTableEntry.NO_SYNONYM : LeafTableEntry.synonymSlot(next);
        if (fromSlot == 0) {
            long cached = leafTables[model].get(leaf);
            leafTables[model].set(leaf, LeafTableEntry.withSynonymSlot(cached, nextSlot));
        } else {
            long cached = synonymTables[model].get(fromSlot);
            synonymTables[model].set(fromSlot, LeafTableEntry.withSynonymSlot(cached, nextSlot));
        }
        if (next != 0) {
            long known = synonymTables[model].get(nextSlot);
            // The entry for the next leaf: its own address; its onward link is learned when its header is read.
            long entry = LeafTableEntry.of(LeafTableEntry.leafRegion(next),
                    known != 0 && LeafTableEntry.sameLeaf(known, next) ? LeafTableEntry.synonymSlot(known) : 0,
                    LeafTableEntry.leafNumber(next));
            synonymTables[model].set(nextSlot, entry);
        }
    }

    /** Bytes this cache holds: model records, LT and SLT snapshots (the figure reported as model cache bytes). */
    public long bytes() {
        long bytes = (long) models.length * io.rolexkv.rolex.layout.ModelRecordDescriptor.RECORD_BYTES;
        for (int m = 0; m < models.length; m++) {
            bytes += 8L * leafTables[m].length() + 8L * synonymTables[m].length();
        }
        return bytes;
    }
}
