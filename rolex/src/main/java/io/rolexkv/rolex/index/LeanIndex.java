package io.rolexkv.rolex.index;

import io.rolexkv.common.fabric.BatchResult;
import io.rolexkv.common.fabric.CorruptDataException;
import io.rolexkv.common.fabric.DoorbellBatch;
import io.rolexkv.common.fabric.FabricConnection;
import io.rolexkv.common.fabric.WordOrder;
import io.rolexkv.common.kv.KeyValueChecks;
import io.rolexkv.rolex.layout.GroupWord;
import io.rolexkv.rolex.layout.IndexMetaDescriptor;
import io.rolexkv.rolex.layout.LeafDescriptor;
import io.rolexkv.rolex.model.LinearModel;
import io.rolexkv.rolex.model.OptimalPiecewiseLinearTrainer;
import io.rolexkv.rolex.model.UnsignedKeys;

import java.lang.foreign.MemorySegment;
import java.util.ArrayList;
import java.util.List;
import java.util.OptionalLong;

/**
 * The lean ROLEX layout, under construction beside {@link RolexIndex} (which it is to replace once it passes the
 * contract suite): per model one block in the tables region of group words ({@link GroupWord}), an SLT, and a dense
 * base array of 16-byte (key, value) entries whose keys never change while the model lives. A lookup reads, in one
 * doorbell, the group words of the groups its window touches and only the window of base entries
 * ({@link LeanModel#window}): about {@code 2 * epsilon + 2} entries, instead of whole leaves. Built so far: bulk load,
 * open and lookup of base keys; delta leaves for inserts, writes, scans, retraining and the structure checker are
 * the next steps.
 */
public final class LeanIndex {
    private final FabricConnection connection;
    private final IndexLayout layout;
    private final long epoch;
    private final LeanModel[] models;
    private final long[] lowKeys;

    private LeanIndex(FabricConnection connection, IndexLayout layout, long epoch, List<LeanModel> models) {
        this.connection = connection;
        this.layout = layout;
        this.epoch = epoch;
        this.models = models.toArray(LeanModel[]::new);
        this.lowKeys = new long[this.models.length];
        for (int m = 0; m < lowKeys.length; m++) {
            lowKeys[m] = this.models[m].lowKey();
        }
    }

