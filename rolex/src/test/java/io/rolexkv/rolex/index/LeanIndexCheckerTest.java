package io.rolexkv.rolex.index;

import io.rolexkv.common.fabric.DoorbellBatch;
import io.rolexkv.common.fabric.FabricConnection;
import io.rolexkv.common.fabric.TestMemoryNode;
import io.rolexkv.common.fabric.WordOrder;
import io.rolexkv.rolex.layout.GroupWord;
import org.junit.jupiter.api.Test;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.BiConsumer;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The lean structure checker finds a sound index sound, and names each of several ways to break one. */
class LeanIndexCheckerTest {
    private static Map<String, Long> regions() {
        Map<String, Long> regions = new LinkedHashMap<>();
        regions.put(IndexLayout.META_REGION, 4096L);
        regions.put(IndexLayout.LEAVES_REGION, 8L << 20);
        regions.put(IndexLayout.TABLES_REGION, 8L << 20);
        regions.put(IndexLayout.MODELS_REGION, 1L << 20);
        return regions;
    }

    /** 2,000 keys bulk loaded (multiples of 100) and 300 inserted between them: delta chains in many groups. */
    private static LeanIndex grown(TestMemoryNode node) {
        long[] keys = java.util.stream.LongStream.rangeClosed(1, 2_000).map(i -> i * 100 + (i % 7) * 13).toArray();
        LeanIndex index = LeanIndex.bulkLoad(node.connect(), new IndexGeometry(4, 8, 8, IndexGeometry.EMPTY_INDEX_GROUPS_DEFAULT), keys, keys.clone());
        for (int i = 0; i < 300; i++) {
            index.put(keys[i * 6] + 1, i, null);
        }
        return index;
    }

    private static void breakAndExpect(String expected, BiConsumer<FabricConnection, LeanModel> damage) {
        try (TestMemoryNode node = new TestMemoryNode("loopback", regions())) {
            grown(node);
            LeanIndexChecker.Report sound = LeanIndexChecker.check(node.connect()).requireSound();
            assertEquals(2_300, sound.keys());
            assertTrue(sound.deltaLeaves() > 10, "delta leaves: " + sound);
            FabricConnection connection = node.connect();
            LeanModel model = firstModel(connection);
            damage.accept(connection, model);
            LeanIndexChecker.Report broken = LeanIndexChecker.check(node.connect());
            assertFalse(broken.sound(), "the checker must see: " + expected);
            List<String> matching = broken.violations().stream().filter(v -> v.contains(expected)).toList();
            assertFalse(matching.isEmpty(), "expected a violation naming '" + expected + "', got " + broken.violations());
        }
    }

    private static LeanModel firstModel(FabricConnection connection) {
        IndexLoader.Meta meta = IndexLoader.readMeta(connection);
        IndexLayout layout = new IndexLayout(connection, meta.leafCapacity());
        return IndexLoader.decodeModelSet(IndexLoader.readBytes(connection,
                layout.modelsAddress(meta.modelSetOffset()), meta.modelSetBytes()), meta.epoch()).getFirst();
    }

    private static void write(FabricConnection connection, long tablesOffset, long word) {
        IndexLayout layout = new IndexLayout(connection, 8);
        DoorbellBatch batch = new DoorbellBatch();
        batch.writeLong(layout.tablesAddress(tablesOffset), word);
        connection.execute(batch);
    }

    private static long read(FabricConnection connection, long tablesOffset) {
        IndexLayout layout = new IndexLayout(connection, 8);
        return IndexLoader.readBytes(connection, layout.tablesAddress(tablesOffset), 8).get(WordOrder.LONG_UNALIGNED, 0);
    }

    @Test
    void aHeldLockIsNamed() {
        breakAndExpect("is locked", (connection, model) ->
                write(connection, model.groupOffset(1), GroupWord.withLock(read(connection, model.groupOffset(1)))));
    }

    @Test
    void baseKeysOutOfOrderAreNamed() {
        breakAndExpect("not strictly ascending", (connection, model) -> {
            long second = read(connection, model.baseEntryOffset(5));
            write(connection, model.baseEntryOffset(4), second);
        });
    }

    @Test
    void aDamagedDeltaLeafIsNamed() {
        breakAndExpect("fails its checksum", (connection, model) -> {
            long head = read(connection, model.groupOffset(0) + 8);
            assertTrue(head != 0, "group 0 has a delta chain");
            IndexLayout layout = new IndexLayout(connection, 8);
            DoorbellBatch batch = new DoorbellBatch();
            batch.writeLong(layout.leafAddress(head) + 64, 0x1234_5678L); // a key word, checksum left as it was
            connection.execute(batch);
        });
    }

    @Test
    void anSltCounterBelowItsLeavesIsNamed() {
        breakAndExpect("SLT counter", (connection, model) -> write(connection, model.synonymTableOffset(), 0));
    }

    @Test
    void deletedBitsBeyondAGroupAreNamed() {
        breakAndExpect("bits beyond", (connection, model) -> {
            int last = model.groupCount() - 1;
            write(connection, model.groupOffset(last), GroupWord.withDeleted(read(connection, model.groupOffset(last)),
                    GroupWord.MAX_GROUP_SIZE - 1, true));
        });
    }
}
