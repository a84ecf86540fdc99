package io.rolexkv.rolex.index;

import io.rolexkv.common.fabric.CorruptDataException;
import io.rolexkv.common.fabric.FabricConnection;
import io.rolexkv.common.fabric.WordOrder;
import io.rolexkv.rolex.layout.IndexMetaDescriptor;
import io.rolexkv.rolex.layout.LeafDescriptor;
import io.rolexkv.rolex.layout.LeafRegionDescriptor;
import io.rolexkv.rolex.layout.LeafTableEntry;
import io.rolexkv.rolex.layout.ModelRecordDescriptor;
import io.rolexkv.rolex.layout.ModelSetDescriptor;
import io.rolexkv.rolex.layout.TablesDescriptor;
import io.rolexkv.rolex.leaf.Leaf;

import java.lang.foreign.MemorySegment;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.zip.CRC32C;

/**
 * Walks every structure of the index on one memory node, as the layout descriptors define them, and reports each
 * invariant it finds broken: the meta region, the published model set, every model's leaf table (LT), synonym leaf
 * table (SLT) and leaf rank directory, every leaf group's chain, every leaf, and the leaf region's counters. What it
 * checks, in the descriptors' words:
 * <ul>
 *   <li>meta: magic, READY, a leaf geometry that exists; the model set it points at lies inside the models region,
 *       before the write cursor, with its magic, the meta's epoch, whole records and a valid checksum;</li>
 *   <li>models: the first owns from key 0, low keys strictly ascending (so together they own the whole key space,
 *       in order); tables inside the tables region's used part, aligned, no two overlapping; a leaf rank directory
 *       starts at rank 0 and never decreases or passes the key count;</li>
 *   <li>LT and SLT entries: no lock bit (a quiescent index holds no lock), no retired entry in a published model,
 *       the one leaf region, leaf numbers below the leaf region's used counter and capacity; SLT slot 0 (the used
 *       counter) at or above every slot a chain uses, nothing written beyond it, no written slot off every chain, no
 *       slot on two chains;</li>
 *   <li>chains: the leaf links ({@code nextLeaf}) and the table links (synonymSlot fields) name the same leaves in
 *       the same order and end together; no lock bit in a link; no chain longer than the SLT; every leaf reachable
 *       exactly once over the whole index;</li>
 *   <li>leaves: a valid checksum, the index's capacity, count within it, keys strictly ascending (unsigned), inside
 *       the fences, zero beyond count, an epoch no newer than the published one; fences ascending and contiguous along
 *       a chain, chains contiguous along a model's groups, models contiguous along the key space, so the leaf fences
 *       tile the key space with neither gap nor overlap;</li>
 *   <li>prediction: every key lies in a group its model lists as a candidate for it, so a lookup reaches it.</li>
 * </ul>
 * Every violation is a line of key=value pairs naming where it is (model, group, leaf number, slot).
 *
 * <p>Only meaningful on a quiescent index: it reads the structures in several doorbells, so a write, split or
 * retraining in flight would show as breakage (a held lock, a torn leaf). Reads only; never on an operation's path.
 */
public final class IndexChecker {
    /** Violations kept in a report; past this only the count grows (one broken leaf can break many invariants). */
    static final int MAX_REPORTED = 200;

    private final FabricConnection connection;
    private final List<String> violations = new ArrayList<>();
    private int violationCount;
    private long models;
    private long groups;
    private long leaves;
    private long keys;
    private long epoch;

    private IndexChecker(FabricConnection connection) {
        this.connection = connection;
    }

