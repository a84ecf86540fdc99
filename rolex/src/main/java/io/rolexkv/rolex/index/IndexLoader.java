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
 * Builds an index on a memory node (bulk load from sorted keys, or an empty index of one model over the whole key
 * space) and opens an existing one into a compute node's cache. Building writes leaves, tables and the model set with
 * large WRITEs, and publishes the meta region's READY state last, in the same ordered doorbell, so an opener never sees
 * a half-built index.
 */
final class IndexLoader {
    /** Bytes per doorbell when moving bulk data: small enough for any memory node's batch limit. */
    static final int BULK_BYTES_PER_DOORBELL = 4 << 20;

    private IndexLoader() {
    }

    // ------------------------------------------------------------------ open

    static RolexIndex open(FabricConnection connection) {
        Meta meta = readMeta(connection);
        IndexLayout layout = new IndexLayout(connection, meta.leafCapacity());
        IndexGeometry geometry = new IndexGeometry(meta.leafCapacity(), meta.keysPerLeaf(), meta.epsilon(),
                IndexGeometry.EMPTY_INDEX_LEAVES_DEFAULT, IndexGeometry.LEAF_ALLOCATION_CHUNK_DEFAULT);
        return new RolexIndex(connection, layout, geometry, reload(connection, layout, null));
    }

