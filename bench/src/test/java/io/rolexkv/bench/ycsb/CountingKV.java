package io.rolexkv.bench.ycsb;

import io.rolexkv.common.kv.BaseKV;
import io.rolexkv.common.kv.KeyValueBytes;
import io.rolexkv.common.kv.SortedMapKV;

import java.util.EnumMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.UnaryOperator;

/** A spy engine: the in-process engine, counting the calls made to it by method. */
final class CountingKV implements BaseKV {
    enum Call { GET, PUT, BATCH_GET, BATCH_PUT, DELETE, SCAN, UPDATE, BULK_LOAD, CLEAR }

    private final SortedMapKV delegate;
    private final Map<Call, AtomicLong> calls = new EnumMap<>(Call.class);
    /** Optional per-call hook (a cost to post, a failure to throw) run before each call is delegated. */
    private volatile Runnable beforeEachCall = () -> { };

    CountingKV(int maxValueBytes) {
        delegate = new SortedMapKV(maxValueBytes);
        for (Call call : Call.values()) {
            calls.put(call, new AtomicLong());
        }
    }

    long calls(Call call) {
        return calls.get(call).get();
    }

    void resetCalls() {
        calls.values().forEach(count -> count.set(0));
    }

    void beforeEachCall(Runnable hook) {
        beforeEachCall = hook;
    }

    private void count(Call call) {
        calls.get(call).incrementAndGet();
        beforeEachCall.run();
    }

    @Override
    public Optional<byte[]> get(long key) {
        count(Call.GET);
        return delegate.get(key);
    }

    @Override
    public void put(long key, byte[] value) {
        count(Call.PUT);
        delegate.put(key, value);
    }

    @Override
    public List<Optional<byte[]>> batchGet(long[] keys) {
        count(Call.BATCH_GET);
        return delegate.batchGet(keys);
    }

    @Override
    public void batchPut(long[] keys, List<byte[]> values) {
        count(Call.BATCH_PUT);
        delegate.batchPut(keys, values);
    }

    @Override
    public boolean delete(long key) {
        count(Call.DELETE);
        return delegate.delete(key);
    }

    @Override
    public List<KeyValueBytes> scan(long fromKey, long toKey, int limit) {
        count(Call.SCAN);
        return delegate.scan(fromKey, toKey, limit);
    }

    @Override
    public Optional<byte[]> update(long key, UnaryOperator<Optional<byte[]>> function) {
        count(Call.UPDATE);
        return delegate.update(key, function);
    }

    @Override
    public void bulkLoad(long[] sortedKeys, List<byte[]> values) {
        count(Call.BULK_LOAD);
        delegate.bulkLoad(sortedKeys, values);
    }

    @Override
    public void clear() {
        count(Call.CLEAR);
        delegate.clear();
    }

    @Override
    public int maxValueBytes() {
        return delegate.maxValueBytes();
    }

    @Override
    public void close() {
        delegate.close();
    }
}
