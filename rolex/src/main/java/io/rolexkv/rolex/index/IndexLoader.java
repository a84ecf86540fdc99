package io.rolexkv.rolex.index;

import io.rolexkv.common.fabric.BatchResult;
import io.rolexkv.common.fabric.CorruptDataException;
import io.rolexkv.common.fabric.DoorbellBatch;
import io.rolexkv.common.fabric.FabricConnection;
import io.rolexkv.common.fabric.WordOrder;
import io.rolexkv.common.kv.KeyValueChecks;
import io.rolexkv.rolex.layout.IndexMetaDescriptor;
import io.rolexkv.rolex.layout.LeafDescriptor;
import io.rolexkv.rolex.layout.LeafRegionDescriptor;
import io.rolexkv.rolex.layout.LeafTableEntry;
import io.rolexkv.rolex.layout.ModelRecordDescriptor;
import io.rolexkv.rolex.layout.ModelSetDescriptor;
import io.rolexkv.rolex.layout.TablesDescriptor;
import io.rolexkv.rolex.leaf.Leaf;
import io.rolexkv.rolex.model.LinearModel;
import io.rolexkv.rolex.model.OptimalPiecewiseLinearTrainer;

import java.io.ByteArrayOutputStream;
import java.lang.foreign.MemorySegment;
import java.math.BigInteger;
import java.util.ArrayList;
import java.util.List;
import java.util.zip.CRC32C;

/**
 * What building, opening and retraining an index share: the superblock (meta region) as one READ finds it, the model
 * set's encoding, large READs and WRITEs split into doorbells any memory node accepts, and unpublishing an index.
 * Builders publish the meta region's READY state last, in the same ordered doorbell as the rest, so an opener never
 * sees a half-built index.
 */
final class IndexLoader {
    /** Bytes per doorbell when moving bulk data: small enough for any memory node's batch limit. */
    static final int BULK_BYTES_PER_DOORBELL = 4 << 20;

    private IndexLoader() {
    }

    /** The superblock's words as one READ of it found them (see {@link IndexMetaDescriptor}). */
    record Meta(int leafCapacity, int groupSize, int epsilon, long modelSetOffset, long modelSetBytes, long epoch,
                long buildId, long layout) {
    }

    static Meta readMeta(FabricConnection connection) {
        return parseMeta(connection,
                readBytes(connection, layoutProbe(connection).metaAddress(0), IndexMetaDescriptor.META_BYTES));
    }

    /** The meta words of a superblock as read; throws if it holds no published index. */
    static Meta parseMeta(FabricConnection connection, MemorySegment meta) {
        long magic = WordOrder.getLong(meta, IndexMetaDescriptor.MAGIC_OFFSET);
        long state = WordOrder.getLong(meta, IndexMetaDescriptor.STATE_OFFSET);
        if (magic != IndexMetaDescriptor.MAGIC || state != IndexMetaDescriptor.STATE_READY) {
            throw new IllegalStateException("no index on memory node " + connection.memoryNodeId()
                    + " (magic=" + Long.toHexString(magic) + " state=" + state + "): create or bulk load one first");
        }
        return new Meta(meta.get(WordOrder.INT_UNALIGNED, IndexMetaDescriptor.LEAF_CAPACITY_OFFSET),
                meta.get(WordOrder.INT_UNALIGNED, IndexMetaDescriptor.GROUP_SIZE_OFFSET),
                meta.get(WordOrder.INT_UNALIGNED, IndexMetaDescriptor.EPSILON_OFFSET),
                WordOrder.getLong(meta, IndexMetaDescriptor.MODEL_SET_OFFSET_OFFSET),
                WordOrder.getLong(meta, IndexMetaDescriptor.MODEL_SET_BYTES_OFFSET),
                WordOrder.getLong(meta, IndexMetaDescriptor.MODEL_EPOCH_OFFSET),
                WordOrder.getLong(meta, IndexMetaDescriptor.BUILD_ID_OFFSET),
                WordOrder.getLong(meta, IndexMetaDescriptor.LAYOUT_OFFSET));
    }

    /** A layout of the connection's regions for the words every index has (meta region, counters), whatever its leaves. */
    static IndexLayout layoutProbe(FabricConnection connection) {
        return new IndexLayout(connection, LeafDescriptor.MIN_CAPACITY);
    }

