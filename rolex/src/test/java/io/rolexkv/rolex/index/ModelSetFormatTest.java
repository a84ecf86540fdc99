package io.rolexkv.rolex.index;

import io.rolexkv.common.fabric.DoorbellBatch;
import io.rolexkv.common.fabric.FabricConnection;
import io.rolexkv.common.fabric.WordOrder;
import io.rolexkv.rolex.layout.IndexMetaDescriptor;
import io.rolexkv.rolex.layout.ModelRecordDescriptor;
import io.rolexkv.rolex.layout.ModelSetDescriptor;
import org.junit.jupiter.api.Test;

import java.lang.foreign.MemorySegment;
import java.util.List;
import java.util.zip.CRC32C;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The model set's record format: a record round trips, and a set whose records are of another size (the 80-byte
 * records of releases that stored the grouped layout's fields) is refused with an error that says so, never misread
 * and never mistaken for a torn read to retry forever.
 */
class ModelSetFormatTest {
    /** The record size of the releases before the lean record. */
    private static final int OLD_RECORD_BYTES = 80;

    private static final List<LeanModel> MODELS = List.of(
            new LeanModel(0, 17, 0.25, 1.5, 1_000, 0, 32, 12),
            new LeanModel(5_000, 5_003, 1e-9, -0.75, 3, 64 * 100, 1, 0),
            new LeanModel(-8L, -8L, 0, 0, 48, 1L << 40, io.rolexkv.rolex.layout.GroupWord.MAX_GROUP_SIZE, ModelRecordDescriptor.MAX_ERROR));

    /** A set of {@code count} records of {@code recordBytes} each, its header and checksum as a writer makes them. */
    private static byte[] setOfRecordSize(int count, int recordBytes, long epoch) {
        byte[] data = new byte[ModelSetDescriptor.HEADER_BYTES + count * recordBytes];
        MemorySegment set = MemorySegment.ofArray(data);
        set.set(WordOrder.INT_UNALIGNED, ModelSetDescriptor.MAGIC_OFFSET, ModelSetDescriptor.MAGIC);
        set.set(WordOrder.INT_UNALIGNED, ModelSetDescriptor.MODEL_COUNT_OFFSET, count);
        WordOrder.putLong(set, ModelSetDescriptor.EPOCH_OFFSET, epoch);
        set.set(WordOrder.INT_UNALIGNED, ModelSetDescriptor.RECORD_BYTES_OFFSET, recordBytes);
        for (int i = ModelSetDescriptor.HEADER_BYTES; i < data.length; i++) {
            data[i] = (byte) (i * 31 + 7);
        }
        CRC32C crc = new CRC32C();
        crc.update(data, ModelSetDescriptor.HEADER_BYTES, data.length - ModelSetDescriptor.HEADER_BYTES);
        set.set(WordOrder.INT_UNALIGNED, ModelSetDescriptor.CHECKSUM_OFFSET, (int) crc.getValue());
        return data;
    }

    @Test
    void aRecordIsFortyEightBytesAndRoundTrips() {
        byte[] set = IndexLoader.encodeModelSet(MODELS, 9);
        assertEquals(ModelSetDescriptor.HEADER_BYTES + 3 * 48, set.length);
        assertEquals(MODELS, IndexLoader.decodeModelSet(MemorySegment.ofArray(set), 9));
    }

    @Test
    void aSetOfOldSizeRecordsIsRefusedWithAClearError() {
        byte[] old = setOfRecordSize(5, OLD_RECORD_BYTES, 4);
        UnsupportedIndexFormatException refused = assertThrows(UnsupportedIndexFormatException.class,
                () -> IndexLoader.decodeModelSet(MemorySegment.ofArray(old), 4));
        assertTrue(refused.getMessage().contains("recordBytes=80 expected=48"), refused.getMessage());
    }

