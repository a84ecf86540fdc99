package io.rolexkv.bench.ycsb;

import io.rolexkv.common.kv.BaseKV;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.ConcurrentHashMap;

/**
 * The records of a load phase held back for one {@link BaseKV#bulkLoad} instead of one put each: YCSB still generates
 * every key and value (so {@code dataintegrity} holds), the binding's inserts land here, and the harness loads them
 * in key order when the phase is over. A learned index trains its models on exactly these keys, as ROLEX's evaluation
 * does. A key inserted twice keeps its later value.
 */
public final class BulkLoadBuffer {
    private final ConcurrentHashMap<Long, byte[]> records = new ConcurrentHashMap<>();

    /** Holds {@code value} for {@code key} (an unsigned store key); the buffer keeps the array. */
    public void add(long key, byte[] value) {
        records.put(key, value);
    }

    public int size() {
        return records.size();
    }

    /** Loads every held record into {@code engine} in one bulk load, in unsigned key order, and empties the buffer. */
    public void loadInto(BaseKV engine) {
        long[] keys = new long[records.size()];
        int count = 0;
        for (Long key : records.keySet()) {
            if (count == keys.length) {
                keys = Arrays.copyOf(keys, keys.length * 2 + 1);
            }
            keys[count++] = key;
        }
        keys = Arrays.copyOf(keys, count);
        // Sorted as signed values, keys are in unsigned order after flipping their sign bits: sort flipped, flip back.
        for (int i = 0; i < count; i++) {
            keys[i] ^= Long.MIN_VALUE;
        }
        Arrays.sort(keys);
        List<byte[]> values = new ArrayList<>(count);
        for (int i = 0; i < count; i++) {
            keys[i] ^= Long.MIN_VALUE;
            values.add(records.get(keys[i]));
        }
        records.clear();
        engine.bulkLoad(keys, values);
    }
}
