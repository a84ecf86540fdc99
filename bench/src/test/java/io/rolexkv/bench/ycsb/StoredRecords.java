package io.rolexkv.bench.ycsb;

import io.rolexkv.common.kv.BaseKV;

import java.nio.charset.StandardCharsets;
import java.util.Properties;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

/** Checks of what a YCSB run left in the store, against YCSB's own key names and integrity values. */
final class StoredRecords {
    private StoredRecords() {
    }

    /**
     * The engine holds exactly the records {@code 0 .. expectedRecords - 1} as YCSB names them under
     * {@code properties}, every field exactly YCSB's {@code dataintegrity} value.
     */
    static void assertEveryRecordIntact(Properties properties, BaseKV engine, long expectedRecords) {
        YcsbKeyNames ycsb = YcsbKeyNames.of(properties);
        YcsbKeyCodec keys = YcsbKeyCodec.fromProperties(properties);
        YcsbRecordCodec records = YcsbRecordCodec.fromProperties(properties);
        int fieldLength = Integer.parseInt(properties.getProperty("fieldlength"));
        for (long keyNumber = 0; keyNumber < expectedRecords; keyNumber++) {
            String key = ycsb.keyName(keyNumber);
            byte[][] fields = records.decode(engine.get(keys.encode(key)).orElseThrow(
                    () -> new AssertionError("record " + key + " is missing")));
            for (int ordinal = 0; ordinal < records.fieldCount(); ordinal++) {
                String field = records.fieldName(ordinal);
                assertArrayEquals(YcsbKeyNames.integrityValue(key, field, fieldLength)
                        .getBytes(StandardCharsets.ISO_8859_1), fields[ordinal], key + " " + field);
            }
        }
        assertEquals(expectedRecords, engine.scan(0, -1L, Integer.MAX_VALUE).size(), "no record YCSB did not write");
    }
}
