package io.rolexkv.rolex.index;

import io.rolexkv.common.fabric.BatchResult;
import io.rolexkv.common.fabric.DoorbellBatch;
import io.rolexkv.common.fabric.FabricConnection;
import io.rolexkv.common.fabric.CorruptDataException;
import io.rolexkv.rolex.layout.LeafTableEntry;
import io.rolexkv.rolex.leaf.Leaf;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.locks.LockSupport;

/**
 * Reads whole leaf groups (an LT leaf and its synonym chain) with as few doorbells as the cache allows: the first
 * doorbell READs every leaf of every requested group that the cache knows of; later doorbells only re-read torn leaves
 * and follow links the cache did not know, which are then cached.
 *
 * <p>Why a key present throughout is never missed: within an epoch a key moves only when a full leaf splits, and then
 * only forward along its chain, into a new leaf that is written completely before the split leaf's new header points
 * at it. The reader accepts a leaf's contents only together with the {@code nextLeaf} link read in those very
 * contents, and walks from the group's first leaf (which never changes) along those links until a leaf says it is the
 * last. Whatever moment a leaf was read at, a key that was in it or in any leaf after it is, at that moment, in it or
 * reachable through the link it shows; so the walk meets every such key. Re-reading a torn leaf later is the same
 * argument at a later moment.
 */
final class LeafGroupReader {
    /** Attempts at a leaf that keeps failing its checksum before the reader calls it corrupt. */
    static final int MAX_TORN_RETRIES = 10_000;

    private final IndexLayout layout;
    private final ModelCache cache;
    private final IndexCounters counters;

    LeafGroupReader(IndexLayout layout, ModelCache cache, IndexCounters counters) {
        this.layout = layout;
        this.cache = cache;
        this.counters = counters;
    }

    /** One leaf of a group as read: its identity (a nextLeaf-shaped word; slot 0 for the LT leaf) and contents. */
    record ReadLeaf(long reference, Leaf leaf) {
        int slot() {
            return LeafTableEntry.synonymSlot(reference);
        }
    }

    /** A group being read: which model and LT slot, and the walk's progress. */
    static final class Group {
        final int model;
        final int leaf;
        final List<ReadLeaf> chain = new ArrayList<>();
        final Map<Long, Leaf> valid = new HashMap<>();
        final Set<Long> attempted = new HashSet<>();
        boolean complete;

        Group(int model, int leaf) {
            this.model = model;
            this.leaf = leaf;
        }

        List<ReadLeaf> chain() {
            return chain;
        }
    }

    /** Identity of a leaf regardless of lock and link fields. */
    static long leafKey(long reference) {
        return ((long) LeafTableEntry.leafRegion(reference) << LeafTableEntry.LEAF_NUMBER_BITS) | LeafTableEntry.leafNumber(reference);
    }

    /** The reference of the group's first leaf: its LT entry with the slot field cleared. */
    long firstReference(Group group) {
        return LeafTableEntry.withSynonymSlot(cache.leafTableEntry(group.model, group.leaf), 0);
    }

    /**
     * Appends to {@code batch} a READ of every leaf the cache lists for {@code group}, in chain order, and returns
     * the references read in the order their verbs were added.
     */
    List<long[]> appendCachedChain(DoorbellBatch batch, Group group) {
        List<long[]> reads = new ArrayList<>();
        long reference = firstReference(group);
        int nextSlot = LeafTableEntry.synonymSlot(cache.leafTableEntry(group.model, group.leaf));
        for (int steps = 0; steps <= LeafTableEntry.SYNONYM_SLOTS; steps++) {
            int verb = batch.read(layout.leafAddress(reference), layout.leafBytes());
            reads.add(new long[] {reference, verb});
            if (nextSlot == LeafTableEntry.NO_SYNONYM) {
                break;
            }
            long entry = cache.synonymEntry(group.model, nextSlot);
            if (entry == 0) {
                break; // the cache knows the slot exists but not where: the walk will follow the link
            }
            reference = LeafTableEntry.withSynonymSlot(entry, nextSlot);
            nextSlot = LeafTableEntry.synonymSlot(entry);
        }
        return reads;
    }

    /**
     * {@link #appendCachedChain(DoorbellBatch, Group)} for the single-key lookup: appends to {@code scratch}'s batch a
     * READ of every leaf the cache lists for group {@code leaf} of {@code model}, in chain order, and records each
     * leaf's reference at its verb's index in {@code scratch.references}. Allocates nothing.
     */
    void appendCachedChain(LookupScratch scratch, int model, int leaf) {
        DoorbellBatch batch = scratch.batch;
        long entry = cache.leafTableEntry(model, leaf);
        long reference = LeafTableEntry.withSynonymSlot(entry, 0);
        int nextSlot = LeafTableEntry.synonymSlot(entry);
        for (int steps = 0; steps <= LeafTableEntry.SYNONYM_SLOTS; steps++) {
            int verb = batch.read(layout.leafAddress(reference), layout.leafBytes());
            scratch.ensureReads(verb + 1);
            scratch.references[verb] = reference;
            if (nextSlot == LeafTableEntry.NO_SYNONYM) {
                return;
            }
            long synonym = cache.synonymEntry(model, nextSlot);
            if (synonym == 0) {
                return; // the cache knows the slot exists but not where: the walk will follow the link
            }
            reference = LeafTableEntry.withSynonymSlot(synonym, nextSlot);
            nextSlot = LeafTableEntry.synonymSlot(synonym);
        }
    }