    /**
     * The models of a model set blob, or {@code null} if it fails its checksum or is not the expected epoch (a read that
     * raced a new publication: read the meta region again).
     *
     * @throws UnsupportedIndexFormatException if the set is intact but its records are not {@link
     *                                         ModelRecordDescriptor#RECORD_BYTES} long (written by another release)
     */
    static List<LeanModel> decodeModelSet(MemorySegment set, long expectedEpoch) {
        if (set.byteSize() < ModelSetDescriptor.HEADER_BYTES
                || set.get(WordOrder.INT_UNALIGNED, ModelSetDescriptor.MAGIC_OFFSET) != ModelSetDescriptor.MAGIC
                || WordOrder.getLong(set, ModelSetDescriptor.EPOCH_OFFSET) != expectedEpoch) {
            return null;
        }
        int count = set.get(WordOrder.INT_UNALIGNED, ModelSetDescriptor.MODEL_COUNT_OFFSET);
        int recordBytes = set.get(WordOrder.INT_UNALIGNED, ModelSetDescriptor.RECORD_BYTES_OFFSET);
        if (count < 1 || recordBytes < 1
                || ModelSetDescriptor.HEADER_BYTES + (long) count * recordBytes != set.byteSize()) {
            return null;
        }
        CRC32C crc = new CRC32C();
        crc.update(set.asSlice(ModelSetDescriptor.HEADER_BYTES).asByteBuffer());
        if ((int) crc.getValue() != set.get(WordOrder.INT_UNALIGNED, ModelSetDescriptor.CHECKSUM_OFFSET)) {
            return null;
        }
        // Intact, so the size is what its writer meant: a set of other records is refused, never misread.
        if (recordBytes != ModelRecordDescriptor.RECORD_BYTES) {
            throw new UnsupportedIndexFormatException("model set epoch=" + expectedEpoch + " recordBytes=" + recordBytes
                    + " expected=" + ModelRecordDescriptor.RECORD_BYTES + ": written by a release with another model"
                    + " record format; bulk load or create the index again");
        }
        List<LeanModel> models = new ArrayList<>(count);
        for (int m = 0; m < count; m++) {
            try {
                models.add(LeanModel.decode(set, ModelSetDescriptor.recordOffset(m)));
            } catch (IllegalArgumentException badRecord) {
                throw new CorruptDataException("model set epoch=" + expectedEpoch + " model=" + m
                        + " passes its checksum but holds a bad record: " + badRecord.getMessage());
            }
        }
        return models;
    }

    static byte[] encodeModelSet(List<LeanModel> models, long epoch) {
        byte[] data = new byte[(int) ModelSetDescriptor.setBytes(models.size())];
        MemorySegment set = MemorySegment.ofArray(data);
        set.set(WordOrder.INT_UNALIGNED, ModelSetDescriptor.MAGIC_OFFSET, ModelSetDescriptor.MAGIC);
        set.set(WordOrder.INT_UNALIGNED, ModelSetDescriptor.MODEL_COUNT_OFFSET, models.size());
        WordOrder.putLong(set, ModelSetDescriptor.EPOCH_OFFSET, epoch);
        set.set(WordOrder.INT_UNALIGNED, ModelSetDescriptor.RECORD_BYTES_OFFSET, ModelRecordDescriptor.RECORD_BYTES);
        for (int m = 0; m < models.size(); m++) {
            models.get(m).encode(set, ModelSetDescriptor.recordOffset(m));
        }
        CRC32C crc = new CRC32C();
        crc.update(set.asSlice(ModelSetDescriptor.HEADER_BYTES).asByteBuffer());
        set.set(WordOrder.INT_UNALIGNED, ModelSetDescriptor.CHECKSUM_OFFSET, (int) crc.getValue());
        return data;
    }

    /** Marks the index on the connection's memory node as gone; its space is reused by the next build. */
    static void clear(FabricConnection connection) {
        IndexLayout layout = layoutProbe(connection);
        DoorbellBatch batch = new DoorbellBatch();
        batch.writeLong(layout.metaAddress(IndexMetaDescriptor.STATE_OFFSET), IndexMetaDescriptor.STATE_EMPTY);
        connection.execute(batch);
    }

    static MemorySegment readBytes(FabricConnection connection, long address, long length) {
        byte[] data = new byte[Math.toIntExact(length)];
        DoorbellBatch batch = new DoorbellBatch();
        List<int[]> pieces = new ArrayList<>();
        for (long offset = 0; offset < length; ) {
            int piece = (int) Math.min(BULK_BYTES_PER_DOORBELL, length - offset);
            if (batch.bytesToRead() + piece > BULK_BYTES_PER_DOORBELL) {
                copyPieces(connection.execute(batch), pieces, data);
                batch = new DoorbellBatch();
                pieces.clear();
            }
            pieces.add(new int[] {batch.read(io.rolexkv.common.fabric.GlobalAddress.plus(address, offset), piece), (int) offset});
            offset += piece;
        }
        if (!batch.isEmpty()) {
            copyPieces(connection.execute(batch), pieces, data);
        }
        return MemorySegment.ofArray(data);
    }

    private static void copyPieces(BatchResult result, List<int[]> pieces, byte[] data) {
        for (int[] piece : pieces) {
            byte[] bytes = result.readBytes(piece[0]);
            System.arraycopy(bytes, 0, data, piece[1], bytes.length);
        }
    }

    /** Groups large WRITEs into doorbells of at most {@link #BULK_BYTES_PER_DOORBELL} bytes. */
    static final class BulkWriter {
        private final FabricConnection connection;
        private DoorbellBatch batch = new DoorbellBatch();

        BulkWriter(FabricConnection connection) {
            this.connection = connection;
        }

        void write(long address, byte[] data) {
            if (!batch.isEmpty() && batch.bytesToWrite() + data.length > BULK_BYTES_PER_DOORBELL) {
                flush();
            }
            batch.write(address, data);
        }

        void flush() {
            if (!batch.isEmpty()) {
                connection.execute(batch);
                batch = new DoorbellBatch();
            }
        }
    }
}
