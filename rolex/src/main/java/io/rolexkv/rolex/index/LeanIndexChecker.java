package io.rolexkv.rolex.index;

import io.rolexkv.common.fabric.CorruptDataException;
import io.rolexkv.common.fabric.FabricConnection;
import io.rolexkv.common.fabric.WordOrder;
import io.rolexkv.rolex.layout.GroupWord;
import io.rolexkv.rolex.layout.LeafRegionDescriptor;
import io.rolexkv.rolex.layout.LeafTableEntry;
import io.rolexkv.rolex.layout.TablesDescriptor;
import io.rolexkv.rolex.leaf.Leaf;

import java.lang.foreign.MemorySegment;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;

/**
 * Walks every structure of a lean index ({@link LeanIndex}) on one memory node and reports each invariant it finds
 * broken:
 * <ul>
 *   <li>models: the first owns from key 0, low keys strictly ascending; blocks inside the tables region's used part,
 *       not overlapping; a group count that matches the key count and group size;</li>
 *   <li>group words: no lock (a quiescent index holds none), not retired, no deleted bit beyond the group's entries;</li>
 *   <li>base: keys strictly ascending within and across models, each at or above its model's low key and below the
 *       next model's; every base key within its model's error bound of its prediction, so its lookup window holds it;</li>
 *   <li>delta chains: every leaf intact (checksum), of the index's capacity, epoch no newer than the published one,
 *       keys ascending inside its fences, fences ascending along the chain, each key inside its group's range (at or
 *       above the group's first base key, below the next group's) and equal to no base key; every leaf reached once,
 *       numbered below the leaf region's counter; the model's SLT counter at least its delta leaves.</li>
 * </ul>
 * Only meaningful on a quiescent index. Reads only.
 */
public final class LeanIndexChecker {
    private final List<String> violations = new ArrayList<>();
    private long keys;
    private long deltaLeaves;

    /** What a check found. */
    public record Report(List<String> violations, long models, long keys, long deltaLeaves) {
        public boolean sound() {
            return violations.isEmpty();
        }

        public Report requireSound() {
            if (!sound()) {
                throw new CorruptDataException("lean index breaks " + violations.size() + " invariants:\n  "
                        + String.join("\n  ", violations.subList(0, Math.min(50, violations.size()))));
            }
            return this;
        }
    }

    private LeanIndexChecker() {
    }

    public static Report check(FabricConnection connection) {
        return new LeanIndexChecker().run(connection);
    }

    private void violation(String message) {
        violations.add(message);
    }

