package io.rolexkv.rolex.layout;

import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class LeafTableEntryTest {

    @Test
    void fieldsSitWhereThePaperPutsThem() {
        long entry = LeafTableEntry.of(0x7F, 0xFF, LeafTableEntry.MAX_LEAF_NUMBER);
        assertEquals(0x7FFF_FFFF_FFFF_FFFFL, entry, "all fields but the lock fill the low 63 bits");
        assertTrue(LeafTableEntry.isLocked(LeafTableEntry.LOCK_BIT | entry), "the lock bit is bit 63");
        assertEquals(0x0100_0000_0000_0000L, LeafTableEntry.of(1, 0, 0), "leaf region starts at bit 56");
        assertEquals(0x0001_0000_0000_0000L, LeafTableEntry.of(0, 1, 0), "synonym slot starts at bit 48");
    }

    @Test
    void roundTripsEveryField() {
        long entry = LeafTableEntry.of(5, 200, 123_456_789L);
        assertFalse(LeafTableEntry.isLocked(entry), "a built entry never carries the lock bit");
        assertEquals(5, LeafTableEntry.leafRegion(entry));
        assertEquals(200, LeafTableEntry.synonymSlot(entry));
        assertEquals(123_456_789L, LeafTableEntry.leafNumber(entry));
    }

    @Test
    void rejectsFieldsThatDoNotFit() {
        assertThrows(IllegalArgumentException.class, () -> LeafTableEntry.of(128, 0, 0));
        assertThrows(IllegalArgumentException.class, () -> LeafTableEntry.of(0, 256, 0));
        assertThrows(IllegalArgumentException.class, () -> LeafTableEntry.of(0, 0, 1L << 48));
        assertThrows(IllegalArgumentException.class, () -> LeafTableEntry.of(-1, 0, 0));
    }
}
