package io.rolexkv.bench.ycsb;

import org.junit.jupiter.api.Test;
import site.ycsb.ByteArrayByteIterator;
import site.ycsb.ByteIterator;

import java.util.Arrays;
import java.util.HashMap;
import java.util.HashSet;
import java.util.Map;
import java.util.Properties;
import java.util.Set;
import java.util.SplittableRandom;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class YcsbRecordCodecTest {
    private static final long SEED = 0xC0DEC_0001L;

    private static byte[] randomBytes(SplittableRandom random, int length) {
        byte[] bytes = new byte[length];
        for (int i = 0; i < length; i++) {
            bytes[i] = (byte) random.nextInt(256);
        }
        return bytes;
    }

    /** A record with each field present at random, of random length (long enough for 2-byte varints too). */
    private static byte[][] randomRecord(SplittableRandom random, int fieldCount) {
        byte[][] fields = new byte[fieldCount][];
        for (int ordinal = 0; ordinal < fieldCount; ordinal++) {
            if (random.nextInt(4) != 0) {
                int length = random.nextInt(5) == 0 ? random.nextInt(300) : random.nextInt(20);
                fields[ordinal] = randomBytes(random, length);
            }
        }
        return fields;
    }

    private static Map<String, byte[]> asMap(YcsbRecordCodec codec, byte[][] fields) {
        Map<String, byte[]> map = new HashMap<>();
        for (int ordinal = 0; ordinal < fields.length; ordinal++) {
            if (fields[ordinal] != null) {
                map.put(codec.fieldName(ordinal), fields[ordinal]);
            }
        }
        return map;
    }

    private static Map<String, byte[]> readBack(Map<String, ByteIterator> result) {
        Map<String, byte[]> bytes = new HashMap<>();
        result.forEach((name, value) -> bytes.put(name, value.toArray()));
        return bytes;
    }

    private static void assertSameRecord(Map<String, byte[]> expected, Map<String, byte[]> actual) {
        assertEquals(expected.keySet(), actual.keySet());
        expected.forEach((name, value) -> assertArrayEquals(value, actual.get(name), name));
    }

    @Test
    void recordsRoundTripWithAnyFieldsPresent() {
        SplittableRandom random = new SplittableRandom(SEED);
        for (int fieldCount : new int[]{2, 3, 10, 200}) {
            YcsbRecordCodec codec = new YcsbRecordCodec("field", fieldCount);
            for (int i = 0; i < 2_000; i++) {
                byte[][] fields = randomRecord(random, fieldCount);
                byte[] value = codec.encode(fields);
                byte[][] decoded = codec.decode(value);
                for (int ordinal = 0; ordinal < fieldCount; ordinal++) {
                    assertArrayEquals(fields[ordinal], decoded[ordinal], "ordinal " + ordinal);
                }
                Map<String, ByteIterator> result = new HashMap<>();
                codec.decodeInto(value, null, result);
                assertSameRecord(asMap(codec, fields), readBack(result));
            }
        }
    }

    @Test
    void readOfSomeFieldsReturnsOnlyThoseFields() {
        SplittableRandom random = new SplittableRandom(SEED + 1);
        YcsbRecordCodec codec = new YcsbRecordCodec("field", 10);
        for (int i = 0; i < 2_000; i++) {
            byte[][] fields = randomRecord(random, 10);
            Set<String> wanted = new HashSet<>();
            for (int ordinal = 0; ordinal < 10; ordinal++) {
                if (random.nextBoolean()) {
                    wanted.add(codec.fieldName(ordinal));
                }
            }
            Map<String, byte[]> expected = asMap(codec, fields);
            expected.keySet().retainAll(wanted);
            Map<String, ByteIterator> result = new HashMap<>();
            codec.decodeInto(codec.encode(fields), wanted, result);
            assertSameRecord(expected, readBack(result));
        }
    }

    @Test
    void mergeReplacesTheGivenFieldsAndKeepsTheOthers() {
        SplittableRandom random = new SplittableRandom(SEED + 2);
        YcsbRecordCodec codec = new YcsbRecordCodec("field", 10);
        for (int i = 0; i < 2_000; i++) {
            byte[][] stored = randomRecord(random, 10);
            byte[][] changes = randomRecord(random, 10);
            byte[][] merged = codec.decode(codec.merge(codec.encode(stored), changes));
            for (int ordinal = 0; ordinal < 10; ordinal++) {
                assertArrayEquals(changes[ordinal] != null ? changes[ordinal] : stored[ordinal], merged[ordinal]);
            }
        }
    }

    @Test
    void aOneFieldRecordIsItsBytesWithNoOverhead() {
        Properties properties = new Properties();
        properties.setProperty("fieldcount", "1");
        YcsbRecordCodec codec = YcsbRecordCodec.fromProperties(properties);
        assertTrue(codec.isRaw());
        byte[] eight = {1, 2, 3, 4, 5, 6, 7, (byte) 0x88};
        byte[] value = codec.encode(new byte[][]{eight});
        assertArrayEquals(eight, value);
        assertEquals(8, codec.maxValueBytes(8));
        Map<String, ByteIterator> result = new HashMap<>();
        codec.decodeInto(value, Set.of("field0"), result);
        assertArrayEquals(eight, result.get("field0").toArray());
        assertArrayEquals(new byte[0], codec.encode(new byte[1][]), "a record without its one field stores nothing");
    }

    @Test
    void theDefaultRecordCostsTwoBytesPerField() {
        YcsbRecordCodec codec = YcsbRecordCodec.fromProperties(new Properties());
        assertEquals(10, codec.fieldCount());
        byte[][] fields = new byte[10][];
        Arrays.setAll(fields, ordinal -> new byte[100]);
        assertEquals(1_020, codec.encode(fields).length);
        assertEquals(1_020, codec.maxValueBytes(100));
    }

    @Test
    void maxValueBytesBoundsEveryRecord() {
        SplittableRandom random = new SplittableRandom(SEED + 3);
        for (int fieldCount : new int[]{1, 2, 10, 130}) {
            YcsbRecordCodec codec = new YcsbRecordCodec("f", fieldCount);
            for (int maxField : new int[]{0, 1, 127, 128, 1000, 20_000}) {
                byte[][] full = new byte[fieldCount][];
                for (int ordinal = 0; ordinal < fieldCount; ordinal++) {
                    full[ordinal] = randomBytes(random, maxField);
                }
                int length = codec.encode(full).length;
                assertTrue(length <= codec.maxValueBytes(maxField), fieldCount + " fields of " + maxField);
                if (fieldCount <= 128) {
                    assertEquals(codec.maxValueBytes(maxField), length, "the bound is tight below 128 fields");
                }
            }
        }
    }

    @Test
    void fieldsAreNamedByTheSchemaOnly() {
        YcsbRecordCodec codec = new YcsbRecordCodec("field", 10);
        assertEquals(0, codec.ordinal("field0"));
        assertEquals(9, codec.ordinal("field9"));
        for (String name : new String[]{"field10", "field01", "field", "Field1", "fieldx", "f1", "field-1",
                "field99999999999999"}) {
            IllegalArgumentException refused = assertThrows(IllegalArgumentException.class, () -> codec.ordinal(name));
            assertTrue(refused.getMessage().contains("field=" + name), refused.getMessage());
        }
        Map<String, ByteIterator> unknown = Map.of("field10", new ByteArrayByteIterator(new byte[1]));
        assertThrows(IllegalArgumentException.class, () -> codec.fieldsOf(unknown));
        assertThrows(IllegalArgumentException.class,
                () -> codec.decodeInto(codec.encode(new byte[10][]), Set.of("nope"), new HashMap<>()));
    }

    @Test
    void fieldsOfReadsYcsbIteratorsAndTellsACompleteRecord() {
        YcsbRecordCodec codec = new YcsbRecordCodec("field", 2);
        Map<String, ByteIterator> one = Map.of("field1", new ByteArrayByteIterator(new byte[]{7, 8}));
        byte[][] fields = codec.fieldsOf(one);
        assertNull(fields[0]);
        assertArrayEquals(new byte[]{7, 8}, fields[1]);
        assertFalse(YcsbRecordCodec.isComplete(fields));
        fields[0] = new byte[0];
        assertTrue(YcsbRecordCodec.isComplete(fields));
    }

    @Test
    void corruptValuesAreRefusedWithTheOffset() {
        YcsbRecordCodec codec = new YcsbRecordCodec("field", 10);
        byte[][] fields = new byte[10][];
        fields[2] = new byte[]{1, 2, 3};
        fields[5] = new byte[200];
        byte[] value = codec.encode(fields);
        byte[] truncated = Arrays.copyOf(value, value.length - 1);
        assertTrue(assertThrows(IllegalStateException.class, () -> codec.decode(truncated)).getMessage()
                .contains("offset=5"));
        byte[] outOfOrder = {5, 0, 2, 0};
        assertThrows(IllegalStateException.class, () -> codec.decode(outOfOrder));
        byte[] beyondSchema = {10, 0};
        assertThrows(IllegalStateException.class, () -> codec.decode(beyondSchema));
        byte[] endlessVarint = {1, (byte) 0x80, (byte) 0x80, (byte) 0x80, (byte) 0x80, (byte) 0x80, 1};
        assertThrows(IllegalStateException.class, () -> codec.decode(endlessVarint));
        byte[] runsOff = {1, (byte) 0x80};
        assertThrows(IllegalStateException.class, () -> codec.decode(runsOff));
    }
}