    /**
     * Builds a lean index of {@code keys} (strictly increasing, unsigned) and {@code values} on the connection's memory
     * node: the optimal PLA of the keys with error bound {@code epsilon}, one model per segment, groups of
     * {@code groupSize} base entries. Replaces whatever index was there.
     */
    public static LeanIndex bulkLoad(FabricConnection connection, int epsilon, int groupSize, long[] keys, long[] values) {
        if (keys.length != values.length || keys.length == 0) {
            throw new IllegalArgumentException("bulk load: keys=" + keys.length + " values=" + values.length
                    + " must match and not be empty");
        }
        if (groupSize < 1 || groupSize > GroupWord.MAX_GROUP_SIZE) {
            throw new IllegalArgumentException("group_size=" + groupSize + " allowed=[1," + GroupWord.MAX_GROUP_SIZE + "]");
        }
        KeyValueChecks.checkStrictlyIncreasing(keys);
        IndexLayout layout = new IndexLayout(connection, LeafDescriptor.MIN_CAPACITY);
        List<LinearModel> segments = OptimalPiecewiseLinearTrainer.train(keys, epsilon);
        List<LeanModel> models = new ArrayList<>(segments.size());
        long cursor = 0;
        for (int s = 0; s < segments.size(); s++) {
            LinearModel segment = segments.get(s);
            int first = Math.toIntExact(segment.firstRank());
            int count = Math.toIntExact(segment.rankCount());
            long lowKey = s == 0 ? 0 : segment.firstKey();
            LeanModel probe = new LeanModel(lowKey, segment.firstKey(), segment.slope(), segment.intercept(), count, 0,
                    (count + groupSize - 1) / groupSize, groupSize, 0);
            double worst = 0;
            for (int rank = 0; rank < count; rank++) {
                worst = Math.max(worst, Math.abs(probe.predictRank(keys[first + rank]) - rank));
            }
            // The window's one rank of slack on each side absorbs a bound below the measured worst by < 1/2 (LeanModel).
            int maxError = (int) Math.ceil(worst - MAX_ERROR_TOLERANCE);
            LeanModel model = new LeanModel(lowKey, segment.firstKey(), segment.slope(), segment.intercept(), count,
                    cursor, probe.groupCount(), groupSize, Math.max(0, maxError));
            models.add(model);
            cursor += (model.blockBytes() + 63) / 64 * 64;
        }
        if (cursor > layout.tablesBytes()) {
            throw new IllegalArgumentException("the lean index needs tables bytes=" + cursor + " but region "
                    + IndexLayout.TABLES_REGION + " holds " + layout.tablesBytes());
        }
        IndexLoader.BulkWriter writer = new IndexLoader.BulkWriter(connection);
        DoorbellBatch unpublish = new DoorbellBatch();
        unpublish.writeLong(layout.metaAddress(IndexMetaDescriptor.STATE_OFFSET), IndexMetaDescriptor.STATE_EMPTY);
        connection.execute(unpublish);
        int rank = 0;
        for (LeanModel model : models) {
            writer.write(layout.tablesAddress(model.groupWordsOffset()), new byte[8 * model.groupCount()]);
            writer.write(layout.tablesAddress(model.synonymTableOffset()), new byte[io.rolexkv.rolex.layout.TablesDescriptor.SYNONYM_TABLE_BYTES]);
            for (int start = 0; start < model.keyCount(); start += ENTRIES_PER_WRITE) {
                int entries = Math.min(ENTRIES_PER_WRITE, model.keyCount() - start);
                byte[] base = new byte[LeanModel.BASE_ENTRY_BYTES * entries];
                for (int i = 0; i < entries; i++) {
                    WordOrder.putLong(base, LeanModel.BASE_ENTRY_BYTES * i, keys[rank + start + i]);
                    WordOrder.putLong(base, LeanModel.BASE_ENTRY_BYTES * i + 8, values[rank + start + i]);
                }
                writer.write(layout.tablesAddress(model.baseEntryOffset(start)), base);
            }
            rank += model.keyCount();
        }
        writer.flush();
        MemorySegment oldMeta = IndexLoader.readBytes(connection, layout.metaAddress(0), IndexMetaDescriptor.META_BYTES);
        long epoch = (WordOrder.getLong(oldMeta, IndexMetaDescriptor.MAGIC_OFFSET) == IndexMetaDescriptor.MAGIC
                ? WordOrder.getLong(oldMeta, IndexMetaDescriptor.MODEL_EPOCH_OFFSET) : 0) + 1;
        byte[] set = IndexLoader.encodeModelSet(models.stream().map(LeanModel::record).toList(), epoch);
        writer.write(layout.modelsAddress(0), set);
        writer.flush();
        byte[] meta = new byte[IndexMetaDescriptor.META_BYTES];
        MemorySegment metaSegment = MemorySegment.ofArray(meta);
        WordOrder.putLong(metaSegment, IndexMetaDescriptor.MAGIC_OFFSET, IndexMetaDescriptor.MAGIC);
        WordOrder.putLong(metaSegment, IndexMetaDescriptor.STATE_OFFSET, IndexMetaDescriptor.STATE_EMPTY);
        WordOrder.putLong(metaSegment, IndexMetaDescriptor.MODEL_SET_BYTES_OFFSET, set.length);
        WordOrder.putLong(metaSegment, IndexMetaDescriptor.MODEL_EPOCH_OFFSET, epoch);
        metaSegment.set(WordOrder.INT_UNALIGNED, IndexMetaDescriptor.LEAF_CAPACITY_OFFSET, LeafDescriptor.MIN_CAPACITY);
        metaSegment.set(WordOrder.INT_UNALIGNED, IndexMetaDescriptor.KEYS_PER_LEAF_OFFSET, groupSize);
        WordOrder.putLong(metaSegment, IndexMetaDescriptor.TABLES_USED_OFFSET, cursor);
        metaSegment.set(WordOrder.INT_UNALIGNED, IndexMetaDescriptor.EPSILON_OFFSET, epsilon);
        WordOrder.putLong(metaSegment, IndexMetaDescriptor.MODELS_USED_OFFSET, set.length);
        DoorbellBatch publish = new DoorbellBatch();
        publish.write(layout.metaAddress(0), meta);
        publish.writeLong(layout.metaAddress(IndexMetaDescriptor.STATE_OFFSET), IndexMetaDescriptor.STATE_READY);
        connection.execute(publish);
        return new LeanIndex(connection, layout, epoch, models);
    }

