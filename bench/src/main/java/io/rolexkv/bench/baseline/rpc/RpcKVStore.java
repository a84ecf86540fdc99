package io.rolexkv.bench.baseline.rpc;

import io.rolexkv.common.kv.KeyValueBytes;
import io.rolexkv.common.kv.KeyValueChecks;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentSkipListMap;
import java.util.function.Supplier;

import static io.rolexkv.bench.baseline.rpc.RpcFrameDescriptor.BATCH_GET_RESPONSE_FIXED_LENGTH;
import static io.rolexkv.bench.baseline.rpc.RpcFrameDescriptor.SCAN_RESPONSE_FIXED_LENGTH;
import static io.rolexkv.bench.baseline.rpc.RpcFrameDescriptor.optionalValueLength;

/**
 * The server side of the rpc baseline: the whole store in one {@link ConcurrentSkipListMap} ordered by
 * {@link Long#compareUnsigned}, and the code that executes each decoded request on it. This is the work the
 * traditional design puts on the memory node's CPU, and what the one-sided engines do from the compute node instead.
 *
 * <p>Thread-safe without locks of its own: every request from every connection runs on an event loop thread straight
 * against the map. Stored arrays are never changed after they are stored, so a reply may hand them to the encoder.
 * Update is not a server-side operation (the update function is client-side Java): the client reads, applies its
 * function and sends a COMPARE_AND_SET, which this class executes atomically on the value bytes with
 * {@link ConcurrentSkipListMap#replace(Object, Object, Object)} on the exact array it compared (arrays compare by
 * identity there), retrying only if another writer got in between its read and its swap.
 *
 * <p>Every request is checked before it changes anything, with {@link KeyValueChecks}' wording: a refused request
 * leaves the store as it was.
 */
final class RpcKVStore {
    private final ConcurrentSkipListMap<Long, byte[]> map = new ConcurrentSkipListMap<>(Long::compareUnsigned);
    private final int maxValueBytes;
    private final int maxFrameBytes;
    private final Supplier<RpcServerStats> stats;

    RpcKVStore(int maxValueBytes, int maxFrameBytes, Supplier<RpcServerStats> stats) {
        if (maxFrameBytes < RpcFrameDescriptor.minMaxFrameBytes(maxValueBytes)) {
            throw new IllegalArgumentException("max_frame_bytes=" + maxFrameBytes + " must be >= "
                    + RpcFrameDescriptor.minMaxFrameBytes(maxValueBytes) + " for max_value_bytes=" + maxValueBytes);
        }
        this.maxValueBytes = maxValueBytes;
        this.maxFrameBytes = maxFrameBytes;
        this.stats = stats;
    }

    /** Executes {@code request}; a refused request is a {@link RpcReply.Refused} answer and changed nothing. */
    RpcReply execute(RpcRequest request) {
        try {
            return switch (request) {
                case RpcRequest.Get get -> new RpcReply.Value(map.get(get.key()));
                case RpcRequest.Put put -> {
                    KeyValueChecks.checkValue(put.value(), maxValueBytes);
                    map.put(put.key(), put.value());
                    yield RpcReply.DONE;
                }
                case RpcRequest.Delete delete -> new RpcReply.Removed(map.remove(delete.key()) != null);
                case RpcRequest.BatchGet batchGet -> batchGet(batchGet.keys());
                case RpcRequest.BatchPut batchPut -> {
                    checkValues(batchPut.keys(), batchPut.values());
                    putAll(batchPut.keys(), batchPut.values());
                    yield RpcReply.DONE;
                }
                case RpcRequest.Scan scan -> scan(scan.fromKey(), scan.toKey(), scan.limit());
                case RpcRequest.CompareAndSet compareAndSet ->
                        compareAndSet(compareAndSet.key(), compareAndSet.expected(), compareAndSet.desired());
                case RpcRequest.BulkLoad bulkLoad -> {
                    KeyValueChecks.checkStrictlyIncreasing(bulkLoad.keys());
                    checkValues(bulkLoad.keys(), bulkLoad.values());
                    if (bulkLoad.replace()) {
                        map.clear();
                    }
                    putAll(bulkLoad.keys(), bulkLoad.values());
                    yield RpcReply.DONE;
                }
                case RpcRequest.Clear clear -> {
                    map.clear();
                    yield RpcReply.DONE;
                }
                case RpcRequest.Stats statistics -> new RpcReply.Stats(stats.get());
            };
        } catch (IllegalArgumentException refused) {
            return new RpcReply.Refused(refused.getMessage());
        }
    }