    /**
     * What a check found: the broken invariants (at most {@value #MAX_REPORTED} listed, all counted) and what it
     * walked.
     */
    public record Report(List<String> violations, int violationCount, long epoch, long models, long groups, long leaves,
                         long keys) {
        public boolean sound() {
            return violationCount == 0;
        }

        /** This report if the index is sound, else a {@link CorruptDataException} listing every violation. */
        public Report requireSound() {
            if (!sound()) {
                throw new CorruptDataException("index structure broken: " + this);
            }
            return this;
        }

        /** Whether some violation's text contains {@code fragment}. */
        public boolean mentions(String fragment) {
            return violations.stream().anyMatch(violation -> violation.contains(fragment));
        }

        @Override
        public String toString() {
            StringBuilder text = new StringBuilder("IndexChecker.Report[violations=" + violationCount + " epoch=" + epoch
                    + " models=" + models + " groups=" + groups + " leaves=" + leaves + " keys=" + keys + "]");
            for (String violation : violations) {
                text.append("\n  ").append(violation);
            }
            if (violationCount > violations.size()) {
                text.append("\n  ... and ").append(violationCount - violations.size()).append(" more");
            }
            return text.toString();
        }
    }

    /** Checks the index on the connection's memory node; see the class comment for what it checks. */
    public static Report check(FabricConnection connection) {
        IndexChecker checker = new IndexChecker(connection);
        checker.run();
        return new Report(List.copyOf(checker.violations), checker.violationCount, checker.epoch, checker.models,
                checker.groups, checker.leaves, checker.keys);
    }

    private void violation(String text) {
        violationCount++;
        if (violations.size() < MAX_REPORTED) {
            violations.add(text);
        }
    }

    private static String key(long value) {
        return Long.toUnsignedString(value);
    }

    // ------------------------------------------------------------------ the walk

    /** Everything read once, up front: the meta, the model set, the used part of the tables and leaf regions. */
    private void run() {
        IndexLayout probe = new IndexLayout(connection, LeafDescriptor.MIN_CAPACITY);
        MemorySegment meta = IndexLoader.readBytes(connection, probe.metaAddress(0), IndexMetaDescriptor.META_BYTES);
        long magic = WordOrder.getLong(meta, IndexMetaDescriptor.MAGIC_OFFSET);
        long state = WordOrder.getLong(meta, IndexMetaDescriptor.STATE_OFFSET);
        if (magic != IndexMetaDescriptor.MAGIC || state != IndexMetaDescriptor.STATE_READY) {
            violation("no published index: magic=" + Long.toHexString(magic) + " state=" + state);
            return;
        }
        int leafCapacity = meta.get(WordOrder.INT_UNALIGNED, IndexMetaDescriptor.LEAF_CAPACITY_OFFSET);
        int keysPerLeaf = meta.get(WordOrder.INT_UNALIGNED, IndexMetaDescriptor.KEYS_PER_LEAF_OFFSET);
        int epsilon = meta.get(WordOrder.INT_UNALIGNED, IndexMetaDescriptor.EPSILON_OFFSET);
        if (leafCapacity < LeafDescriptor.MIN_CAPACITY || leafCapacity > LeafDescriptor.MAX_CAPACITY
                || keysPerLeaf < 1 || keysPerLeaf > leafCapacity || epsilon < 1) {
            violation("meta geometry impossible: leafCapacity=" + leafCapacity + " keysPerLeaf=" + keysPerLeaf
                    + " epsilon=" + epsilon);
            return;
        }
        IndexLayout layout = new IndexLayout(connection, leafCapacity);
        epoch = WordOrder.getLong(meta, IndexMetaDescriptor.MODEL_EPOCH_OFFSET);
        long tablesUsed = WordOrder.getLong(meta, IndexMetaDescriptor.TABLES_USED_OFFSET);
        if (tablesUsed < 0 || tablesUsed > layout.tablesBytes()) {
            violation("tables counter outside the tables region: tablesUsed=" + tablesUsed + " regionBytes=" + layout.tablesBytes());
            tablesUsed = layout.tablesBytes();
        }
        List<IndexModel> set = modelSet(layout, meta);
        if (set == null) {
            return;
        }
        MemorySegment region = IndexLoader.readBytes(connection, layout.leavesAddress(0), LeafRegionDescriptor.HEADER_BYTES);
        long usedLeaves = WordOrder.getLong(region, LeafRegionDescriptor.USED_LEAVES_OFFSET);
        long capacityLeaves = WordOrder.getLong(region, LeafRegionDescriptor.CAPACITY_LEAVES_OFFSET);
        long leafBytes = WordOrder.getLong(region, LeafRegionDescriptor.LEAF_BYTES_OFFSET);
        if (leafBytes != layout.leafBytes() || capacityLeaves != layout.leafCapacityOfRegion()) {
            violation("leaf region header disagrees with the meta: leafBytes=" + leafBytes + " expected=" + layout.leafBytes()
                    + " capacityLeaves=" + capacityLeaves + " expected=" + layout.leafCapacityOfRegion());
        }
        long leafLimit = Math.min(Math.max(0, usedLeaves), layout.leafCapacityOfRegion());
        MemorySegment leafRegion = leafLimit == 0 ? MemorySegment.ofArray(new byte[0])
                : IndexLoader.readBytes(connection, layout.leavesAddress(LeafRegionDescriptor.HEADER_BYTES), leafLimit * layout.leafBytes());
        MemorySegment tables = tablesUsed == 0 ? MemorySegment.ofArray(new byte[0])
                : IndexLoader.readBytes(connection, layout.tablesAddress(0), tablesUsed);
        checkTablePlacement(set, tablesUsed);
        Map<Long, String> reached = new HashMap<>();
        for (int m = 0; m < set.size(); m++) {
            IndexModel model = set.get(m);
            long lowKey = model.lowKey();
            long highKey = m + 1 < set.size() ? set.get(m + 1).lowKey() - 1 : -1L;
            if (m == 0 && lowKey != 0) {
                violation("the first model does not own from key 0: model=0 lowKey=" + key(lowKey));
            }
            if (m > 0 && Long.compareUnsigned(set.get(m - 1).lowKey(), lowKey) >= 0) {
                violation("models out of key order: model=" + m + " lowKey=" + key(lowKey) + " previousLowKey="
                        + key(set.get(m - 1).lowKey()));
                continue;
            }
            new ModelWalk(m, model, lowKey, highKey, tables, tablesUsed, leafRegion, leafLimit, layout, reached).run();
        }
    }

