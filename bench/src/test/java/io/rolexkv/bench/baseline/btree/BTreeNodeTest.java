package io.rolexkv.bench.baseline.btree;

import io.rolexkv.common.fabric.CorruptDataException;
import io.rolexkv.common.fabric.WordOrder;
import org.junit.jupiter.api.Test;

import java.lang.foreign.MemorySegment;
import java.util.Arrays;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The node codec and its torn-read rule: whatever mix of an old and a new node image a READ returns, at the fabric's
 * 8-byte granularity and in any order, the decoder gives the old node, the new node, or "torn" (never a third state).
 */
class BTreeNodeTest {
    private static final int CAPACITY = BTreeOptions.DEFAULT.capacity();
    private static final long NODE = 77;

    private static BTreeNode fullLeaf(Random random) {
        BTreeNode leaf = BTreeNode.leaf(CAPACITY, 1_000, 1_000_000, 78, 5);
        for (int slot = 0; slot < CAPACITY; slot++) {
            leaf.setEntry(slot, 1_000 + slot * 20_000L + random.nextInt(20_000), random.nextLong()); // distinct keys
        }
        return leaf;
    }

    @Test
    void leafAndInternalNodesRoundTrip() {
        Random random = new Random(1);
        BTreeNode leaf = BTreeNode.leaf(CAPACITY, 1_000, 1_000_000, 78, 5);
        leaf.setEntry(3, 5_000, -7);
        leaf.setEntry(9, 2_000, 11);
        byte[] encoded = leaf.encode(NODE);
        BTreeNode decoded = BTreeNode.decodeOrNull(MemorySegment.ofArray(encoded), NODE, CAPACITY);
        assertNotNull(decoded);
        assertArrayEquals(encoded, decoded.encode(NODE));
        assertEquals(2, decoded.count());
        assertEquals(9, decoded.findSlot(2_000));
        assertEquals(-7, decoded.value(decoded.findSlot(5_000)));
        assertEquals(-1, decoded.findSlot(5_001));
        assertArrayEquals(new long[] {2_000, 5_000}, decoded.sortedEntries()[0]);

        BTreeNode internal = BTreeNode.internal(CAPACITY, 2, 0, -1L, 0, 9);
        for (int i = 0; i < 10; i++) {
            internal.insertSeparator(i == 0 ? 0 : random.nextLong() >>> 1, 100 + i);
        }
        BTreeNode internalDecoded = BTreeNode.decodeOrNull(MemorySegment.ofArray(internal.encode(NODE)), NODE, CAPACITY);
        assertNotNull(internalDecoded);
        assertArrayEquals(internal.encode(NODE), internalDecoded.encode(NODE));
        for (int i = 1; i < internalDecoded.count(); i++) {
            assertTrue(Long.compareUnsigned(internalDecoded.key(i - 1), internalDecoded.key(i)) < 0, "sorted separators");
        }
        assertEquals(internalDecoded.value(0), internalDecoded.childFor(internalDecoded.key(1) - 1));
        assertEquals(internalDecoded.value(1), internalDecoded.childFor(internalDecoded.key(1)));
    }

    @Test
    void memoryNeverWrittenAndAnotherNodesBytesAreRejected() {
        assertNull(BTreeNode.decodeOrNull(MemorySegment.ofArray(new byte[BTreeOptions.DEFAULT.nodeBytes()]), NODE, CAPACITY));
        byte[] encoded = fullLeaf(new Random(2)).encode(NODE);
        assertNull(BTreeNode.decodeOrNull(MemorySegment.ofArray(encoded), NODE + 1, CAPACITY),
                "the check words bind a node's bytes to its number");
    }

    @Test
    void everyMixOfAnInPlaceEntryWriteIsOldNewOrTorn() {
        Random random = new Random(3);
        BTreeNode leaf = fullLeaf(random);
        byte[] before = leaf.encode(NODE);
        int slot = 17;
        long key = leaf.key(slot);
        leaf.setEntry(slot, key, 12345); // an update: only the value and check words change
        byte[] afterUpdate = leaf.encode(NODE);
        leaf.clearEntry(slot); // then a delete
        byte[] afterDelete = leaf.encode(NODE);
        int offset = BTreeNodeDescriptor.entryOffset(slot);
        for (byte[][] pair : new byte[][][] {{before, afterUpdate}, {afterUpdate, afterDelete}, {afterDelete, before}}) {
            for (int mask = 0; mask < 8; mask++) {
                byte[] mixed = pair[0].clone();
                for (int word = 0; word < 3; word++) {
                    if ((mask & 1 << word) != 0) {
                        System.arraycopy(pair[1], offset + 8 * word, mixed, offset + 8 * word, 8);
                    }
                }
                assertOldNewOrTorn(mixed, pair[0], pair[1]);
            }
        }
    }

    @Test
    void randomMixesOfASplitRewriteAreOldNewOrTorn() {
        Random random = new Random(4);
        int detected = 0;
        int mixes = 0;
        for (int round = 0; round < 200; round++) {
            BTreeNode full = fullLeaf(random);
            long extra;
            do {
                extra = 1_000 + random.nextInt(999_000);
            } while (full.findSlot(extra) >= 0);
            byte[] before = full.encode(NODE);
            byte[] after = full.splitWith(extra, 1, 99).left().encode(NODE);
            for (int mix = 0; mix < 100; mix++) {
                byte[] mixed = switch (mix % 3) {
                    case 0 -> mixWords(before, after, random);
                    case 1 -> mixUnits(before, after, random);
                    default -> mixRuns(before, after, random);
                };
                mixes++;
                if (assertOldNewOrTorn(mixed, before, after) == null) {
                    detected++;
                }
            }
        }
        assertTrue(detected > mixes * 9 / 10, "nearly every mix of a split is torn: detected=" + detected + " of " + mixes);
    }