    private void checkValues(long[] keys, List<byte[]> values) {
        KeyValueChecks.checkBatch(keys, values);
        for (byte[] value : values) {
            KeyValueChecks.checkValue(value, maxValueBytes);
        }
    }

    private void putAll(long[] keys, List<byte[]> values) {
        for (int i = 0; i < keys.length; i++) {
            map.put(keys[i], values.get(i));
        }
    }

    /** Answers as many keys, from the first, as fit in one frame (always at least one). */
    private RpcReply batchGet(long[] keys) {
        List<byte[]> answered = new ArrayList<>(keys.length);
        long frameBytes = BATCH_GET_RESPONSE_FIXED_LENGTH;
        for (long key : keys) {
            byte[] value = map.get(key);
            frameBytes += optionalValueLength(value);
            if (!answered.isEmpty() && frameBytes > maxFrameBytes) {
                break;
            }
            answered.add(value);
        }
        if (answered.isEmpty() && keys.length > 0) {
            throw new IllegalStateException("batch_get answered no key of keys=" + keys.length);
        }
        return new RpcReply.Values(answered.toArray(new byte[0][]));
    }

    /** Up to {@code limit} pairs in {@code [fromKey, toKey]}, as many as fit in one frame. */
    private RpcReply scan(long fromKey, long toKey, int limit) {
        if (limit < 0) {
            throw new IllegalArgumentException("limit=" + limit + " must be >= 0");
        }
        List<KeyValueBytes> pairs = new ArrayList<>();
        if (limit == 0 || Long.compareUnsigned(fromKey, toKey) > 0) {
            return new RpcReply.ScanPage(pairs, false);
        }
        long frameBytes = SCAN_RESPONSE_FIXED_LENGTH;
        for (Map.Entry<Long, byte[]> entry : map.subMap(fromKey, true, toKey, true).entrySet()) {
            if (pairs.size() == limit) {
                break;
            }
            frameBytes += RpcFrameCodec.pairBytes(entry.getValue());
            if (!pairs.isEmpty() && frameBytes > maxFrameBytes) {
                return new RpcReply.ScanPage(pairs, true);
            }
            pairs.add(new KeyValueBytes(entry.getKey(), entry.getValue()));
        }
        return new RpcReply.ScanPage(pairs, false);
    }

    /**
     * Writes {@code desired} (null: removes the key) if the stored value is byte for byte {@code expected} (null: the
     * key is absent); otherwise answers CONFLICT with what is stored now. Linearizable: the compare and the swap act
     * on the same stored array, and the swap only lands if that array is still the one stored.
     */
    private RpcReply compareAndSet(long key, byte[] expected, byte[] desired) {
        if (desired != null) {
            KeyValueChecks.checkValue(desired, maxValueBytes);
        }
        while (true) {
            byte[] current = map.get(key);
            if (!Arrays.equals(current, expected)) {
                return new RpcReply.Conflict(current);
            }
            boolean swapped;
            if (current == null) {
                swapped = desired == null || map.putIfAbsent(key, desired) == null;
            } else if (desired == null) {
                swapped = map.remove(key, current);
            } else {
                swapped = map.replace(key, current, desired);
            }
            if (swapped) {
                return RpcReply.DONE;
            }
        }
    }
}