    /** The published model set, checked; {@code null} if it cannot be read at all. */
    private List<IndexModel> modelSet(IndexLayout layout, MemorySegment meta) {
        long offset = WordOrder.getLong(meta, IndexMetaDescriptor.MODEL_SET_OFFSET_OFFSET);
        long bytes = WordOrder.getLong(meta, IndexMetaDescriptor.MODEL_SET_BYTES_OFFSET);
        long cursor = WordOrder.getLong(meta, IndexMetaDescriptor.MODELS_USED_OFFSET);
        if (offset < 0 || bytes < ModelSetDescriptor.HEADER_BYTES || offset + bytes > layout.modelsBytes()) {
            violation("model set outside the models region: modelSetOffset=" + offset + " modelSetBytes=" + bytes
                    + " regionBytes=" + layout.modelsBytes());
            return null;
        }
        if (offset + bytes > cursor) {
            violation("model set past the models region's write cursor: modelSetOffset=" + offset + " modelSetBytes="
                    + bytes + " modelsUsed=" + cursor);
        }
        MemorySegment set = IndexLoader.readBytes(connection, layout.modelsAddress(offset), bytes);
        int magic = set.get(WordOrder.INT_UNALIGNED, ModelSetDescriptor.MAGIC_OFFSET);
        int count = set.get(WordOrder.INT_UNALIGNED, ModelSetDescriptor.MODEL_COUNT_OFFSET);
        long setEpoch = WordOrder.getLong(set, ModelSetDescriptor.EPOCH_OFFSET);
        int recordBytes = set.get(WordOrder.INT_UNALIGNED, ModelSetDescriptor.RECORD_BYTES_OFFSET);
        if (magic != ModelSetDescriptor.MAGIC || count < 1 || ModelSetDescriptor.setBytes(count) != bytes
                || recordBytes != ModelRecordDescriptor.RECORD_BYTES) {
            violation("model set header broken: magic=" + Integer.toHexString(magic) + " modelCount=" + count
                    + " modelSetBytes=" + bytes + " recordBytes=" + recordBytes);
            return null;
        }
        if (setEpoch != epoch) {
            violation("model set epoch differs from the meta's: setEpoch=" + setEpoch + " metaEpoch=" + epoch);
        }
        CRC32C crc = new CRC32C();
        crc.update(set.asSlice(ModelSetDescriptor.HEADER_BYTES).asByteBuffer());
        int stored = set.get(WordOrder.INT_UNALIGNED, ModelSetDescriptor.CHECKSUM_OFFSET);
        if ((int) crc.getValue() != stored) {
            violation("model set checksum invalid: stored=" + Integer.toHexString(stored) + " computed="
                    + Integer.toHexString((int) crc.getValue()));
        }
        List<IndexModel> decoded = new ArrayList<>(count);
        for (int m = 0; m < count; m++) {
            try {
                decoded.add(IndexModel.decode(set, ModelSetDescriptor.recordOffset(m)));
            } catch (IllegalArgumentException e) {
                violation("model record undecodable: model=" + m + " reason=" + e.getMessage());
                return null;
            }
        }
        models = count;
        return decoded;
    }

