package io.rolexkv.rolex.leaf;

import io.rolexkv.rolex.layout.LeafDescriptor;
import org.junit.jupiter.api.Test;

import java.lang.foreign.MemorySegment;
import java.util.Map;
import java.util.Random;
import java.util.TreeMap;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class LeafTest {

    @Test
    void keepsKeysSortedUnsignedAgainstATreeMap() {
        Random random = new Random(42);
        Leaf leaf = Leaf.empty(64, 0, -1L);
        TreeMap<Long, Long> oracle = new TreeMap<>(Long::compareUnsigned);
        for (int step = 0; step < 10_000; step++) {
            long key = random.nextInt(100) * 0x0300_0000_0000_0001L; // spans both halves of unsigned space
            if (random.nextBoolean() && (oracle.containsKey(key) || oracle.size() < 64)) {
                long value = random.nextLong();
                leaf.put(key, value);
                oracle.put(key, value);
            } else {
                assertEquals(oracle.remove(key) != null, leaf.remove(key));
            }
            assertEquals(oracle.size(), leaf.count());
        }
        int i = 0;
        for (Map.Entry<Long, Long> entry : oracle.entrySet()) {
            assertEquals(entry.getKey(), leaf.key(i));
            assertEquals(entry.getValue(), leaf.value(i));
            i++;
        }
    }

    @Test
    void encodeDecodeRoundTrips() {
        Leaf leaf = Leaf.empty(16, 100, 900);
        for (long key = 100; key < 900; key += 60) {
            leaf.put(key, key * 3);
        }
        leaf.setNextLeaf(0x0005_0000_0000_0042L);
        leaf.bumpVersion();
        byte[] bytes = leaf.encode();
        assertEquals(LeafDescriptor.leafBytes(16), bytes.length);
        Leaf decoded = Leaf.decodeOrNull(MemorySegment.ofArray(bytes), 16);
        assertNotNull(decoded);
        assertEquals(leaf.toString(), decoded.toString());
        assertEquals(1, decoded.version());
    }

    @Test
    void checksumCatchesEveryFlippedByteAndUnwrittenMemory() {
        Leaf leaf = Leaf.empty(8, 0, 1000);
        leaf.put(7, 70);
        leaf.put(9, 90);
        byte[] bytes = leaf.encode();
        for (int i = 0; i < bytes.length; i++) {
            byte[] flipped = bytes.clone();
            flipped[i] ^= 0x10;
            assertNull(Leaf.decodeOrNull(MemorySegment.ofArray(flipped), 8), "flip at byte " + i);
        }
        assertNull(Leaf.decodeOrNull(MemorySegment.ofArray(new byte[bytes.length]), 8), "all-zero memory is not a leaf");
    }

    @Test
    void checksumCatchesAMixOfTwoVersions() {
        Leaf older = Leaf.empty(32, 0, -1L);
        for (int k = 0; k < 20; k++) {
            older.put(k * 10, k);
        }
        Leaf newer = Leaf.decodeOrNull(MemorySegment.ofArray(older.encode()), 32);
        newer.put(55, 555);
        newer.bumpVersion();
        byte[] a = older.encode();
        byte[] b = newer.encode();
        for (int cut = 8; cut < a.length; cut += 8) {
            byte[] mixed = a.clone();
            System.arraycopy(b, cut, mixed, cut, a.length - cut);
            boolean aWrittenState = java.util.Arrays.equals(mixed, a) || java.util.Arrays.equals(mixed, b);
            if (!aWrittenState) {
                assertNull(Leaf.decodeOrNull(MemorySegment.ofArray(mixed), 32), "torn at word " + cut / 8);
            }
        }
    }

    /**
     * A write sends only the changed words; applied to the image it was read with, they must give exactly the new
     * leaf, and every mix of old and new words a concurrent READ could see must fail the checksum.
     */
    @Test
    void changedWordsRebuildTheNewLeafAndEveryMixOfThemIsCaught() {
        Random random = new Random(11);
        for (int round = 0; round < 300; round++) {
            Leaf original = Leaf.empty(32, 0, -1L);
            for (int k = 0; k < 24; k++) {
                original.put(k * 1_000L + random.nextInt(1_000), random.nextLong());
            }
            original.bumpVersion();
            Leaf leaf = Leaf.decodeOrNull(MemorySegment.ofArray(original.encode()), 32);
            byte[] before = leaf.decodedImage().clone();
            int operation = random.nextInt(3);
            long key = operation == 0 ? leaf.key(random.nextInt(leaf.count())) : random.nextInt(30_000);
            if (operation == 2) {
                leaf.remove(leaf.key(random.nextInt(leaf.count())));
            } else {
                leaf.put(key, random.nextLong());
            }
            leaf.bumpVersion();
            byte[] after = leaf.encode();
            long[] runs = Leaf.changedWordRuns(before, after);
            byte[] applied = before.clone();
            int changedWords = 0;
            for (long run : runs) {
                int offset = (int) (run >>> 32);
                System.arraycopy(after, offset, applied, offset, (int) run);
                changedWords += (int) run / 8;
            }
            assertTrue(java.util.Arrays.equals(after, applied), "the runs rebuild the new image");
            if (operation == 0) {
                assertEquals(3, runs.length, "an update writes the value, the version and the checksum word");
                assertEquals(3, changedWords);
            }
            // Mixes of the changed words: all of them for an update, a random sample otherwise.
            int[] words = new int[changedWords];
            int w = 0;
            for (long run : runs) {
                for (int offset = (int) (run >>> 32); offset < (int) (run >>> 32) + (int) run; offset += 8) {
                    words[w++] = offset;
                }
            }
            int mixes = words.length <= 10 ? (1 << words.length) - 1 : 2_000;
            for (int mix = 1; mix < mixes; mix++) {
                long pick = words.length <= 10 ? mix : random.nextLong();
                byte[] mixed = before.clone();
                for (int i = 0; i < words.length; i++) {
                    if ((pick >>> (i % 64) & 1) != 0) {
                        System.arraycopy(after, words[i], mixed, words[i], 8);
                    }
                }
                if (!java.util.Arrays.equals(mixed, before) && !java.util.Arrays.equals(mixed, after)) {
                    assertNull(Leaf.decodeOrNull(MemorySegment.ofArray(mixed), 32), "a mix of old and new words passed");
                }
            }
        }
    }

    @Test
    void searchesAnImageInPlaceAsTheDecodedLeafDoes() {
        Random random = new Random(12);
        Leaf leaf = Leaf.empty(32, 0, -1L);
        while (leaf.count() < 20) {
            leaf.put(random.nextLong(), random.nextLong());
        }
        byte[] image = leaf.encode();
        assertTrue(Leaf.isIntact(image, image.length, new java.util.zip.CRC32C()));
        assertEquals(20, Leaf.checkedCount(image, 32));
        for (int i = 0; i < 20; i++) {
            assertEquals(i, Leaf.find(image, 20, leaf.key(i)));
            assertEquals(leaf.value(i), LeafDescriptor.value(image, 32, i));
        }
        for (int probe = 0; probe < 1_000; probe++) {
            long key = random.nextLong();
            assertEquals(leaf.find(key), Leaf.find(image, 20, key));
        }
    }

    @Test
    void splitMovesTheUpperHalfAndPartitionsTheFences() {
        Leaf left = Leaf.empty(8, 10, 500);
        for (long key = 20; key <= 90; key += 10) {
            left.put(key, key);
        }
        assertTrue(left.isFull());
        left.setNextLeaf(77);
        Leaf right = new Leaf(8);
        left.splitInto(right);
        assertEquals(4, left.count());
        assertEquals(4, right.count());
        assertEquals(10, left.lowFence());
        assertEquals(59, left.highFence());
        assertEquals(60, right.lowFence());
        assertEquals(500, right.highFence());
        assertEquals(77, right.nextLeaf(), "the new leaf takes over the old link");
        assertEquals(60, right.key(0));
    }

    @Test
    void refusesKeysOutsideItsFences() {
        Leaf leaf = Leaf.empty(8, 10, 20);
        assertThrows(IllegalArgumentException.class, () -> leaf.put(21, 0));
        assertThrows(IllegalArgumentException.class, () -> leaf.put(9, 0));
    }
}