    /** Each word (the lock word aside: no check covers it) from the new image with one random probability. */
    private static byte[] mixWords(byte[] before, byte[] after, Random random) {
        byte[] mixed = before.clone();
        double newShare = random.nextDouble();
        for (int word = 1; word < before.length / 8; word++) {
            if (random.nextDouble() < newShare) {
                System.arraycopy(after, 8 * word, mixed, 8 * word, 8);
            }
        }
        return mixed;
    }

    /** Whole units (the header, each entry) from one image or the other: each unit checks, only versions differ. */
    private static byte[] mixUnits(byte[] before, byte[] after, Random random) {
        byte[] mixed = before.clone();
        if (random.nextBoolean()) {
            System.arraycopy(after, BTreeNodeDescriptor.BODY_OFFSET, mixed, BTreeNodeDescriptor.BODY_OFFSET,
                    BTreeNodeDescriptor.HEADER_BYTES - BTreeNodeDescriptor.BODY_OFFSET);
        }
        for (int slot = 0; slot < CAPACITY; slot++) {
            if (random.nextBoolean()) {
                int offset = BTreeNodeDescriptor.entryOffset(slot);
                System.arraycopy(after, offset, mixed, offset, BTreeNodeDescriptor.ENTRY_BYTES);
            }
        }
        return mixed;
    }

    /** A WRITE torn as the fabric tears it: cut at word boundaries into runs, some runs landed. */
    private static byte[] mixRuns(byte[] before, byte[] after, Random random) {
        byte[] mixed = before.clone();
        int words = before.length / 8;
        int start = 1;
        while (start < words) {
            int end = Math.min(words, start + 1 + random.nextInt(words / 2));
            if (random.nextBoolean()) {
                System.arraycopy(after, 8 * start, mixed, 8 * start, 8 * (end - start));
            }
            start = end;
        }
        return mixed;
    }

    @Test
    void splitHalvesPartitionTheKeysAndLinkInOrder() {
        Random random = new Random(5);
        BTreeNode full = fullLeaf(random);
        long extra = 999_999;
        full.splitWith(extra, 1, 99); // the node itself is left unchanged by a split
        assertTrue(full.isFull());
        long[] everyKey = new long[CAPACITY + 1];
        System.arraycopy(full.sortedEntries()[0], 0, everyKey, 0, CAPACITY);
        everyKey[CAPACITY] = extra;
        Arrays.sort(everyKey);
        BTreeNode.Split split = full.splitWith(extra, 1, 99);
        assertEquals(everyKey[(CAPACITY + 1) / 2], split.separator());
        assertEquals(full.lowFence(), split.left().lowFence());
        assertEquals(split.separator() - 1, split.left().highFence());
        assertEquals(99, split.left().sibling());
        assertEquals(split.separator(), split.right().lowFence());
        assertEquals(full.highFence(), split.right().highFence());
        assertEquals(full.sibling(), split.right().sibling());
        assertEquals(CAPACITY + 1, split.left().count() + split.right().count());
        assertEquals(full.version() + 1, split.left().version());
        long[] joined = new long[CAPACITY + 1];
        System.arraycopy(split.left().sortedEntries()[0], 0, joined, 0, split.left().count());
        System.arraycopy(split.right().sortedEntries()[0], 0, joined, split.left().count(), split.right().count());
        assertArrayEquals(everyKey, joined);
    }

    @Test
    void aConsistentNodeThatBreaksTheLayoutIsCorruptionNotTearing() {
        BTreeNode leaf = BTreeNode.leaf(CAPACITY, 0, 100, 5, 1);
        byte[] encoded = leaf.encode(NODE);
        BTreeNode rightmost = BTreeNode.leaf(CAPACITY, 0, -1L, 5, 1); // owns the top key yet has a sibling
        CorruptDataException corrupt = assertThrows(CorruptDataException.class,
                () -> BTreeNode.decodeOrNull(MemorySegment.ofArray(rightmost.encode(NODE)), NODE, CAPACITY));
        assertTrue(corrupt.getMessage().contains("corrupt btree node=77"), corrupt.getMessage());
        assertNotNull(BTreeNode.decodeOrNull(MemorySegment.ofArray(encoded), NODE, CAPACITY));
    }

    /** Returns the decoded node, or null when torn; fails if the decoder accepted a state that is neither image. */
    private static BTreeNode assertOldNewOrTorn(byte[] mixed, byte[] before, byte[] after) {
        BTreeNode decoded = BTreeNode.decodeOrNull(MemorySegment.ofArray(mixed), NODE, CAPACITY);
        if (decoded != null) {
            byte[] reencoded = decoded.encode(NODE);
            assertTrue(Arrays.equals(reencoded, before) || Arrays.equals(reencoded, after),
                    "a mix decoded to a state that was never written");
            assertEquals(0, WordOrder.getLong(reencoded, 0));
        }
        return decoded;
    }
}