    @Test
    void aTornOrForeignSetIsStillARetryNotARefusal() {
        byte[] old = setOfRecordSize(5, OLD_RECORD_BYTES, 4);
        assertNull(IndexLoader.decodeModelSet(MemorySegment.ofArray(old), 5), "another epoch's set: read the meta again");
        byte[] torn = old.clone();
        torn[ModelSetDescriptor.HEADER_BYTES + 3] ^= 1;
        assertNull(IndexLoader.decodeModelSet(MemorySegment.ofArray(torn), 4), "a torn old-size set fails its checksum");
        byte[] garbage = setOfRecordSize(5, OLD_RECORD_BYTES, 4);
        MemorySegment.ofArray(garbage).set(WordOrder.INT_UNALIGNED, ModelSetDescriptor.RECORD_BYTES_OFFSET, 1 << 20);
        assertNull(IndexLoader.decodeModelSet(MemorySegment.ofArray(garbage), 4), "a size that does not fit the blob");
    }

    @Test
    void aPatchOfOldSizeRecordsIsRefusedWithAClearError() {
        ModelPatch patch = new ModelPatch(6, new int[] {0}, new int[] {1}, new int[] {1}, List.of(MODELS.getFirst()));
        byte[] encoded = patch.encode();
        byte[] oldSet = setOfRecordSize(1, OLD_RECORD_BYTES, 6);
        int setStart = encoded.length - IndexLoader.encodeModelSet(List.of(MODELS.getFirst()), 6).length;
        byte[] old = new byte[setStart + oldSet.length];
        System.arraycopy(encoded, 0, old, 0, setStart);
        System.arraycopy(oldSet, 0, old, setStart, oldSet.length);
        assertThrows(UnsupportedIndexFormatException.class, () -> ModelPatch.decode(MemorySegment.ofArray(old), 6));
    }

    @Test
    void openingAnIndexPublishedWithOldSizeRecordsIsRefused() {
        try (IndexFixture node = new IndexFixture("loopback", 1L << 20)) {
            FabricConnection connection = node.connect();
            long[] keys = {10, 20, 30, 40};
            LeanIndex.bulkLoad(connection, IndexGeometry.DEFAULT, keys, keys);
            IndexLoader.Meta meta = IndexLoader.readMeta(connection);
            IndexLayout layout = new IndexLayout(connection, meta.leafCapacity());
            // What an earlier release left: the same index, its model set in 80-byte records.
            byte[] old = setOfRecordSize(1, OLD_RECORD_BYTES, meta.epoch());
            DoorbellBatch batch = new DoorbellBatch();
            batch.write(layout.modelsAddress(meta.modelSetOffset()), old);
            batch.writeLong(layout.metaAddress(IndexMetaDescriptor.MODEL_SET_BYTES_OFFSET), old.length);
            connection.execute(batch);
            UnsupportedIndexFormatException refused = assertThrows(UnsupportedIndexFormatException.class,
                    () -> LeanIndex.open(node.connect()));
            assertTrue(refused.getMessage().contains("recordBytes=80"), refused.getMessage());
        }
    }

    @Test
    void openingAnIndexOfAnotherLayoutIsRefused() {
        try (IndexFixture node = new IndexFixture("loopback", 1L << 20)) {
            FabricConnection connection = node.connect();
            long[] keys = {10, 20, 30, 40};
            LeanIndex.bulkLoad(connection, IndexGeometry.DEFAULT, keys, keys);
            IndexLayout layout = new IndexLayout(connection, IndexGeometry.DEFAULT.leafCapacity());
            DoorbellBatch batch = new DoorbellBatch();
            batch.writeLong(layout.metaAddress(IndexMetaDescriptor.LAYOUT_OFFSET), 0);
            connection.execute(batch);
            UnsupportedIndexFormatException refused = assertThrows(UnsupportedIndexFormatException.class,
                    () -> LeanIndex.open(node.connect()));
            assertTrue(refused.getMessage().contains("layout=0"), refused.getMessage());
        }
    }
}
