package io.rolexkv.common.kv;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentSkipListMap;
import java.util.function.UnaryOperator;

/**
 * The in-process engine: a {@link ConcurrentSkipListMap} in this JVM. No fabric, no memory nodes; the reference every
 * other engine is tested against, and an engine for embedded use where one process holds everything.
 */
public final class SortedMapKV implements BaseKV {
    public static final String ENGINE_TYPE = "in_process";

    private final ConcurrentSkipListMap<Long, byte[]> map = new ConcurrentSkipListMap<>(Long::compareUnsigned);
    private final int maxValueBytes;
    private volatile boolean closed;

    public SortedMapKV(int maxValueBytes) {
        if (maxValueBytes < 0) {
            throw new IllegalArgumentException("max_value_bytes=" + maxValueBytes + " must be >= 0");
        }
        this.maxValueBytes = maxValueBytes;
    }

    @Override
    public Optional<byte[]> get(long key) {
        checkOpen();
        byte[] value = map.get(key);
        return value == null ? Optional.empty() : Optional.of(value.clone());
    }

    @Override
    public void put(long key, byte[] value) {
        checkOpen();
        checkValue(value);
        map.put(key, value.clone());
    }

    @Override
    public List<Optional<byte[]>> batchGet(long[] keys) {
        List<Optional<byte[]>> values = new ArrayList<>(keys.length);
        for (long key : keys) {
            values.add(get(key));
        }
        return values;
    }

    @Override
    public void batchPut(long[] keys, List<byte[]> values) {
        checkOpen();
        checkBatch(keys, values);
        for (byte[] value : values) {
            checkValue(value);
        }
        for (int i = 0; i < keys.length; i++) {
            map.put(keys[i], values.get(i).clone());
        }
    }

    @Override
    public boolean delete(long key) {
        checkOpen();
        return map.remove(key) != null;
    }

    @Override
    public List<KeyValueBytes> scan(long fromKey, long toKey, int limit) {
        checkOpen();
        if (limit < 0) {
            throw new IllegalArgumentException("limit=" + limit + " must be >= 0");
        }
        List<KeyValueBytes> out = new ArrayList<>();
        if (Long.compareUnsigned(fromKey, toKey) > 0) {
            return out;
        }
        for (Map.Entry<Long, byte[]> entry : map.subMap(fromKey, true, toKey, true).entrySet()) {
            if (out.size() >= limit) {
                break;
            }
            out.add(new KeyValueBytes(entry.getKey(), entry.getValue().clone()));
        }
        return out;
    }

    @Override
    public Optional<byte[]> update(long key, UnaryOperator<Optional<byte[]>> function) {
        checkOpen();
        byte[][] written = new byte[1][];
        map.compute(key, (k, current) -> {
            Optional<byte[]> next = function.apply(current == null ? Optional.empty() : Optional.of(current.clone()));
            next.ifPresent(SortedMapKV.this::checkValue);
            written[0] = next.map(byte[]::clone).orElse(null);
            return written[0];
        });
        return written[0] == null ? Optional.empty() : Optional.of(written[0].clone());
    }

    @Override
    public void bulkLoad(long[] sortedKeys, List<byte[]> values) {
        checkOpen();
        checkBatch(sortedKeys, values);
        checkSorted(sortedKeys);
        for (byte[] value : values) {
            checkValue(value);
        }
        map.clear();
        for (int i = 0; i < sortedKeys.length; i++) {
            map.put(sortedKeys[i], values.get(i).clone());
        }
    }

    @Override
    public void clear() {
        checkOpen();
        map.clear();
    }

    @Override
    public int maxValueBytes() {
        return maxValueBytes;
    }

    @Override
    public void close() {
        closed = true;
    }

    private void checkOpen() {
        if (closed) {
            throw new IllegalStateException("engine " + ENGINE_TYPE + " is closed");
        }
    }

    private void checkValue(byte[] value) {
        KeyValueChecks.checkValue(value, maxValueBytes);
    }

    private static void checkBatch(long[] keys, List<byte[]> values) {
        KeyValueChecks.checkBatch(keys, values);
    }

    private static void checkSorted(long[] keys) {
        KeyValueChecks.checkStrictlyIncreasing(keys);
    }
}