    /** Reads {@code groups} completely, the cached chains in one doorbell and the rest as needed. */
    void read(FabricConnection connection, List<Group> groups) {
        DoorbellBatch batch = new DoorbellBatch();
        List<List<long[]>> reads = appendCachedChains(batch, groups);
        absorbFirst(groups, connection.execute(batch), reads);
        finish(connection, groups);
    }

    /** Appends the cached chains of every group to {@code batch}; pass the return value to {@link #absorbFirst}. */
    List<List<long[]>> appendCachedChains(DoorbellBatch batch, List<Group> groups) {
        List<List<long[]>> reads = new ArrayList<>(groups.size());
        for (Group group : groups) {
            reads.add(appendCachedChain(batch, group));
        }
        return reads;
    }

    /** Takes in the leaves a doorbell built with {@link #appendCachedChains} returned. */
    void absorbFirst(List<Group> groups, BatchResult result, List<List<long[]>> reads) {
        for (int g = 0; g < groups.size(); g++) {
            absorb(groups.get(g), result, reads.get(g));
        }
    }

    /** Completes the walks of {@code groups} whose first reads were already absorbed. */
    void finish(FabricConnection connection, List<Group> groups) {
        int tornRounds = 0;
        while (true) {
            DoorbellBatch batch = new DoorbellBatch();
            List<Group> pendingGroups = new ArrayList<>();
            List<long[]> pendingReads = new ArrayList<>();
            for (Group group : groups) {
                long missing = walk(group);
                if (missing != WALK_COMPLETE) {
                    pendingGroups.add(group);
                    pendingReads.add(new long[] {missing, batch.read(layout.leafAddress(missing), layout.leafBytes())});
                }
            }
            if (pendingGroups.isEmpty()) {
                return;
            }
            BatchResult result = connection.execute(batch);
            boolean anyTorn = false;
            for (int i = 0; i < pendingGroups.size(); i++) {
                anyTorn |= !absorb(pendingGroups.get(i), result, List.of(pendingReads.get(i)));
            }
            if (anyTorn && ++tornRounds > MAX_TORN_RETRIES) {
                throw new CorruptDataException("leaf keeps failing its checksum after " + MAX_TORN_RETRIES
                        + " reads: corrupt leaf or a writer died mid-write");
            }
            if (anyTorn && tornRounds > 8) {
                LockSupport.parkNanos(Math.min(1_000_000L, 1_000L << Math.min(10, tornRounds - 8)));
            }
        }
    }

    /** Decodes the reads into {@code group}; returns false if any leaf was torn. */
    private boolean absorb(Group group, BatchResult result, List<long[]> reads) {
        boolean allValid = true;
        for (long[] read : reads) {
            group.attempted.add(leafKey(read[0]));
            Leaf leaf = Leaf.decodeOrNull(result.read((int) read[1]), layout.leafCapacity());
            if (leaf == null) {
                counters.tornLeafReads.increment();
                allValid = false;
                continue;
            }
            if (leaf.epoch() > cache.epoch()) {
                throw new StaleModelsException(); // a retraining regrouped this leaf under newer models
            }
            group.valid.put(leafKey(read[0]), leaf);
        }
        return allValid;
    }

    /**
     * What {@link #walk} returns for a complete group. Not 0: that is the reference of leaf 0 of leaf region 0 (slot 0),
     * a leaf like any other that may need reading. No reference has the lock bit, so -1 is never one.
     */
    static final long WALK_COMPLETE = -1L;

    /**
     * Walks {@code group} from its first leaf along the links in the valid contents read so far. Returns
     * {@link #WALK_COMPLETE} when the walk reached the chain's end (the group is complete), else the reference of the
     * first leaf it still needs.
     */
    private long walk(Group group) {
        if (group.complete) {
            return WALK_COMPLETE;
        }
        group.chain.clear();
        long reference = firstReference(group);
        int fromSlot = 0;
        for (int steps = 0; steps <= LeafTableEntry.SYNONYM_SLOTS; steps++) {
            Leaf leaf = group.valid.get(leafKey(reference));
            if (leaf == null) {
                if (!group.attempted.contains(leafKey(reference))) {
                    counters.unknownLinksFollowed.increment();
                }
                return reference;
            }
            group.chain.add(new ReadLeaf(reference, leaf));
            long next = leaf.nextLeaf();
            cache.learnLink(group.model, group.leaf, fromSlot, next);
            if (next == 0) {
                group.complete = true;
                return WALK_COMPLETE;
            }
            fromSlot = LeafTableEntry.synonymSlot(next);
            reference = next;
        }
        throw new CorruptDataException("leaf group model=" + group.model + " leaf=" + group.leaf
                + " has a chain longer than its synonym table: corrupt links");
    }
}