    /** Every model's LT, SLT and directory inside the used tables, word aligned, and no two tables overlapping. */
    private void checkTablePlacement(List<IndexModel> set, long tablesUsed) {
        List<long[]> spans = new ArrayList<>();
        for (int m = 0; m < set.size(); m++) {
            IndexModel model = set.get(m);
            spans.add(new long[] {model.ltOffset(), 8L * model.leafCount(), m, 0});
            spans.add(new long[] {model.sltOffset(), TablesDescriptor.SYNONYM_TABLE_BYTES, m, 1});
            if (model.hasDirectory()) {
                spans.add(new long[] {model.directoryOffset(), 4L * model.leafCount(), m, 2});
            }
        }
        String[] names = {"lt", "slt", "directory"};
        for (long[] span : spans) {
            if (span[0] < 0 || span[0] % 8 != 0 || span[0] + span[1] > tablesUsed) {
                violation("table outside the used tables region or unaligned: model=" + span[2] + " table=" + names[(int) span[3]]
                        + " offset=" + span[0] + " bytes=" + span[1] + " tablesUsed=" + tablesUsed);
            }
        }
        spans.sort((a, b) -> Long.compare(a[0], b[0]));
        for (int i = 1; i < spans.size(); i++) {
            long[] before = spans.get(i - 1);
            long[] after = spans.get(i);
            if (before[0] + before[1] > after[0]) {
                violation("tables overlap: model=" + before[2] + " table=" + names[(int) before[3]] + " offset=" + before[0]
                        + " bytes=" + before[1] + " otherModel=" + after[2] + " otherTable=" + names[(int) after[3]]
                        + " otherOffset=" + after[0]);
            }
        }
    }

    /** One model's tables and every chain of its groups. */
    private final class ModelWalk {
        private final int m;
        private final IndexModel model;
        private final long lowKey;
        private final long highKey;
        private final MemorySegment tables;
        private final long tablesUsed;
        private final MemorySegment leafRegion;
        private final long leafLimit;
        private final IndexLayout layout;
        private final Map<Long, String> reached;
        private final int[] directory;
        private final String[] slotUser = new String[TablesDescriptor.SYNONYM_SLOTS];
        /** The first key the next group must own, or 0 after the top of the key space was reached. */
        private long nextLow;
        private boolean tiled = true;

        ModelWalk(int m, IndexModel model, long lowKey, long highKey, MemorySegment tables, long tablesUsed,
                  MemorySegment leafRegion, long leafLimit, IndexLayout layout, Map<Long, String> reached) {
            this.m = m;
            this.model = model;
            this.lowKey = lowKey;
            this.highKey = highKey;
            this.tables = tables;
            this.tablesUsed = tablesUsed;
            this.leafRegion = leafRegion;
            this.leafLimit = leafLimit;
            this.layout = layout;
            this.reached = reached;
            this.directory = readDirectory();
            this.nextLow = lowKey;
        }

