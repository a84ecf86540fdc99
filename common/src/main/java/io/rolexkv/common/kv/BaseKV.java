package io.rolexkv.common.kv;

import java.lang.foreign.MemorySegment;
import java.util.List;
import java.util.Optional;
import java.util.function.UnaryOperator;

/**
 * The store as its users call it, after RecStore's storage layer: {@code uint64 key -> bytes} (an ML embedding, a YCSB
 * record), with batch calls, bulk load and scans. Engines implement it; which one is chosen by {@code engine_type} in
 * the JSON config.
 *
 * <h2>Keys</h2>
 * Keys are unsigned 64-bit integers held in a {@code long}: ordered by {@link Long#compareUnsigned}, so
 * {@code 0xFFFF_FFFF_FFFF_FFFFL} ({@code -1L}) is the largest key. Every key is valid.
 *
 * <h2>Values</h2>
 * Byte arrays of any length from 0 up to the engine's configured maximum ({@link #maxValueBytes()}); a longer value is
 * refused with {@link IllegalArgumentException} and nothing is stored. Arrays passed in are not kept (the engine copies
 * or writes them out before returning); arrays returned are the caller's.
 *
 * <h2>Semantics</h2>
 * <ul>
 *   <li>A missing key is an empty result, never an exception.</li>
 *   <li>{@link #batchGet} answers in the order of the keys asked, duplicates included.</li>
 *   <li>{@link #batchPut} behaves as if its pairs were put one after another in order: a key repeated in one batch
 *       ends with the later value.</li>
 *   <li>{@link #update} is a read-modify-write of one value under the engine's lock for that key: no put from anyone
 *       else can slip between its read and its write.</li>
 *   <li>After {@link #close()} every call throws {@link IllegalStateException}.</li>
 * </ul>
 * Thread-safe: any number of threads may call one instance at once.
 */
public interface BaseKV extends AutoCloseable {

    /** The value stored under {@code key}, or empty. */
    Optional<byte[]> get(long key);

    /**
     * The value stored under {@code key} as a read-only view, or empty: where the transport allows it, the bytes as
     * they arrived from the memory node, without a copy (read an embedding as floats with
     * {@code view.getAtIndex(ValueLayout.JAVA_FLOAT_UNALIGNED, i)}). The view stays valid after the call.
     */
    default Optional<MemorySegment> getView(long key) {
        return get(key).map(bytes -> MemorySegment.ofArray(bytes).asReadOnly());
    }

    /** Stores {@code value} under {@code key}, replacing any value. */
    void put(long key, byte[] value);

    /** The values of {@code keys}, in order; empty where a key is missing. */
    List<Optional<byte[]>> batchGet(long[] keys);

    /** Puts {@code values.get(i)} under {@code keys[i]} for every i, as if in order. */
    void batchPut(long[] keys, List<byte[]> values);

    /** Removes {@code key}; returns whether it was there. */
    boolean delete(long key);

    /** Up to {@code limit} pairs with {@code fromKey <= key <= toKey} (unsigned), in key order. */
    List<KeyValueBytes> scan(long fromKey, long toKey, int limit);

    /** Up to {@code count} pairs from {@code fromKey} on, in key order. */
    default List<KeyValueBytes> scan(long fromKey, int count) {
        return scan(fromKey, -1L, count);
    }

    /**
     * Replaces the value of {@code key} with {@code function} applied to it, atomically with respect to every other
     * write of that key (a parameter server applying an optimizer step to an embedding). The function receives the
     * current value, or empty if the key is absent, and returns the new value, or empty to delete the key. It may run
     * more than once if the engine has to retry, so it must have no side effects.
     *
     * @return the value written, or empty if the key ended deleted
     */
    Optional<byte[]> update(long key, UnaryOperator<Optional<byte[]>> function);

    /**
     * Loads {@code values.get(i)} under {@code sortedKeys[i]}; the keys must be strictly increasing (unsigned). Meant
     * for an empty store; replaces whatever was there.
     *
     * @throws IllegalArgumentException for unsorted or duplicate keys, naming the first offending pair
     */
    void bulkLoad(long[] sortedKeys, List<byte[]> values);

    /** Removes every key. */
    void clear();

    /** The largest value this engine accepts, in bytes. */
    int maxValueBytes();

    @Override
    void close();
}
