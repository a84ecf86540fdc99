package io.rolexkv.bench.baseline.btree;

import io.rolexkv.bench.baseline.btree.InternalNodeCache.Snapshot;
import io.rolexkv.common.fabric.DoorbellBatch;
import io.rolexkv.common.fabric.FabricConnection;
import io.rolexkv.common.fabric.WordOrder;
import io.rolexkv.common.kv.KeyValueChecks;

import java.io.ByteArrayOutputStream;
import java.lang.foreign.MemorySegment;
import java.util.ArrayList;
import java.util.List;

/**
 * Builds a B+tree on a memory node from sorted keys (bottom-up, nodes filled to the load factor, numbered level by
 * level from the leaves up) and opens an existing one. Building writes the nodes with large WRITEs and publishes the
 * header's READY state last, in the same ordered doorbell as the rest of the header, so an opener never sees a
 * half-built tree.
 */
final class BTreeLoader {
    /** Bytes per doorbell when moving bulk data: small enough for any memory node's batch limit. */
    static final int BULK_BYTES_PER_DOORBELL = 4 << 20;

    private BTreeLoader() {
    }

    static ShermanBTree bulkLoad(FabricConnection connection, BTreeOptions options, long[] keys, long[] words) {
        if (keys.length != words.length) {
            throw new IllegalArgumentException("keys=" + keys.length + " words=" + words.length + " must match");
        }
        KeyValueChecks.checkStrictlyIncreasing(keys);
        BTreeLayout layout = new BTreeLayout(connection, options.nodeBytes());
        int capacity = layout.capacity();
        int perLeaf = options.keysPerLeafAtLoad();
        int perInternal = options.childrenPerInternalAtLoad();

        // How many nodes each level has, and where its numbers start.
        List<Long> levelCounts = new ArrayList<>();
        levelCounts.add(Math.max(1, ceilDiv(keys.length, perLeaf)));
        while (levelCounts.getLast() > 1) {
            levelCounts.add(ceilDiv(levelCounts.getLast(), perInternal));
        }
        long totalNodes = levelCounts.stream().mapToLong(Long::longValue).sum();
        if (1 + totalNodes > layout.capacityNodes()) {
            throw new IllegalArgumentException("the tree needs nodes=" + totalNodes + " of " + layout.nodeBytes()
                    + " bytes but region " + BTreeRegionDescriptor.REGION_NAME + " holds " + (layout.capacityNodes() - 1)
                    + " (bytes=" + layout.regionBytes() + "): give the memory node a larger "
                    + BTreeRegionDescriptor.REGION_NAME + " region");
        }

        // 1. Mark the tree as being rebuilt, so no one opens it half-written.
        DoorbellBatch unpublish = new DoorbellBatch();
        unpublish.writeLong(layout.headerAddress(BTreeRegionDescriptor.STATE_OFFSET), BTreeRegionDescriptor.STATE_EMPTY);
        connection.execute(unpublish);

        // 2. Leaves, then each internal level, numbered consecutively from 1 and written in long runs.
        NodeWriter writer = new NodeWriter(connection, layout);
        long firstOfLevel = 1;
        long leafCount = levelCounts.getFirst();
        long[] lows = new long[Math.toIntExact(leafCount)];
        for (int leaf = 0; leaf < leafCount; leaf++) {
            lows[leaf] = leaf == 0 ? 0 : keys[leaf * perLeaf];
        }
        for (int leaf = 0; leaf < leafCount; leaf++) {
            boolean last = leaf == leafCount - 1;
            BTreeNode node = BTreeNode.leaf(capacity, lows[leaf], last ? -1L : lows[leaf + 1] - 1,
                    last ? 0 : firstOfLevel + leaf + 1, 1);
            int end = (int) Math.min(keys.length, (long) (leaf + 1) * perLeaf);
            int slot = 0;
            for (int rank = leaf * perLeaf; rank < end; rank++) {
                node.setEntry(slot++, keys[rank], words[rank]);
            }
            writer.add(firstOfLevel + leaf, node);
        }
        List<List<Snapshot>> internalLevels = new ArrayList<>();
        long firstOfChildren = firstOfLevel;
        firstOfLevel += leafCount;
        for (int level = 1; level < levelCounts.size(); level++) {
            long count = levelCounts.get(level);
            long[] childLows = lows;
            lows = new long[Math.toIntExact(count)];
            for (int index = 0; index < count; index++) {
                lows[index] = childLows[index * perInternal];
            }
            List<Snapshot> snapshots = new ArrayList<>();
            for (int index = 0; index < count; index++) {
                boolean last = index == count - 1;
                BTreeNode node = BTreeNode.internal(capacity, level, lows[index], last ? -1L : lows[index + 1] - 1,
                        last ? 0 : firstOfLevel + index + 1, 1);
                int end = (int) Math.min(childLows.length, (long) (index + 1) * perInternal);
                for (int child = index * perInternal; child < end; child++) {
                    node.insertSeparator(childLows[child], firstOfChildren + child);
                }
                writer.add(firstOfLevel + index, node);
                snapshots.add(Snapshot.of(firstOfLevel + index, node));
            }
            internalLevels.add(snapshots);
            firstOfChildren = firstOfLevel;
            firstOfLevel += count;
        }
        writer.flush();

        // 3. The header, READY last.
        long root = BTreeRegionDescriptor.rootWord(levelCounts.size() - 1, firstOfLevel - 1);
        byte[] header = new byte[BTreeRegionDescriptor.HEADER_BYTES];
        WordOrder.putLong(header, BTreeRegionDescriptor.MAGIC_OFFSET, BTreeRegionDescriptor.MAGIC);
        WordOrder.putLong(header, BTreeRegionDescriptor.STATE_OFFSET, BTreeRegionDescriptor.STATE_EMPTY);
        WordOrder.putLong(header, BTreeRegionDescriptor.ALLOCATED_NODES_OFFSET, firstOfLevel);
        WordOrder.putLong(header, BTreeRegionDescriptor.ROOT_OFFSET, root);
        MemorySegment.ofArray(header).set(WordOrder.INT_UNALIGNED, BTreeRegionDescriptor.NODE_BYTES_OFFSET, layout.nodeBytes());
        WordOrder.putLong(header, BTreeRegionDescriptor.CAPACITY_NODES_OFFSET, layout.capacityNodes());
        DoorbellBatch publish = new DoorbellBatch();
        publish.write(layout.headerAddress(0), header);
        publish.writeLong(layout.headerAddress(BTreeRegionDescriptor.STATE_OFFSET), BTreeRegionDescriptor.STATE_READY);
        connection.execute(publish);

        ShermanBTree tree = new ShermanBTree(connection, layout, options, root);
        List<Snapshot> topDown = new ArrayList<>();
        for (int level = internalLevels.size() - 1; level >= 0; level--) {
            topDown.addAll(internalLevels.get(level));
        }
        tree.offerBuilt(topDown);
        return tree;
    }

