package io.rolexkv.bench.baseline.btree;

import io.rolexkv.rolex.index.KeyValue;
import io.rolexkv.rolex.index.PutOutcome;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.OptionalLong;
import java.util.Random;
import java.util.TreeMap;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Seeded random put/delete/get/scan sequences against a TreeMap oracle, over every transport, from one and from three
 * compute nodes (each its own connection and cache: one warmed at open, one cold, one with a cache of four nodes), with
 * nodes small enough that the tree grows to several levels and splits at every level. After each run the whole tree is
 * read back and its B-link invariants checked.
 */
@Timeout(120)
class ShermanBTreeOracleTest {
    /** Six entries per node: trees of height 4 to 6 from a few thousand keys. */
    static final BTreeOptions SMALL_NODES = BTreeOptions.DEFAULT
            .withNodeBytes(BTreeNodeDescriptor.HEADER_BYTES + 6 * BTreeNodeDescriptor.ENTRY_BYTES)
            .withAllocationChunkNodes(4);

    static Stream<Arguments> cases() {
        List<Arguments> cases = new ArrayList<>();
        for (String transport : BTreeTransports.NAMES) {
            for (boolean bulk : new boolean[] {true, false}) {
                for (int clients : new int[] {1, 3}) {
                    cases.add(Arguments.of(transport, bulk, clients));
                }
            }
        }
        return cases.stream();
    }

    @ParameterizedTest(name = "{0} bulkLoad={1} clients={2}")
    @MethodSource("cases")
    void randomOperationsMatchTreeMap(String transport, boolean bulkLoad, int clients) {
        Random random = new Random(20_260_202L + clients * 31L + (bulkLoad ? 7 : 0));
        TreeMap<Long, Long> oracle = new TreeMap<>(Long::compareUnsigned);
        try (BTreeFixture fixture = new BTreeFixture(transport, 8L << 20)) {
            ShermanBTree first;
            if (bulkLoad) {
                long[] keys = randomSortedKeys(random, 3_000);
                long[] words = new long[keys.length];
                for (int i = 0; i < keys.length; i++) {
                    words[i] = random.nextLong();
                    oracle.put(keys[i], words[i]);
                }
                first = ShermanBTree.bulkLoad(fixture.connect(), SMALL_NODES, keys, words);
            } else {
                first = ShermanBTree.createEmpty(fixture.connect(), SMALL_NODES);
            }
            List<ShermanBTree> trees = new ArrayList<>();
            trees.add(first);
            if (clients > 1) {
                trees.add(ShermanBTree.open(fixture.connect(), SMALL_NODES.withWarmCacheOnOpen(false)));
                trees.add(ShermanBTree.open(fixture.connect(), SMALL_NODES.withCacheCapacityBytes(4L * SMALL_NODES.nodeBytes())));
            }
            List<Long> known = new ArrayList<>(oracle.keySet());
            for (int step = 0; step < 6_000; step++) {
                ShermanBTree tree = trees.get(random.nextInt(trees.size()));
                int operation = random.nextInt(100);
                long key = pickKey(random, known);
                if (operation < 45) {
                    long word = random.nextLong();
                    Long previous = oracle.put(key, word);
                    assertEquals(previous == null ? PutOutcome.INSERTED : PutOutcome.UPDATED,
                            tree.put(key, word), "put outcome for key " + Long.toUnsignedString(key));
                    known.add(key);
                } else if (operation < 60) {
                    assertEquals(oracle.remove(key) != null, tree.delete(key), "delete of key " + Long.toUnsignedString(key));
                } else if (operation < 88) {
                    Long expected = oracle.get(key);
                    assertEquals(expected == null ? OptionalLong.empty() : OptionalLong.of(expected), tree.get(key),
                            "get of key " + Long.toUnsignedString(key));
                } else {
                    long to = random.nextInt(4) == 0 ? -1L : key + (random.nextLong() >>> random.nextInt(1, 64));
                    if (Long.compareUnsigned(to, key) < 0) {
                        to = -1L;
                    }
                    int limit = random.nextInt(5) == 0 ? 0 : random.nextInt(1, 80);
                    assertEquals(expectedScan(oracle, key, to, limit), tree.scan(key, to, limit),
                            "scan from " + Long.toUnsignedString(key) + " to " + Long.toUnsignedString(to) + " limit " + limit);
                }
            }
            for (ShermanBTree tree : trees) {
                assertEquals(expectedScan(oracle, 0, -1L, Integer.MAX_VALUE), tree.scan(0, -1L, Integer.MAX_VALUE),
                        "a full scan from every compute node matches the oracle");
            }
            BTreeInspector.Stats stats = BTreeInspector.inspect(fixture.connect());
            assertEquals(oracle.size(), stats.keys(), "keys in the tree");
            assertTrue(stats.height() >= 3, "the tree must grow to three levels at least: " + stats);
            long splits = trees.stream().mapToLong(tree -> tree.counters().internalSplits()).sum();
            assertTrue(splits > 0, "internal nodes must split too, internalSplits=" + splits);
            if (clients > 1) {
                assertTrue(trees.get(1).counters().cacheMisses() > 0, "the cold compute node fetches paths");
                assertTrue(trees.get(2).cachedBytes() <= 4L * SMALL_NODES.nodeBytes(),
                        "the cache budget holds: cachedBytes=" + trees.get(2).cachedBytes());
                long hops = trees.stream().mapToLong(tree -> tree.counters().siblingHops()).sum();
                assertTrue(hops > 0, "stale caches must have moved right along sibling links");
            }
        }
    }

    static long[] randomSortedKeys(Random random, int count) {
        TreeMap<Long, Boolean> keys = new TreeMap<>(Long::compareUnsigned);
        long cursor = 0;
        while (keys.size() < count) {
            cursor += 1 + random.nextInt(random.nextInt(10) == 0 ? 5_000_000 : 1_000); // clustered gaps
            keys.put(cursor * 0x1_0000_0001L, true); // some keys land above 2^63: unsigned order matters
        }
        return keys.keySet().stream().mapToLong(Long::longValue).toArray();
    }

    private static long pickKey(Random random, List<Long> known) {
        int choice = random.nextInt(10);
        if (choice < 6 && !known.isEmpty()) {
            return known.get(random.nextInt(known.size()));
        }
        if (choice < 8 && !known.isEmpty()) {
            return known.get(random.nextInt(known.size())) + 1;
        }
        return choice == 8 ? random.nextLong() : random.nextLong() >>> 1;
    }

    private static List<KeyValue> expectedScan(TreeMap<Long, Long> oracle, long from, long to, int limit) {
        List<KeyValue> expected = new ArrayList<>();
        if (limit == 0 || Long.compareUnsigned(from, to) > 0) {
            return expected;
        }
        for (Map.Entry<Long, Long> entry : oracle.subMap(from, true, to, true).entrySet()) {
            if (expected.size() == limit) {
                break;
            }
            expected.add(new KeyValue(entry.getKey(), entry.getValue()));
        }
        return expected;
    }
}
