package io.rolexkv.rolex.index;

import io.rolexkv.common.fabric.CorruptDataException;
import io.rolexkv.common.fabric.WordOrder;
import io.rolexkv.rolex.layout.IndexMetaDescriptor;
import io.rolexkv.rolex.layout.LeafDescriptor;
import io.rolexkv.rolex.layout.LeafRegionDescriptor;
import io.rolexkv.rolex.layout.LeafTableEntry;
import io.rolexkv.rolex.layout.TablesDescriptor;
import io.rolexkv.rolex.leaf.Leaf;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

import java.lang.foreign.MemorySegment;
import java.util.function.UnaryOperator;
import java.util.zip.CRC32C;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The structure checker finds a grown index sound, and names each kind of breakage put into one on purpose, with
 * the checksum kept valid where the breakage is in the contents, so that only the invariants can catch it.
 */
@Timeout(60)
class IndexCheckerTest {
    /** Leaves of 8, 6 at load: a few inserts after the same keys make synonym chains. */
    private static final IndexGeometry GEOMETRY = IndexGeometry.of(8, 0.75, 4).withLeafAllocationChunk(4);
    private static final int LOADED = 2_000;
    private static final int INSERTED = 300;

    /** A bulk-loaded index grown by inserts until several groups have synonym chains, found sound. */
    private static final class Grown implements AutoCloseable {
        final IndexFixture node = new IndexFixture("loopback", 16L << 20);
        final RolexIndex index;
        final IndexModel model;
        /** A group of model 0 with a synonym chain, its LT entry as written, and the leaf its chain starts with. */
        final int group;
        final long entry;

        Grown() {
            long[] keys = new long[LOADED];
            for (int i = 0; i < keys.length; i++) {
                keys[i] = (i + 1) * 1_000L;
            }
            index = RolexIndex.bulkLoad(node.connect(), GEOMETRY, keys, keys.clone());
            for (int i = 0; i < INSERTED; i++) {
                index.put((i / 3 + 1) * 1_000L + 1 + i % 3, i); // three keys after each of the first hundred
            }
            model = index.cache().model(0);
            int found = -1;
            for (int g = 0; g < model.leafCount() && found < 0; g++) {
                if (LeafTableEntry.synonymSlot(ltEntry(g)) != LeafTableEntry.NO_SYNONYM) {
                    found = g;
                }
            }
            assertTrue(found >= 0, "the inserts made a synonym chain");
            group = found;
            entry = ltEntry(group);
        }

        MemorySegment tables() {
            return node.memory.segment(IndexLayout.TABLES_REGION);
        }

        long ltEntry(int g) {
            return WordOrder.getLong(tables(), model.ltOffset() + 8L * g);
        }

        void setLtEntry(int g, long value) {
            WordOrder.putLong(tables(), model.ltOffset() + 8L * g, value);
        }

        MemorySegment leaf(long reference) {
            return node.memory.segment(IndexLayout.LEAVES_REGION).asSlice(
                    LeafRegionDescriptor.leafOffset(LeafTableEntry.leafNumber(reference), GEOMETRY.leafBytes()), GEOMETRY.leafBytes());
        }

        Leaf decoded(long reference) {
            return Leaf.decodeOrNull(leaf(reference), GEOMETRY.leafCapacity());
        }

        /** The first synonym leaf of the chain: what the head leaf's next link names. */
        long secondReference() {
            return decoded(entry).nextLeaf();
        }

        /** Overwrites the leaf {@code reference} names with what {@code edit} makes of it, with a valid checksum. */
        void rewrite(long reference, UnaryOperator<Leaf> edit) {
            Leaf leaf = edit.apply(decoded(reference));
            MemorySegment.copy(MemorySegment.ofArray(leaf.encode()), 0, leaf(reference), 0, GEOMETRY.leafBytes());
        }

        IndexChecker.Report check() {
            return IndexChecker.check(node.connect());
        }

        @Override
        public void close() {
            node.close();
        }
    }

    @Test
    void aGrownIndexIsSoundAndHoldsEveryKey() {
        try (Grown grown = new Grown()) {
            IndexChecker.Report report = grown.check().requireSound();
            assertEquals(LOADED + INSERTED, report.keys(), report.toString());
            assertTrue(report.leaves() > report.groups(), "synonym leaves were walked: " + report);
            assertEquals(1, grown.index.cache().modelCount(), "evenly spread keys train one model: " + report);
        }
    }

