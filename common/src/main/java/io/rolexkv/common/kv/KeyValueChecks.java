package io.rolexkv.common.kv;

import java.util.List;

/** The argument checks every {@link BaseKV} engine makes, with one wording. */
public final class KeyValueChecks {
    private KeyValueChecks() {
    }

    public static void checkValue(byte[] value, int maxValueBytes) {
        if (value == null) {
            throw new IllegalArgumentException("value is null; store an empty array for an empty value");
        }
        if (value.length > maxValueBytes) {
            throw new IllegalArgumentException("value bytes=" + value.length + " exceeds max_value_bytes=" + maxValueBytes);
        }
    }

    public static void checkBatch(long[] keys, List<byte[]> values) {
        if (keys.length != values.size()) {
            throw new IllegalArgumentException("keys=" + keys.length + " values=" + values.size() + " must match");
        }
    }

    /** Throws naming the first pair of {@code keys} that is not strictly increasing (unsigned). */
    public static void checkStrictlyIncreasing(long[] keys) {
        for (int i = 1; i < keys.length; i++) {
            int order = Long.compareUnsigned(keys[i - 1], keys[i]);
            if (order >= 0) {
                throw new IllegalArgumentException("bulk load needs strictly increasing keys: "
                        + (order == 0 ? "duplicate" : "unsorted") + " at index=" + i + " keys[" + (i - 1) + "]="
                        + Long.toUnsignedString(keys[i - 1]) + " keys[" + i + "]=" + Long.toUnsignedString(keys[i]));
            }
        }
    }
}