    /** What an opener needs of the meta region. */
    /** The superblock's words as one READ of it found them (see {@link IndexMetaDescriptor}). */
    record Meta(int leafCapacity, int keysPerLeaf, int epsilon, long modelSetOffset, long modelSetBytes, long epoch,
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
                meta.get(WordOrder.INT_UNALIGNED, IndexMetaDescriptor.KEYS_PER_LEAF_OFFSET),
                meta.get(WordOrder.INT_UNALIGNED, IndexMetaDescriptor.EPSILON_OFFSET),
                WordOrder.getLong(meta, IndexMetaDescriptor.MODEL_SET_OFFSET_OFFSET),
                WordOrder.getLong(meta, IndexMetaDescriptor.MODEL_SET_BYTES_OFFSET),
                WordOrder.getLong(meta, IndexMetaDescriptor.MODEL_EPOCH_OFFSET),
                WordOrder.getLong(meta, IndexMetaDescriptor.BUILD_ID_OFFSET),
                WordOrder.getLong(meta, IndexMetaDescriptor.LAYOUT_OFFSET));
    }

    /**
     * Reads the current model set and builds a cache of it. Models identical to one in {@code previous} (may be
     * {@code null}) keep its cached tables; only new models' LT, SLT and directory are read.
     */
    static ModelCache reload(FabricConnection connection, IndexLayout layout, ModelCache previous) {
        attempts:
        for (int attempt = 0; ; attempt++) {
            Meta meta = readMeta(connection);
            MemorySegment set = readBytes(connection, layout.modelsAddress(meta.modelSetOffset()), meta.modelSetBytes());
            List<IndexModel> models = decodeModelSet(set, meta.epoch());
            if (models == null) {
                if (attempt < 1_000) {
                    continue; // a new model set was being published while we read: read the meta again
                }
                throw new CorruptDataException("model set on memory node " + connection.memoryNodeId() + " fails its checksum"
                        + " on every read: corrupt models region");
            }
            java.util.Map<IndexModel, ModelCache.CachedModel> known = new java.util.HashMap<>();
            if (previous != null) {
                for (int m = 0; m < previous.modelCount(); m++) {
                    known.put(previous.model(m), previous.cachedModel(m));
                }
            }
            List<ModelCache.CachedModel> cached = new ArrayList<>(models.size());
            DoorbellBatch batch = new DoorbellBatch();
            List<int[]> verbs = new ArrayList<>();
            for (IndexModel model : models) {
                if (known.containsKey(model)) {
                    verbs.add(null);
                    continue;
                }
                int lt = batch.read(layout.tablesAddress(model.ltOffset()), 8 * model.leafCount());
                int slt = batch.read(layout.tablesAddress(model.sltOffset()), TablesDescriptor.SYNONYM_TABLE_BYTES);
                int directory = model.hasDirectory()
                        ? batch.read(layout.tablesAddress(model.directoryOffset()), 4 * model.leafCount()) : -1;
                verbs.add(new int[] {lt, slt, directory});
                if (batch.bytesToRead() > BULK_BYTES_PER_DOORBELL || batch.size() > 1_000) {
                    // This doorbell holds the tables of the models after those already cached, in order.
                    List<ModelCache.CachedModel> absorbed = absorbTables(connection.execute(batch),
                            models.subList(cached.size(), cached.size() + verbs.size()), verbs, known);
                    if (absorbed == null) {
                        continue attempts;
                    }
                    cached.addAll(absorbed);
                    batch = new DoorbellBatch();
                    verbs.clear();
                }
            }
            List<ModelCache.CachedModel> absorbed = absorbTables(batch.isEmpty() ? null : connection.execute(batch),
                    models.subList(cached.size(), models.size()), verbs, known);
            if (absorbed == null) {
                continue; // the set was superseded while its tables were read
            }
            cached.addAll(absorbed);
            return new ModelCache(meta.epoch(), cached);
        }
    }

    /** The cached models of one doorbell's tables, or {@code null} if a model's tables were retired meanwhile. */
    private static List<ModelCache.CachedModel> absorbTables(BatchResult result, List<IndexModel> models, List<int[]> verbs,
                                                            java.util.Map<IndexModel, ModelCache.CachedModel> known) {
        List<ModelCache.CachedModel> out = new ArrayList<>(verbs.size());
        for (int i = 0; i < verbs.size(); i++) {
            IndexModel model = models.get(i);
            int[] verb = verbs.get(i);
            if (verb == null) {
                out.add(known.get(model));
                continue;
            }
            MemorySegment lt = result.read(verb[0]);
            MemorySegment slt = result.read(verb[1]);
            int[] directory = null;
            if (verb[2] >= 0) {
                MemorySegment bytes = result.read(verb[2]);
                directory = new int[model.leafCount()];
                for (int leaf = 0; leaf < directory.length; leaf++) {
                    directory[leaf] = bytes.get(WordOrder.INT_UNALIGNED, 4L * leaf);
                }
            }
            long[] leafTable = words(lt, 0, model.leafCount());
            for (long entry : leafTable) {
                if (entry == LeafTableEntry.RETIRED) {
                    // A retraining published a newer set and retired this model after we read the meta: these tables
                    // are not this model's any more. The caller reads the meta again.
                    return null;
                }
            }
            out.add(new ModelCache.CachedModel(model, leafTable, words(slt, 0, TablesDescriptor.SYNONYM_SLOTS), directory));
        }
        return out;
    }

    private static IndexLayout layoutProbe(FabricConnection connection) {
        return new IndexLayout(connection, LeafDescriptor.MIN_CAPACITY);
    }

    private static long[] words(MemorySegment source, long offset, int count) {
        long[] words = new long[count];
        for (int i = 0; i < count; i++) {
            words[i] = WordOrder.getLong(source, offset + 8L * i);
        }
        return words;
    }

    /** The models of a model set blob, or {@code null} if it fails its checksum or is not the expected epoch. */
    static List<IndexModel> decodeModelSet(MemorySegment set, long expectedEpoch) {
        if (set.byteSize() < ModelSetDescriptor.HEADER_BYTES
                || set.get(WordOrder.INT_UNALIGNED, ModelSetDescriptor.MAGIC_OFFSET) != ModelSetDescriptor.MAGIC
                || WordOrder.getLong(set, ModelSetDescriptor.EPOCH_OFFSET) != expectedEpoch) {
            return null;
        }
        int count = set.get(WordOrder.INT_UNALIGNED, ModelSetDescriptor.MODEL_COUNT_OFFSET);
        if (count < 1 || ModelSetDescriptor.setBytes(count) != set.byteSize()) {
            return null;
        }
        CRC32C crc = new CRC32C();
        crc.update(set.asSlice(ModelSetDescriptor.HEADER_BYTES).asByteBuffer());
        if ((int) crc.getValue() != set.get(WordOrder.INT_UNALIGNED, ModelSetDescriptor.CHECKSUM_OFFSET)) {
            return null;
        }
        List<IndexModel> models = new ArrayList<>(count);
        for (int m = 0; m < count; m++) {
            models.add(IndexModel.decode(set, ModelSetDescriptor.recordOffset(m)));
        }
        return models;
    }

    static byte[] encodeModelSet(List<IndexModel> models, long epoch) {
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

    // ------------------------------------------------------------------ build

    /**
     * One model to build: its line, and per leaf its fences; leaf {@code i} holds the keys of ranks
     * {@code firstRank + i * keysPerLeaf} on (as many as the model has). A plan of room for appends has no keys: its
     * {@code keyCount} counts the ranks its line spreads over its empty leaves.
     */
    record ModelPlan(long lowKey, long anchorKey, double slope, double intercept, long keyCount, int maxError,
                     int firstRank, long[] lowFences, long highFence) {
        int leafCount() {
            return lowFences.length;
        }

        /** The inclusive high fence of leaf {@code leaf}. */
        long leafHighFence(int leaf) {
            return leaf + 1 < lowFences.length ? lowFences[leaf + 1] - 1 : highFence;
        }

        /** This plan's model record, its tables at {@code ltOffset} (LT, then SLT) and no rank directory. */
        IndexModel record(long ltOffset, int keysPerLeaf) {
            return new IndexModel(lowKey, anchorKey, slope, intercept, keyCount, ltOffset, leafCount(), keysPerLeaf,
                    maxError, ltOffset + TablesDescriptor.leafTableBytes(leafCount()), ModelRecordDescriptor.NO_DIRECTORY);
        }
    }

    static RolexIndex bulkLoad(FabricConnection connection, IndexGeometry geometry, long[] keys, long[] values) {
        if (keys.length != values.length) {
            throw new IllegalArgumentException("bulk load: keys=" + keys.length + " values=" + values.length + " must match");
        }
        if (keys.length == 0) {
            return createEmpty(connection, geometry);
        }
        KeyValueChecks.checkStrictlyIncreasing(keys);
        List<ModelPlan> plans = planPacked(keys, keys.length, geometry.epsilon(), geometry.keysPerLeafAtLoad(), 0, -1L);
        return build(connection, geometry, plans, keys, values);
    }

    /**
     * Models over {@code keys[0, count)} (strictly increasing, at least one), laid out as bulk load lays them out: the
     * optimal PLA's segments, each a model whose leaves are filled with {@code perLeaf} keys in rank order. The first
     * model starts at {@code lowKey}, the last ends at {@code highFence} (inclusive); the retrainer's compaction plans
     * one model's keys the same way, so a compacted model reads exactly as a bulk-loaded one.
     */
    static List<ModelPlan> planPacked(long[] keys, int count, int epsilon, int perLeaf, long lowKey, long highFence) {
        long[] trained = count == keys.length ? keys : java.util.Arrays.copyOf(keys, count);
        List<LinearModel> segments = OptimalPiecewiseLinearTrainer.train(trained, epsilon);
        List<ModelPlan> plans = new ArrayList<>(segments.size());
        for (int s = 0; s < segments.size(); s++) {
            LinearModel segment = segments.get(s);
            int firstRank = Math.toIntExact(segment.firstRank());
            int keyCount = Math.toIntExact(segment.rankCount());
            long modelLowKey = s == 0 ? lowKey : segment.firstKey();
            long modelHighFence = s + 1 < segments.size() ? segments.get(s + 1).firstKey() - 1 : highFence;
            int leafCount = (keyCount + perLeaf - 1) / perLeaf;
            long[] lowFences = new long[leafCount];
            for (int leaf = 0; leaf < leafCount; leaf++) {
                lowFences[leaf] = leaf == 0 ? modelLowKey : trained[firstRank + leaf * perLeaf];
            }
            IndexModel probe = new IndexModel(modelLowKey, segment.firstKey(), segment.slope(), segment.intercept(), keyCount,
                    0, leafCount, perLeaf, 0, 0, ModelRecordDescriptor.NO_DIRECTORY);
            double worst = 0;
            for (int rank = 0; rank < keyCount; rank++) {
                worst = Math.max(worst, probe.error(trained[firstRank + rank], rank));
            }
            plans.add(new ModelPlan(modelLowKey, segment.firstKey(), segment.slope(), segment.intercept(), keyCount,
                    (int) Math.ceil(worst), firstRank, lowFences, modelHighFence));
        }
        return plans;
    }

    /**
     * An empty model of {@code leaves} leaves, each {@code width} keys wide from {@code lowKey} on, the last reaching to
     * {@code highFence}: room for keys that arrive in ascending order. Leaf {@code j} takes ranks
     * {@code [j * perLeaf, (j + 1) * perLeaf)} and its line puts each key of leaf {@code j} strictly inside that range
     * (the line is shifted by half a key's share of ranks), so the error bound is 1 for rounding alone: a key's
     * candidate range is its own leaf, and its neighbour's only near a leaf's edge. The caller keeps
     * {@code lowKey + (leaves - 1) * width} within {@code highFence}.
     */
    static ModelPlan planRoom(long lowKey, long width, int leaves, int perLeaf, long highFence, int firstRank) {
        if (width < 1 || leaves < 1) {
            throw new IllegalArgumentException("room width=" + width + " leaves=" + leaves + " must be >= 1");
        }
        long[] lowFences = new long[leaves];
        for (int leaf = 0; leaf < leaves; leaf++) {
            lowFences[leaf] = lowKey + leaf * width;
        }
        long keyCount = (long) leaves * perLeaf;
        double slope = perLeaf / IndexModel.unsignedToDouble(width);
        // A key k of leaf j predicts j * perLeaf + slope / 2 + slope * (k - lowFence_j), which lies in
        // [j * perLeaf + slope / 2, (j + 1) * perLeaf - slope / 2] since slope * width = perLeaf.
        return new ModelPlan(lowKey, lowKey, slope, slope / 2, keyCount, 1, firstRank, lowFences, highFence);
    }

    static RolexIndex createEmpty(FabricConnection connection, IndexGeometry geometry) {
        int leaves = geometry.emptyIndexLeaves();
        int perLeaf = geometry.keysPerLeafAtLoad();
        BigInteger keySpace = BigInteger.ONE.shiftLeft(64);
        long[] lowFences = new long[leaves];
        for (int leaf = 0; leaf < leaves; leaf++) {
            // ceil(leaf * 2^64 / leaves): the first key whose exact rank reaches leaf * perLeaf.
            BigInteger[] division = keySpace.multiply(BigInteger.valueOf(leaf)).divideAndRemainder(BigInteger.valueOf(leaves));
            lowFences[leaf] = division[0].add(division[1].signum() > 0 ? BigInteger.ONE : BigInteger.ZERO).longValue();
        }
        long keyCount = (long) leaves * perLeaf;
        double slope = keyCount / 18446744073709551616.0;
        IndexModel probe = new IndexModel(0, 0, slope, 0, keyCount, 0, leaves, perLeaf, 0, 0, ModelRecordDescriptor.NO_DIRECTORY);
        double worst = 0;
        for (int leaf = 1; leaf < leaves; leaf++) {
            long rank = (long) leaf * perLeaf;
            worst = Math.max(worst, probe.error(lowFences[leaf], rank));
            worst = Math.max(worst, probe.error(lowFences[leaf] - 1, rank - 1));
        }
        ModelPlan plan = new ModelPlan(0, 0, slope, 0, keyCount, (int) Math.ceil(worst) + 1, 0, lowFences, -1L);
        return build(connection, geometry, List.of(plan), new long[0], new long[0]);
    }

    private static RolexIndex build(FabricConnection connection, IndexGeometry geometry, List<ModelPlan> plans,
                                    long[] keys, long[] values) {
        IndexLayout layout = new IndexLayout(connection, geometry.leafCapacity());
        int leafBytes = layout.leafBytes();
        long totalLeaves = 0;
        for (ModelPlan plan : plans) {
            totalLeaves += plan.leafCount();
        }
        long leafRegionCapacity = layout.leafCapacityOfRegion();
        if (totalLeaves > leafRegionCapacity) {
            throw new IllegalArgumentException("the index needs leaves=" + totalLeaves + " of " + leafBytes
                    + " bytes but region " + IndexLayout.LEAVES_REGION + " holds " + leafRegionCapacity
                    + ": give the memory node a larger leaves region");
        }
        // Where each model's tables go.
        List<IndexModel> models = new ArrayList<>(plans.size());
        long tablesCursor = 0;
        long leafCursor = 0;
        for (ModelPlan plan : plans) {
            models.add(plan.record(tablesCursor, geometry.keysPerLeafAtLoad()));
            tablesCursor += TablesDescriptor.leafTableBytes(plan.leafCount()) + TablesDescriptor.SYNONYM_TABLE_BYTES;
            leafCursor += plan.leafCount();
        }
        if (tablesCursor > layout.tablesBytes()) {
            throw new IllegalArgumentException("the index needs tables bytes=" + tablesCursor + " but region "
                    + IndexLayout.TABLES_REGION + " holds " + layout.tablesBytes() + ": give the memory node a larger tables region");
        }
        MemorySegment oldMeta = readBytes(connection, layout.metaAddress(0), IndexMetaDescriptor.META_BYTES);
        long epoch = (WordOrder.getLong(oldMeta, IndexMetaDescriptor.MAGIC_OFFSET) == IndexMetaDescriptor.MAGIC
                ? WordOrder.getLong(oldMeta, IndexMetaDescriptor.MODEL_EPOCH_OFFSET) : 0) + 1;
        byte[] modelSet = encodeModelSet(models, epoch);
        if (modelSet.length > layout.modelsBytes()) {
            throw new IllegalArgumentException("the model set needs bytes=" + modelSet.length + " but region "
                    + IndexLayout.MODELS_REGION + " holds " + layout.modelsBytes());
        }

        // 1. Mark the index as being rebuilt, so no one opens it half-written.
        DoorbellBatch unpublish = new DoorbellBatch();
        unpublish.writeLong(layout.metaAddress(IndexMetaDescriptor.STATE_OFFSET), IndexMetaDescriptor.STATE_EMPTY);
        connection.execute(unpublish);

        // 2. Leaves, numbered from 0 in key order, written in large consecutive runs.
        BulkWriter leavesWriter = new BulkWriter(connection);
        long leafNumber = 0;
        ByteArrayOutputStream run = new ByteArrayOutputStream();
        long runStart = 0;
        long[] leafTable = new long[(int) Math.min(Integer.MAX_VALUE - 8, totalLeaves)];
        int cursor = 0;
        for (int m = 0; m < plans.size(); m++) {
            ModelPlan plan = plans.get(m);
            for (int leaf = 0; leaf < plan.leafCount(); leaf++) {
                long high = plan.leafHighFence(leaf);
                Leaf contents = Leaf.empty(geometry.leafCapacity(), plan.lowFences()[leaf], high);
                int rankStart = plan.firstRank() + leaf * geometry.keysPerLeafAtLoad();
                int rankEnd = (int) Math.min(plan.firstRank() + plan.keyCount(), rankStart + (long) geometry.keysPerLeafAtLoad());
                for (int rank = rankStart; rank < rankEnd && rank < keys.length; rank++) {
                    contents.put(keys[rank], values[rank]);
                }
                contents.setEpoch(epoch);
                contents.bumpVersion();
                run.writeBytes(contents.encode());
                leafTable[cursor++] = LeafTableEntry.of(IndexLayout.LOCAL_LEAF_REGION, LeafTableEntry.NO_SYNONYM, leafNumber++);
                if (run.size() >= BULK_BYTES_PER_DOORBELL / 2) {
                    leavesWriter.write(layout.leavesAddress(LeafRegionDescriptor.leafOffset(runStart, leafBytes)), run.toByteArray());
                    runStart = leafNumber;
                    run.reset();
                }
            }
        }
        if (run.size() > 0) {
            leavesWriter.write(layout.leavesAddress(LeafRegionDescriptor.leafOffset(runStart, leafBytes)), run.toByteArray());
        }
        leavesWriter.flush();

        // 3. Tables: each model's LT entries, then its SLT, zeroed (slot 0, the used counter, included).
        byte[] tables = new byte[(int) tablesCursor];
        MemorySegment tablesSegment = MemorySegment.ofArray(tables);
        cursor = 0;
        for (IndexModel model : models) {
            for (int leaf = 0; leaf < model.leafCount(); leaf++) {
                WordOrder.putLong(tablesSegment, model.ltOffset() + 8L * leaf, leafTable[cursor++]);
            }
        }
        BulkWriter tablesWriter = new BulkWriter(connection);
        for (int offset = 0; offset < tables.length; offset += BULK_BYTES_PER_DOORBELL / 2) {
            int length = Math.min(BULK_BYTES_PER_DOORBELL / 2, tables.length - offset);
            byte[] piece = new byte[length];
            System.arraycopy(tables, offset, piece, 0, length);
            tablesWriter.write(layout.tablesAddress(offset), piece);
        }
        tablesWriter.flush();

        // 4. The model set, then the leaf region header and the meta region, READY last.
        BulkWriter modelsWriter = new BulkWriter(connection);
        modelsWriter.write(layout.modelsAddress(0), modelSet);
        modelsWriter.flush();
        DoorbellBatch publish = new DoorbellBatch();
        byte[] regionHeader = new byte[LeafRegionDescriptor.HEADER_BYTES];
        WordOrder.putLong(regionHeader, LeafRegionDescriptor.USED_LEAVES_OFFSET, leafCursor);
        WordOrder.putLong(regionHeader, LeafRegionDescriptor.CAPACITY_LEAVES_OFFSET, leafRegionCapacity);
        WordOrder.putLong(regionHeader, LeafRegionDescriptor.LEAF_BYTES_OFFSET, leafBytes);
        publish.write(layout.leavesAddress(0), regionHeader);
        byte[] meta = new byte[IndexMetaDescriptor.META_BYTES];
        MemorySegment metaSegment = MemorySegment.ofArray(meta);
        WordOrder.putLong(metaSegment, IndexMetaDescriptor.MAGIC_OFFSET, IndexMetaDescriptor.MAGIC);
        WordOrder.putLong(metaSegment, IndexMetaDescriptor.STATE_OFFSET, IndexMetaDescriptor.STATE_EMPTY);
        WordOrder.putLong(metaSegment, IndexMetaDescriptor.MODEL_SET_OFFSET_OFFSET, 0);
        WordOrder.putLong(metaSegment, IndexMetaDescriptor.MODEL_SET_BYTES_OFFSET, modelSet.length);
        WordOrder.putLong(metaSegment, IndexMetaDescriptor.MODEL_EPOCH_OFFSET, epoch);
        metaSegment.set(WordOrder.INT_UNALIGNED, IndexMetaDescriptor.LEAF_CAPACITY_OFFSET, geometry.leafCapacity());
        metaSegment.set(WordOrder.INT_UNALIGNED, IndexMetaDescriptor.KEYS_PER_LEAF_OFFSET, geometry.keysPerLeafAtLoad());
        WordOrder.putLong(metaSegment, IndexMetaDescriptor.TABLES_USED_OFFSET, tablesCursor);
        metaSegment.set(WordOrder.INT_UNALIGNED, IndexMetaDescriptor.EPSILON_OFFSET, geometry.epsilon());
        WordOrder.putLong(metaSegment, IndexMetaDescriptor.BUILD_ID_OFFSET, java.util.concurrent.ThreadLocalRandom.current().nextLong());
        WordOrder.putLong(metaSegment, IndexMetaDescriptor.MODELS_USED_OFFSET, modelSet.length);
        publish.write(layout.metaAddress(0), meta);
        publish.writeLong(layout.metaAddress(IndexMetaDescriptor.STATE_OFFSET), IndexMetaDescriptor.STATE_READY);
        connection.execute(publish);

        List<ModelCache.CachedModel> cached = new ArrayList<>(models.size());
        for (IndexModel model : models) {
            cached.add(new ModelCache.CachedModel(model, words(tablesSegment, model.ltOffset(), model.leafCount()),
                    new long[TablesDescriptor.SYNONYM_SLOTS], null));
        }
        return new RolexIndex(connection, layout, geometry, new ModelCache(epoch, cached));
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