    @Test
    void aNodeWithoutAnIndexIsReportedAsSuch() {
        try (IndexFixture node = new IndexFixture("loopback", 1L << 20)) {
            IndexChecker.Report report = IndexChecker.check(node.connect());
            assertFalse(report.sound());
            assertTrue(report.mentions("no published index"), report.toString());
            CorruptDataException thrown = assertThrows(CorruptDataException.class, report::requireSound);
            assertTrue(thrown.getMessage().contains("no published index"), thrown.getMessage());
        }
    }

    /** A way to break the structure, and the words of the violation it must be reported as. */
    enum Breakage {
        UNSORTED_KEYS_WITH_A_VALID_CHECKSUM("keys unsorted") {
            @Override
            void apply(Grown grown) {
                long head = grown.entry;
                MemorySegment leaf = grown.leaf(head);
                int count = Short.toUnsignedInt(leaf.get(WordOrder.SHORT_UNALIGNED, LeafDescriptor.COUNT_OFFSET));
                assertTrue(count >= 2, "count=" + count);
                long first = WordOrder.getLong(leaf, LeafDescriptor.keyOffset(0));
                WordOrder.putLong(leaf, LeafDescriptor.keyOffset(0), WordOrder.getLong(leaf, LeafDescriptor.keyOffset(1)));
                WordOrder.putLong(leaf, LeafDescriptor.keyOffset(1), first);
                reseal(leaf);
                CorruptDataException decoded = assertThrows(CorruptDataException.class,
                        () -> Leaf.decodeOrNull(leaf, GEOMETRY.leafCapacity()), "the checksum must pass so that only the order is wrong");
                assertTrue(decoded.getMessage().contains("unsorted"), decoded.getMessage());
            }
        },
        OVERLAPPING_FENCES("fences overlap") {
            @Override
            void apply(Grown grown) {
                long second = grown.secondReference();
                Leaf head = grown.decoded(grown.entry);
                // One key of its neighbour's range too: the head leaf's high fence.
                grown.rewrite(second, leaf -> withFences(leaf, head.highFence(), leaf.highFence()));
            }
        },
        STUCK_LOCK("lock bit left set") {
            @Override
            void apply(Grown grown) {
                grown.setLtEntry(grown.group + 1, LeafTableEntry.withLock(grown.ltEntry(grown.group + 1)));
            }
        },
        DANGLING_NEXT_LINK("dangling next link") {
            @Override
            void apply(Grown grown) {
                long beyond = WordOrder.getLong(grown.node.memory.segment(IndexLayout.LEAVES_REGION), LeafRegionDescriptor.USED_LEAVES_OFFSET) + 5;
                grown.rewrite(grown.secondReference(), leaf -> {
                    leaf.setNextLeaf(LeafTableEntry.of(IndexLayout.LOCAL_LEAF_REGION, 1, beyond));
                    return leaf;
                });
            }
        },
        TORN_LEAF("leaf checksum invalid") {
            @Override
            void apply(Grown grown) {
                MemorySegment leaf = grown.leaf(grown.secondReference());
                long offset = LeafDescriptor.valueOffset(GEOMETRY.leafCapacity(), 0);
                WordOrder.putLong(leaf, offset, WordOrder.getLong(leaf, offset) + 1);
            }
        },
        SYNONYM_COUNTER_BELOW_A_USED_SLOT("synonym slot not claimed") {
            @Override
            void apply(Grown grown) {
                WordOrder.putLong(grown.tables(), grown.model.sltOffset() + TablesDescriptor.SYNONYM_USED_SLOTS_OFFSET, 0);
            }
        },
        TABLE_CHAIN_DISAGREES_WITH_LEAF_LINKS("table chain and leaf chain disagree") {
            @Override
            void apply(Grown grown) {
                int slot = LeafTableEntry.synonymSlot(grown.entry);
                int other = slot == 1 ? 2 : 1;
                grown.setLtEntry(grown.group, LeafTableEntry.withSynonymSlot(grown.entry, other));
            }
        },
        LEAF_ON_TWO_GROUPS("leaf reached twice") {
            @Override
            void apply(Grown grown) {
                grown.setLtEntry(grown.group + 1, LeafTableEntry.withSynonymSlot(grown.entry, LeafTableEntry.NO_SYNONYM));
            }
        },
        KEY_BEYOND_THE_FENCES("key outside its leaf's fences") {
            @Override
            void apply(Grown grown) {
                // The head leaf's high fence drops below its last key, which stays: a writer that ignored the fences.
                Leaf head = grown.decoded(grown.entry);
                long lastKey = head.key(head.count() - 1);
                grown.rewrite(grown.entry, leaf -> withFences(leaf, leaf.lowFence(), lastKey - 1));
                MemorySegment leaf = grown.leaf(grown.entry);
                WordOrder.putLong(leaf, LeafDescriptor.keyOffset(head.count() - 1), lastKey);
                WordOrder.putLong(leaf, LeafDescriptor.valueOffset(GEOMETRY.leafCapacity(), head.count() - 1), head.value(head.count() - 1));
                leaf.set(WordOrder.SHORT_UNALIGNED, LeafDescriptor.COUNT_OFFSET, (short) head.count());
                reseal(leaf);
            }
        },
        MODEL_SET_PUBLISHED_WITH_ANOTHER_EPOCH("model set epoch differs") {
            @Override
            void apply(Grown grown) {
                MemorySegment meta = grown.node.memory.segment(IndexLayout.META_REGION);
                WordOrder.putLong(meta, IndexMetaDescriptor.MODEL_EPOCH_OFFSET, WordOrder.getLong(meta, IndexMetaDescriptor.MODEL_EPOCH_OFFSET) + 1);
            }
        };