    /** How far below the measured worst error a model's bound may round (see {@link LeanModel}). */
    static final double MAX_ERROR_TOLERANCE = 1e-6;
    private static final int ENTRIES_PER_WRITE = 64 * 1024;

    /** Opens the lean index on the connection's memory node: reads its model set into the cache. */
    public static LeanIndex open(FabricConnection connection) {
        IndexLoader.Meta meta = IndexLoader.readMeta(connection);
        IndexLayout layout = new IndexLayout(connection, LeafDescriptor.MIN_CAPACITY);
        MemorySegment set = IndexLoader.readBytes(connection, layout.modelsAddress(meta.modelSetOffset()), meta.modelSetBytes());
        List<IndexModel> records = IndexLoader.decodeModelSet(set, meta.epoch());
        if (records == null) {
            throw new CorruptDataException("lean model set fails its checksum");
        }
        return new LeanIndex(connection, layout, meta.epoch(), records.stream().map(LeanModel::of).toList());
    }

    /** Bytes of cached models: one model record each, nothing per group or per key. */
    public long cachedBytes() {
        return (long) models.length * io.rolexkv.rolex.layout.ModelRecordDescriptor.RECORD_BYTES;
    }

    public int modelCount() {
        return models.length;
    }

    /**
     * The value of {@code key}, or empty: one doorbell of two READs, the group words of the groups the window touches
     * and the window of base entries. Base keys never change while a model lives and each value word is written
     * atomically, so the window needs no checksum; the group words, read first, say which entries are deleted and
     * whether a model was retired (then the models must be refreshed).
     */
    public OptionalLong get(long key) {
        LeanModel model = models[UnsignedKeys.floorIndex(lowKeys, key)];
        long window = model.window(key);
        int first = LeanModel.firstOf(window);
        int last = LeanModel.lastOf(window);
        int firstGroup = first / model.groupSize();
        int lastGroup = last / model.groupSize();
        DoorbellBatch batch = new DoorbellBatch();
        int wordsVerb = batch.read(layout.tablesAddress(model.groupWordsOffset() + 8L * firstGroup), 8 * (lastGroup - firstGroup + 1));
        int baseVerb = batch.read(layout.tablesAddress(model.baseEntryOffset(first)), LeanModel.BASE_ENTRY_BYTES * (last - first + 1));
        BatchResult result = connection.execute(batch);
        MemorySegment base = result.read(baseVerb);
        int low = 0;
        int high = last - first;
        while (low <= high) {
            int middle = (low + high) >>> 1;
            int order = Long.compareUnsigned(WordOrder.getLong(base, (long) LeanModel.BASE_ENTRY_BYTES * middle), key);
            if (order < 0) {
                low = middle + 1;
            } else if (order > 0) {
                high = middle - 1;
            } else {
                int rank = first + middle;
                long word = result.readLong(wordsVerb, 8L * (rank / model.groupSize() - firstGroup));
                if (word == GroupWord.RETIRED) {
                    throw new StaleModelsException();
                }
                if (GroupWord.isDeleted(word, rank % model.groupSize())) {
                    return OptionalLong.empty();
                }
                return OptionalLong.of(WordOrder.getLong(base, (long) LeanModel.BASE_ENTRY_BYTES * middle + 8));
            }
        }
        if (low == 0 && first > 0) {
            throw new CorruptDataException("key=" + Long.toUnsignedString(key) + " lies below its lookup window's first "
                    + "base key: the model's error bound is broken or the base is corrupt");
        }
        int floorRank = first + low - 1;
        long word = result.readLong(wordsVerb, 8L * (Math.max(0, floorRank) / model.groupSize() - firstGroup));
        if (GroupWord.deltaSlot(word) != 0) {
            throw new UnsupportedOperationException("delta leaves are not built yet");
        }
        return OptionalLong.empty();
    }

    public long epoch() {
        return epoch;
    }

    public FabricConnection connection() {
        return connection;
    }
}