    private Report run(FabricConnection connection) {
        LeanIndex index = LeanIndex.open(connection);
        IndexLoader.Meta meta = IndexLoader.readMeta(connection);
        IndexLayout layout = new IndexLayout(connection, meta.leafCapacity());
        MemorySegment set = IndexLoader.readBytes(connection, layout.modelsAddress(meta.modelSetOffset()), meta.modelSetBytes());
        List<LeanModel> records = IndexLoader.decodeModelSet(set, meta.epoch());
        MemorySegment regionHeader = IndexLoader.readBytes(connection, layout.leavesAddress(0), LeafRegionDescriptor.HEADER_BYTES);
        long usedLeaves = WordOrder.getLong(regionHeader, LeafRegionDescriptor.USED_LEAVES_OFFSET);
        long tablesUsed = IndexLoader.readBytes(connection, layout.metaAddress(io.rolexkv.rolex.layout.IndexMetaDescriptor.TABLES_USED_OFFSET), 8)
                .get(WordOrder.LONG_UNALIGNED, 0);
        Set<Long> leavesSeen = new HashSet<>();
        TreeMap<Long, Long> blocks = new TreeMap<>(); // offset -> end, of the models checked so far
        boolean anyBaseKey = false;
        long previousBaseKey = 0;
        for (int m = 0; m < records.size(); m++) {
            LeanModel model = records.get(m);
            String where = "model=" + m;
            if (m == 0 && model.lowKey() != 0) {
                violation(where + " the first model owns from lowKey=" + Long.toUnsignedString(model.lowKey()) + ", not 0");
            }
            long highKey = m + 1 < records.size() ? records.get(m + 1).lowKey() - 1 : -1L;
            if (m + 1 < records.size() && Long.compareUnsigned(records.get(m + 1).lowKey(), model.lowKey()) <= 0) {
                violation(where + " low keys not ascending");
            }
            long blockEnd = model.blockOffset() + model.blockBytes();
            Map.Entry<Long, Long> below = blocks.floorEntry(model.blockOffset());
            Map.Entry<Long, Long> above = blocks.ceilingEntry(model.blockOffset());
            boolean overlaps = (below != null && below.getValue() > model.blockOffset())
                    || (above != null && above.getKey() < blockEnd);
            if (overlaps || blockEnd > tablesUsed) {
                violation(where + " block [" + model.blockOffset() + "," + (model.blockOffset() + model.blockBytes())
                        + ") overlaps another or passes tablesUsed=" + tablesUsed);
            }
            blocks.put(model.blockOffset(), blockEnd);
            MemorySegment block = IndexLoader.readBytes(connection, layout.tablesAddress(model.blockOffset()), model.blockBytes());
            long[] base = new long[model.keyCount()];
            for (int rank = 0; rank < model.keyCount(); rank++) {
                long key = WordOrder.getLong(block, model.baseEntryOffset(rank) - model.blockOffset());
                base[rank] = key;
                if (anyBaseKey && Long.compareUnsigned(key, previousBaseKey) <= 0) {
                    violation(where + " rank=" + rank + " base keys not strictly ascending at key=" + Long.toUnsignedString(key));
                }
                if (Long.compareUnsigned(key, model.lowKey()) < 0 || Long.compareUnsigned(key, highKey) > 0) {
                    violation(where + " rank=" + rank + " base key=" + Long.toUnsignedString(key) + " outside the model's keys");
                }
                long window = model.window(key);
                if (rank < LeanModel.firstOf(window) || rank > LeanModel.lastOf(window)) {
                    violation(where + " rank=" + rank + " base key=" + Long.toUnsignedString(key)
                            + " outside its lookup window [" + LeanModel.firstOf(window) + "," + LeanModel.lastOf(window) + "]");
                }
                anyBaseKey = true;
                previousBaseKey = key;
            }
            long slotsUsed = WordOrder.getLong(block, model.synonymTableOffset() - model.blockOffset());
            int modelDeltaLeaves = 0;
            for (int g = 0; g < model.groupCount(); g++) {
                String group = where + " group=" + g;
                long word = WordOrder.getLong(block, model.groupOffset(g) - model.blockOffset());
                long head = WordOrder.getLong(block, model.groupOffset(g) - model.blockOffset() + TablesDescriptor.DELTA_HEAD_OFFSET);
                int entries = model.groupEndRank(g) - model.groupFirstRank(g);
                if (word == GroupWord.RETIRED) {
                    violation(group + " retired in a published model");
                    continue;
                }
                if (GroupWord.isLocked(word)) {
                    violation(group + " is locked");
                }
                if ((GroupWord.withoutLock(word) & ~GroupWord.allDeleted(entries)) != 0) {
                    violation(group + " has bits beyond its " + entries + " entries: " + GroupWord.toString(word));
                }
                for (int i = 0; i < entries; i++) {
                    keys += GroupWord.isDeleted(word, i) ? 0 : 1;
                }
                long groupLow = g == 0 ? model.lowKey() : base[model.groupFirstRank(g)];
                long groupHigh = model.groupEndRank(g) < model.keyCount() ? base[model.groupEndRank(g)] - 1 : highKey;
                long reference = head;
                long previousHigh = 0;
                boolean anyLeaf = false;
                for (int steps = 0; reference != 0; steps++) {
                    if (steps > TablesDescriptor.USABLE_SYNONYM_SLOTS) {
                        violation(group + " delta chain longer than the SLT");
                        break;
                    }
                    long leafNumber = LeafTableEntry.leafNumber(reference);
                    String leafWhere = group + " leaf=" + leafNumber;
                    if (LeafTableEntry.isLocked(reference) || leafNumber >= usedLeaves) {
                        violation(leafWhere + " bad reference " + LeafTableEntry.toString(reference) + " usedLeaves=" + usedLeaves);
                        break;
                    }
                    if (!leavesSeen.add(leafNumber)) {
                        violation(leafWhere + " reached twice");
                        break;
                    }
                    Leaf leaf = Leaf.decodeOrNull(IndexLoader.readBytes(connection, layout.leafAddress(reference), layout.leafBytes()),
                            layout.leafCapacity());
                    if (leaf == null) {
                        violation(leafWhere + " fails its checksum");
                        break;
                    }
                    modelDeltaLeaves++;
                    if (leaf.epoch() > meta.epoch()) {
                        violation(leafWhere + " epoch=" + leaf.epoch() + " newer than the published " + meta.epoch());
                    }
                    if (anyLeaf && Long.compareUnsigned(leaf.lowFence(), previousHigh) <= 0) {
                        violation(leafWhere + " fences not ascending along the chain");
                    }
                    for (int k = 0; k < leaf.count(); k++) {
                        long key = leaf.key(k);
                        if (!leaf.owns(key)) {
                            violation(leafWhere + " key=" + Long.toUnsignedString(key) + " outside its fences");
                        }
                        if (Long.compareUnsigned(key, groupLow) < 0 || Long.compareUnsigned(key, groupHigh) > 0) {
                            violation(leafWhere + " key=" + Long.toUnsignedString(key) + " outside its group ["
                                    + Long.toUnsignedString(groupLow) + "," + Long.toUnsignedString(groupHigh) + "]");
                        }
                        if (isBaseKey(base, key)) {
                            violation(leafWhere + " key=" + Long.toUnsignedString(key) + " is also a base key");
                        }
                        keys++;
                    }
                    anyLeaf = true;
                    previousHigh = leaf.highFence();
                    reference = leaf.nextLeaf();
                }
            }
            deltaLeaves += modelDeltaLeaves;
            if (Math.min(slotsUsed, TablesDescriptor.USABLE_SYNONYM_SLOTS) < modelDeltaLeaves) {
                violation(where + " SLT counter=" + slotsUsed + " below its delta leaves=" + modelDeltaLeaves);
            }
        }
        if (index.modelCount() != records.size()) {
            violation("an opened index sees models=" + index.modelCount() + " of " + records.size());
        }
        return new Report(violations, records.size(), keys, deltaLeaves);
    }

    /** Whether {@code key} is among the unsigned-sorted {@code base} keys. */
    private static boolean isBaseKey(long[] base, long key) {
        return base.length > 0 && base[io.rolexkv.rolex.model.UnsignedKeys.floorIndex(base, key)] == key;
    }
}