        final String reported;

        Breakage(String reported) {
            this.reported = reported;
        }

        abstract void apply(Grown grown);
    }

    @ParameterizedTest
    @EnumSource(Breakage.class)
    void everyBreakageIsReportedNamingWhereItIs(Breakage breakage) {
        try (Grown grown = new Grown()) {
            grown.check().requireSound();
            breakage.apply(grown);
            IndexChecker.Report report = grown.check();
            assertFalse(report.sound(), breakage + " went unnoticed");
            assertTrue(report.mentions(breakage.reported), breakage + " must be reported as '" + breakage.reported + "': " + report);
            if (breakage != Breakage.MODEL_SET_PUBLISHED_WITH_ANOTHER_EPOCH && breakage != Breakage.SYNONYM_COUNTER_BELOW_A_USED_SLOT) {
                assertTrue(report.mentions("model=0 group="), "the report names the group: " + report);
            }
            assertThrows(CorruptDataException.class, report::requireSound);
        }
    }

    /** {@code leaf} with other fences: its keys inside them, its link and epoch. */
    private static Leaf withFences(Leaf leaf, long lowFence, long highFence) {
        Leaf moved = Leaf.empty(leaf.capacity(), lowFence, highFence);
        for (int i = 0; i < leaf.count(); i++) {
            if (moved.owns(leaf.key(i))) {
                moved.put(leaf.key(i), leaf.value(i));
            }
        }
        moved.setNextLeaf(leaf.nextLeaf());
        moved.setEpoch(leaf.epoch());
        return moved;
    }

    /**
     * Stores a fresh checksum in a leaf edited in place, as the leaf layout defines it (CRC32C of the leaf with the
     * checksum field as zero, mixed with Leaf's constant); the tests assert that {@link Leaf#decodeOrNull} accepts it.
     */
    static void reseal(MemorySegment leaf) {
        int leafBytes = (int) leaf.byteSize();
        CRC32C crc = new CRC32C();
        crc.update(leaf.asSlice(0, LeafDescriptor.CHECKSUM_OFFSET).asByteBuffer());
        crc.update(new byte[4]);
        crc.update(leaf.asSlice(LeafDescriptor.HEADER_BYTES, leafBytes - LeafDescriptor.HEADER_BYTES).asByteBuffer());
        leaf.set(WordOrder.INT_UNALIGNED, LeafDescriptor.CHECKSUM_OFFSET, (int) crc.getValue() ^ 0x5EAF_C0DE);
    }
}