        private boolean inTables(long offset, long bytes) {
            return offset >= 0 && offset + bytes <= tablesUsed;
        }

        private int[] readDirectory() {
            if (!model.hasDirectory() || !inTables(model.directoryOffset(), 4L * model.leafCount())) {
                return null;
            }
            int[] ranks = new int[model.leafCount()];
            for (int leaf = 0; leaf < ranks.length; leaf++) {
                ranks[leaf] = tables.get(WordOrder.INT_UNALIGNED, model.directoryOffset() + 4L * leaf);
                long rank = Integer.toUnsignedLong(ranks[leaf]);
                if ((leaf == 0 && rank != 0) || (leaf > 0 && rank < Integer.toUnsignedLong(ranks[leaf - 1])) || rank > model.keyCount()) {
                    violation("leaf rank directory broken: model=" + m + " group=" + leaf + " firstRank=" + rank
                            + (leaf > 0 ? " previousFirstRank=" + Integer.toUnsignedLong(ranks[leaf - 1]) : "")
                            + " keyCount=" + model.keyCount());
                }
            }
            return ranks;
        }

        void run() {
            if (!inTables(model.ltOffset(), 8L * model.leafCount())
                    || !inTables(model.sltOffset(), TablesDescriptor.SYNONYM_TABLE_BYTES)) {
                return; // reported by the placement check; nothing to walk
            }
            long usedSlots = WordOrder.getLong(tables, model.sltOffset() + TablesDescriptor.SYNONYM_USED_SLOTS_OFFSET);
            long claimed = Math.min(Math.max(0, usedSlots), TablesDescriptor.USABLE_SYNONYM_SLOTS);
            for (int g = 0; g < model.leafCount(); g++) {
                walkGroup(g, claimed);
            }
            if (tiled && nextLow != (highKey + 1)) {
                violation("model's groups do not reach its high key: model=" + m + " coveredBelow=" + key(nextLow)
                        + " highKey=" + key(highKey));
            }
            for (int slot = 1; slot < TablesDescriptor.SYNONYM_SLOTS; slot++) {
                long entry = slotEntry(slot);
                if (entry != 0 && slot > claimed) {
                    violation("synonym slot written beyond the used counter: model=" + m + " slot=" + slot
                            + " usedSlots=" + usedSlots + " entry=" + LeafTableEntry.toString(entry));
                } else if (entry != 0 && slotUser[slot] == null) {
                    violation("synonym slot on no chain: model=" + m + " slot=" + slot + " entry=" + LeafTableEntry.toString(entry));
                }
                if (LeafTableEntry.isLocked(entry)) {
                    violation("lock bit in a synonym slot: model=" + m + " slot=" + slot + " entry=" + LeafTableEntry.toString(entry));
                }
            }
        }

        private long slotEntry(int slot) {
            return WordOrder.getLong(tables, model.sltOffset() + TablesDescriptor.synonymSlotOffset(slot));
        }

