package io.rolexkv.rolex.index;

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
 * Seeded random operation sequences against a TreeMap oracle, over every transport, from one and from several compute
 * nodes (each its own connection and model cache), with leaves small enough that inserts force synonym leaves.
 */
@Timeout(120)
class RolexIndexOracleTest {

    static Stream<Arguments> cases() {
        List<Arguments> cases = new ArrayList<>();
        for (String transport : IndexTransports.NAMES) {
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
        Random random = new Random(20_260_101L + clients * 31L + (bulkLoad ? 7 : 0));
        TreeMap<Long, Long> oracle = new TreeMap<>(Long::compareUnsigned);
        IndexGeometry geometry = IndexGeometry.of(8, 0.75, 4).withEmptyIndexLeaves(16).withLeafAllocationChunk(4);
        try (IndexFixture fixture = new IndexFixture(transport, 64L << 20)) {
            RolexIndex first;
            if (bulkLoad) {
                long[] keys = new long[3_000];
                long cursor = 0;
                for (int i = 0; i < keys.length; i++) {
                    cursor += 1 + random.nextInt(random.nextInt(10) == 0 ? 5_000_000 : 1_000); // clustered gaps
                    keys[i] = cursor * 0x1_0000_0001L; // some keys land above 2^63: unsigned order matters
                }
                java.util.Arrays.sort(keys);
                keys = uniqueUnsignedSorted(keys);
                long[] values = new long[keys.length];
                for (int i = 0; i < keys.length; i++) {
                    values[i] = random.nextLong();
                    oracle.put(keys[i], values[i]);
                }
                first = RolexIndex.bulkLoad(fixture.connect(), geometry, keys, values);
            } else {
                first = RolexIndex.createEmpty(fixture.connect(), geometry);
            }
            List<RolexIndex> indexes = new ArrayList<>();
            indexes.add(first);
            for (int c = 1; c < clients; c++) {
                indexes.add(RolexIndex.open(fixture.connect()));
            }
            List<Long> known = new ArrayList<>(oracle.keySet());
            for (int step = 0; step < 6_000; step++) {
                RolexIndex index = indexes.get(random.nextInt(indexes.size()));
                int operation = random.nextInt(100);
                long key = pickKey(random, known);
                if (operation < 45) {
                    long value = random.nextLong();
                    PutOutcome outcome = index.put(key, value);
                    Long previous = oracle.put(key, value);
                    assertEquals(previous == null ? PutOutcome.INSERTED : PutOutcome.UPDATED, outcome,
                            "put outcome for key " + Long.toUnsignedString(key));
                    known.add(key);
                } else if (operation < 60) {
                    assertEquals(oracle.remove(key) != null, index.delete(key), "delete " + Long.toUnsignedString(key));
                } else if (operation < 90) {
                    Long expected = oracle.get(key);
                    OptionalLong actual = index.get(key);
                    assertEquals(expected == null ? OptionalLong.empty() : OptionalLong.of(expected), actual,
                            "get " + Long.toUnsignedString(key));
                } else {
                    int limit = 1 + random.nextInt(50);
                    long to = random.nextInt(4) == 0 ? -1L : key + random.nextInt(1 << 30);
                    if (Long.compareUnsigned(to, key) < 0) {
                        to = -1L;
                    }
                    assertEquals(oracleScan(oracle, key, to, limit), index.scan(key, to, limit),
                            "scan from " + Long.toUnsignedString(key));
                }
            }
            for (RolexIndex index : indexes) {
                for (Map.Entry<Long, Long> entry : oracle.entrySet()) {
                    assertEquals(OptionalLong.of(entry.getValue()), index.get(entry.getKey()));
                }
                assertEquals(oracleScan(oracle, 0, -1L, Integer.MAX_VALUE), index.scan(0, -1L, Integer.MAX_VALUE),
                        "a full scan returns exactly the oracle's pairs");
            }
            long splits = indexes.stream().mapToLong(index -> index.counters().splits()).sum();
            assertTrue(splits > 0, "the run must exercise synonym leaves, splits=" + splits);
        }
    }

    static long[] uniqueUnsignedSorted(long[] keys) {
        Long[] boxed = java.util.Arrays.stream(keys).boxed().toArray(Long[]::new);
        java.util.Arrays.sort(boxed, Long::compareUnsigned);
        return java.util.Arrays.stream(boxed).distinct().mapToLong(Long::longValue).toArray();
    }

    private static long pickKey(Random random, List<Long> known) {
        if (!known.isEmpty() && random.nextInt(3) != 0) {
            return known.get(random.nextInt(known.size()));
        }
        return random.nextInt(4) == 0 ? random.nextLong() : (random.nextLong() >>> 20) * 0x1_0000_0001L;
    }

    static List<KeyValue> oracleScan(TreeMap<Long, Long> oracle, long from, long to, int limit) {
        List<KeyValue> out = new ArrayList<>();
        for (Map.Entry<Long, Long> entry : oracle.tailMap(from, true).entrySet()) {
            if (out.size() >= limit || Long.compareUnsigned(entry.getKey(), to) > 0) {
                break;
            }
            out.add(new KeyValue(entry.getKey(), entry.getValue()));
        }
        return out;
    }
}
