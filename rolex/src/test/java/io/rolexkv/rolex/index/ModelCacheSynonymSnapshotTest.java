package io.rolexkv.rolex.index;

import io.rolexkv.rolex.layout.LeafTableEntry;
import io.rolexkv.rolex.layout.ModelRecordDescriptor;
import io.rolexkv.rolex.layout.TablesDescriptor;
import org.junit.jupiter.api.Test;

import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;

/** The cache keeps an SLT snapshot only as long as the slots a model has used, not the whole 2 KiB table. */
class ModelCacheSynonymSnapshotTest {
    private static final int LEAVES = 4;
    private static final long BARE_BYTES = ModelRecordDescriptor.RECORD_BYTES + 8L * LEAVES;

    private static IndexModel model() {
        return new IndexModel(0, 0, 0.01, 0, 100, 0, LEAVES, 24, 16, 8L * LEAVES, ModelRecordDescriptor.NO_DIRECTORY);
    }

    private static long[] leafTable(int firstSynonymSlot) {
        long[] table = new long[LEAVES];
        for (int leaf = 0; leaf < LEAVES; leaf++) {
            table[leaf] = LeafTableEntry.of(0, leaf == 0 ? firstSynonymSlot : 0, leaf);
        }
        return table;
    }

    @Test
    void aModelWithoutSynonymLeavesCachesNoSnapshot() {
        ModelCache cache = new ModelCache(1, List.of(new ModelCache.CachedModel(model(), leafTable(0),
                new long[TablesDescriptor.SYNONYM_SLOTS], null)));
        assertEquals(BARE_BYTES, cache.bytes());
        assertEquals(0, cache.synonymEntry(0, 200));
    }

    @Test
    void aSnapshotAsReadKeepsOnlyTheUsedSlotsAndTheirEntries() {
        long[] slt = new long[TablesDescriptor.SYNONYM_SLOTS];
        slt[0] = 3; // the used-slot counter
        slt[1] = LeafTableEntry.of(0, 2, 100);
        slt[2] = LeafTableEntry.of(0, 3, 101);
        slt[3] = LeafTableEntry.of(0, 0, 102);
        ModelCache cache = new ModelCache(1, List.of(new ModelCache.CachedModel(model(), leafTable(1), slt, null)));
        assertEquals(BARE_BYTES + 8L * 8, cache.bytes(), "three used slots cache one 8-word snapshot");
        for (int slot = 1; slot <= 3; slot++) {
            assertEquals(slt[slot], cache.synonymEntry(0, slot));
        }
        assertEquals(0, cache.synonymEntry(0, 9), "a slot beyond the snapshot is unknown, not an error");
    }

    @Test
    void learningAHigherSlotGrowsTheSnapshotAndKeepsWhatWasKnown() {
        long[] slt = new long[TablesDescriptor.SYNONYM_SLOTS];
        slt[1] = LeafTableEntry.of(0, 0, 100);
        ModelCache cache = new ModelCache(1, List.of(new ModelCache.CachedModel(model(), leafTable(1), slt, null)));
        long next = LeafTableEntry.of(0, 20, 120); // the leaf after slot 1's leaf sits in slot 20
        cache.learnLink(0, 0, 1, next);
        assertEquals(BARE_BYTES + 8L * 32, cache.bytes(), "slot 20 needs a 32-word snapshot");
        assertEquals(LeafTableEntry.of(0, 20, 100), cache.synonymEntry(0, 1), "slot 1 now links to slot 20");
        assertEquals(LeafTableEntry.of(0, 0, 120), cache.synonymEntry(0, 20));
        cache.learnLink(0, 0, 20, LeafTableEntry.of(0, 254, 130));
        assertEquals(BARE_BYTES + 8L * TablesDescriptor.SYNONYM_SLOTS, cache.bytes(), "the last slot needs the whole SLT");
        assertEquals(LeafTableEntry.of(0, 0, 130), cache.synonymEntry(0, 254));
        assertEquals(LeafTableEntry.of(0, 20, 100), cache.synonymEntry(0, 1));
    }
}