        private void walkGroup(int g, long claimed) {
            groups++;
            long entry = WordOrder.getLong(tables, model.ltOffset() + 8L * g);
            String group = "model=" + m + " group=" + g;
            if (entry == LeafTableEntry.RETIRED) {
                violation("retired entry in a published model: " + group);
                tiled = false;
                return;
            }
            if (LeafTableEntry.isLocked(entry)) {
                violation("lock bit left set: " + group + " entry=" + LeafTableEntry.toString(entry));
            }
            long reference = LeafTableEntry.withSynonymSlot(LeafTableEntry.withoutLock(entry), LeafTableEntry.NO_SYNONYM);
            int tableSlot = LeafTableEntry.synonymSlot(entry);
            int position = 0;
            while (true) {
                String where = group + " position=" + position + " leaf=" + LeafTableEntry.leafNumber(reference)
                        + (position > 0 ? " slot=" + LeafTableEntry.synonymSlot(reference) : "");
                MemorySegment bytes = leafBytes(reference, where);
                if (bytes == null) {
                    tiled = false;
                    return;
                }
                long next = WordOrder.getLong(bytes, LeafDescriptor.NEXT_LEAF_OFFSET);
                if (!checkLeaf(bytes, g, position, where)) {
                    tiled = false;
                    return;
                }
                // The table chain must name the same next leaf, in the same slot, as the leaf's own link.
                if (next == 0) {
                    if (tableSlot != LeafTableEntry.NO_SYNONYM) {
                        violation("table chain goes on where the leaf chain ends: " + where + " tableSlot=" + tableSlot);
                    }
                    return;
                }
                int nextSlot = LeafTableEntry.synonymSlot(next);
                if (LeafTableEntry.isLocked(next)) {
                    violation("lock bit in a leaf's next link: " + where + " next=" + LeafTableEntry.toString(next));
                }
                if (LeafTableEntry.leafRegion(next) != IndexLayout.LOCAL_LEAF_REGION || LeafTableEntry.leafNumber(next) >= leafLimit) {
                    violation("dangling next link: " + where + " next=" + LeafTableEntry.toString(LeafTableEntry.withoutLock(next))
                            + " usedLeaves=" + leafLimit);
                    tiled = false;
                    return;
                }
                if (nextSlot == LeafTableEntry.NO_SYNONYM || nextSlot > claimed) {
                    violation("next link names a synonym slot not claimed: " + where + " nextSlot=" + nextSlot
                            + " claimedSlots=" + claimed);
                    tiled = false;
                    return;
                }
                if (tableSlot != nextSlot) {
                    violation("table chain and leaf chain disagree: " + where + " tableSlot=" + tableSlot + " leafLinkSlot=" + nextSlot);
                }
                long slotEntry = slotEntry(nextSlot);
                if (!LeafTableEntry.sameLeaf(slotEntry, next)) {
                    violation("synonym slot names another leaf than the link to it: " + where + " slot=" + nextSlot
                            + " slotLeaf=" + LeafTableEntry.leafNumber(slotEntry) + " linkLeaf=" + LeafTableEntry.leafNumber(next));
                }
                if (slotUser[nextSlot] != null) {
                    violation("synonym slot on two chains: model=" + m + " slot=" + nextSlot + " first=" + slotUser[nextSlot]
                            + " again=" + where);
                    tiled = false;
                    return;
                }
                slotUser[nextSlot] = where;
                tableSlot = LeafTableEntry.synonymSlot(slotEntry);
                reference = LeafTableEntry.withoutLock(next);
                position++;
            }
        }

        /** The leaf's bytes, if its reference names a leaf that exists and that nothing else reached. */
        private MemorySegment leafBytes(long reference, String where) {
            long number = LeafTableEntry.leafNumber(reference);
            int regionIndex = LeafTableEntry.leafRegion(reference);
            if (regionIndex != IndexLayout.LOCAL_LEAF_REGION) {
                violation("leaf in an unknown leaf region: " + where + " leafRegion=" + regionIndex);
                return null;
            }
            if (number >= leafLimit) {
                violation("dangling leaf reference: " + where + " leafNumber=" + number + " usedLeaves=" + leafLimit);
                return null;
            }
            String first = reached.putIfAbsent(number, where);
            if (first != null) {
                violation("leaf reached twice: leaf=" + number + " first=" + first + " again=" + where);
                return null;
            }
            leaves++;
            return leafRegion.asSlice(number * layout.leafBytes(), layout.leafBytes());
        }

