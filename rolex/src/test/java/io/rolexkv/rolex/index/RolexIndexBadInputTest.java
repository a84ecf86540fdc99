package io.rolexkv.rolex.index;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.util.OptionalLong;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

@Timeout(60)
class RolexIndexBadInputTest {

    @Test
    void bulkLoadRejectsUnsortedAndDuplicateKeysNamingThem() {
        try (IndexFixture fixture = new IndexFixture("loopback", 8L << 20)) {
            IllegalArgumentException unsorted = assertThrows(IllegalArgumentException.class,
                    () -> RolexIndex.bulkLoad(fixture.connect(), IndexGeometry.DEFAULT, new long[] {1, 5, 3}, new long[3]));
            assertTrue(unsorted.getMessage().contains("unsorted at index=2 keys[1]=5 keys[2]=3"), unsorted.getMessage());
            IllegalArgumentException duplicate = assertThrows(IllegalArgumentException.class,
                    () -> RolexIndex.bulkLoad(fixture.connect(), IndexGeometry.DEFAULT, new long[] {1, 5, 5}, new long[3]));
            assertTrue(duplicate.getMessage().contains("duplicate at index=2"), duplicate.getMessage());
            IllegalArgumentException unsignedOrder = assertThrows(IllegalArgumentException.class,
                    () -> RolexIndex.bulkLoad(fixture.connect(), IndexGeometry.DEFAULT, new long[] {-1L, 5}, new long[2]));
            assertTrue(unsignedOrder.getMessage().contains("unsorted"), "keys are unsigned: 2^64-1 sorts last");
            assertThrows(IllegalStateException.class, () -> RolexIndex.open(fixture.connect()),
                    "nothing was published by the refused loads");
        }
    }

    @Test
    void aFullSynonymTableRefusesTheInsertClearlyAndTheIndexKeepsServing() {
        // One model, one leaf of 2: every insert into the full leaf needs a synonym leaf; 255 slots, then no room.
        IndexGeometry geometry = IndexGeometry.of(2, 1.0, 1).withEmptyIndexLeaves(1);
        try (IndexFixture fixture = new IndexFixture("loopback", 8L << 20)) {
            RolexIndex index = RolexIndex.createEmpty(fixture.connect(), geometry);
            long stored = 0;
            IndexFullException full = null;
            for (long key = 1; key < 10_000 && full == null; key++) {
                try {
                    index.put(key * 1000, key);
                    stored = key;
                } catch (IndexFullException e) {
                    full = e;
                }
            }
            assertTrue(full != null, "the synonym table must run out");
            assertTrue(full.getMessage().contains("no free synonym slot"), full.getMessage());
            assertTrue(full.getMessage().contains("nothing was stored"), full.getMessage());
            assertEquals(1, index.counters().insertsRejected());
            assertEquals(OptionalLong.empty(), index.get((stored + 1) * 1000), "the refused key is absent");
            for (long key = 1; key <= stored; key++) {
                assertEquals(OptionalLong.of(key), index.get(key * 1000), "stored key " + key);
            }
            assertEquals(stored, index.scan(0, -1L, Integer.MAX_VALUE).size());
            // Updates and deletes still work, and a delete makes room again in its leaf.
            assertEquals(PutOutcome.UPDATED, index.put(1000, -1));
            assertTrue(index.delete(2000));
            assertEquals(PutOutcome.INSERTED, index.put(2000, 2));
            RolexIndex other = RolexIndex.open(fixture.connect());
            assertEquals(OptionalLong.of(-1), other.get(1000));
        }
    }
}