    static ShermanBTree open(FabricConnection connection, BTreeOptions options) {
        long regionBytes = connection.region(BTreeRegionDescriptor.REGION_NAME).length();
        if (regionBytes < BTreeRegionDescriptor.HEADER_BYTES) {
            throw new IllegalStateException("region " + BTreeRegionDescriptor.REGION_NAME + " bytes=" + regionBytes
                    + " is too small to hold a btree header");
        }
        BTreeLayout probe = new BTreeLayout(connection, BTreeNodeDescriptor.MIN_NODE_BYTES);
        DoorbellBatch batch = new DoorbellBatch();
        int verb = batch.read(probe.headerAddress(0), BTreeRegionDescriptor.HEADER_BYTES);
        MemorySegment header = connection.execute(batch).read(verb);
        long magic = WordOrder.getLong(header, BTreeRegionDescriptor.MAGIC_OFFSET);
        long state = WordOrder.getLong(header, BTreeRegionDescriptor.STATE_OFFSET);
        if (magic != BTreeRegionDescriptor.MAGIC || state != BTreeRegionDescriptor.STATE_READY) {
            throw new IllegalStateException("no btree on memory node " + connection.memoryNodeId() + " (magic="
                    + Long.toHexString(magic) + " state=" + state + "): create or bulk load one first");
        }
        int nodeBytes = header.get(WordOrder.INT_UNALIGNED, BTreeRegionDescriptor.NODE_BYTES_OFFSET);
        BTreeLayout layout = new BTreeLayout(connection, nodeBytes);
        long root = WordOrder.getLong(header, BTreeRegionDescriptor.ROOT_OFFSET);
        ShermanBTree tree = new ShermanBTree(connection, layout, options.withNodeBytes(nodeBytes), root);
        if (options.warmCacheOnOpen()) {
            tree.warmCache();
        }
        return tree;
    }

    static void clear(FabricConnection connection) {
        BTreeLayout probe = new BTreeLayout(connection, BTreeNodeDescriptor.MIN_NODE_BYTES);
        DoorbellBatch batch = new DoorbellBatch();
        batch.writeLong(probe.headerAddress(BTreeRegionDescriptor.STATE_OFFSET), BTreeRegionDescriptor.STATE_EMPTY);
        connection.execute(batch);
    }

    private static long ceilDiv(long dividend, long divisor) {
        return (dividend + divisor - 1) / divisor;
    }

    /** Writes nodes numbered consecutively as long runs, at most {@link #BULK_BYTES_PER_DOORBELL} per doorbell. */
    private static final class NodeWriter {
        private final FabricConnection connection;
        private final BTreeLayout layout;
        private final ByteArrayOutputStream run = new ByteArrayOutputStream();
        private long runStart;
        private long next;

        NodeWriter(FabricConnection connection, BTreeLayout layout) {
            this.connection = connection;
            this.layout = layout;
        }

        void add(long node, BTreeNode contents) {
            if (run.size() > 0 && node != next) {
                flush();
            }
            if (run.size() == 0) {
                runStart = node;
            }
            byte[] encoded = contents.encode(node);
            run.writeBytes(encoded);
            run.writeBytes(new byte[layout.nodeBytes() - encoded.length]); // the unused tail of the node's place
            next = node + 1;
            if (run.size() + layout.nodeBytes() > BULK_BYTES_PER_DOORBELL) {
                flush();
            }
        }

        void flush() {
            if (run.size() == 0) {
                return;
            }
            DoorbellBatch batch = new DoorbellBatch();
            batch.write(layout.nodeAddress(runStart), run.toByteArray());
            connection.execute(batch);
            run.reset();
        }
    }
}