        /** Checks one leaf; false if its contents cannot be trusted to go on along the chain. */
        private boolean checkLeaf(MemorySegment bytes, int g, int position, String where) {
            int capacity = layout.leafCapacity();
            boolean checksumValid;
            try {
                checksumValid = Leaf.decodeOrNull(bytes, capacity) != null;
            } catch (CorruptDataException corruptBehindValidChecksum) {
                checksumValid = true; // the checks below say what is wrong
            }
            if (!checksumValid) {
                violation("leaf checksum invalid: " + where);
                return false;
            }
            int storedCapacity = Short.toUnsignedInt(bytes.get(WordOrder.SHORT_UNALIGNED, LeafDescriptor.CAPACITY_OFFSET));
            int count = Short.toUnsignedInt(bytes.get(WordOrder.SHORT_UNALIGNED, LeafDescriptor.COUNT_OFFSET));
            if (storedCapacity != capacity || count > capacity) {
                violation("leaf count or capacity impossible: " + where + " count=" + count + " capacity=" + storedCapacity
                        + " indexCapacity=" + capacity);
                return false;
            }
            long low = WordOrder.getLong(bytes, LeafDescriptor.LOW_FENCE_OFFSET);
            long high = WordOrder.getLong(bytes, LeafDescriptor.HIGH_FENCE_OFFSET);
            long leafEpoch = WordOrder.getLong(bytes, LeafDescriptor.EPOCH_OFFSET);
            if (Long.compareUnsigned(leafEpoch, epoch) > 0) {
                violation("leaf epoch newer than the published models: " + where + " leafEpoch=" + leafEpoch + " epoch=" + epoch);
            }
            if (Long.compareUnsigned(low, high) > 0) {
                violation("leaf fences inverted: " + where + " lowFence=" + key(low) + " highFence=" + key(high));
            }
            checkTiling(low, high, position, where);
            keys += count;
            long previous = 0;
            for (int i = 0; i < count; i++) {
                long k = WordOrder.getLong(bytes, LeafDescriptor.keyOffset(i));
                if (i > 0 && Long.compareUnsigned(previous, k) >= 0) {
                    violation("keys unsorted: " + where + " index=" + i + " key=" + key(k) + " previousKey=" + key(previous));
                }
                if (Long.compareUnsigned(k, low) < 0 || Long.compareUnsigned(k, high) > 0) {
                    violation("key outside its leaf's fences: " + where + " index=" + i + " key=" + key(k)
                            + " lowFence=" + key(low) + " highFence=" + key(high));
                }
                checkPrediction(k, g, where);
                previous = k;
            }
            for (int i = count; i < capacity; i++) {
                long k = WordOrder.getLong(bytes, LeafDescriptor.keyOffset(i));
                if (k != 0) {
                    violation("key word beyond count not zero: " + where + " index=" + i + " count=" + count + " word=" + key(k));
                    break;
                }
            }
            return true;
        }

        /** The fences must continue exactly where the previous leaf (of this chain, group or model) stopped. */
        private void checkTiling(long low, long high, int position, String where) {
            if (!tiled) {
                return;
            }
            if (low != nextLow) {
                String what = Long.compareUnsigned(low, nextLow) < 0 ? "fences overlap" : "fence gap";
                violation(what + ": " + where + " lowFence=" + key(low) + " expectedLowFence=" + key(nextLow)
                        + (position > 0 ? " (within the chain)" : " (between groups)"));
                tiled = false;
                return;
            }
            if (Long.compareUnsigned(high, highKey) > 0) {
                violation("leaf fence beyond its model's range: " + where + " highFence=" + key(high) + " modelHighKey=" + key(highKey));
                tiled = false;
                return;
            }
            nextLow = high + 1;
        }

        /** A key must fall in a group its own model predicts for it, or no lookup finds it. */
        private void checkPrediction(long k, int g, String where) {
            if (Long.compareUnsigned(k, lowKey) < 0 || Long.compareUnsigned(k, highKey) > 0) {
                violation("key outside its model's range: " + where + " key=" + key(k) + " modelLowKey=" + key(lowKey)
                        + " modelHighKey=" + key(highKey));
                return;
            }
            if (model.hasDirectory() && directory == null) {
                return;
            }
            long candidates = model.candidateLeaves(k, directory);
            int first = IndexModel.firstOf(candidates);
            int last = IndexModel.lastOf(candidates);
            if (g < first || g > last) {
                violation("key outside its model's candidate groups: " + where + " key=" + key(k) + " candidates=["
                        + first + "," + last + "]");
            }
        }
    }
}
