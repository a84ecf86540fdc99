package io.rolexkv.rolex.index;

import io.rolexkv.common.fabric.CorruptDataException;
import io.rolexkv.common.fabric.FabricException;

import java.util.List;
import java.util.OptionalLong;

/**
 * An ordered index of unsigned 64-bit keys to 8-byte words on one memory node, operated one-sidedly from a compute
 * node: what a key-value engine needs from its index, and nothing of how the index finds a key. The engine turns
 * values into words (the value itself, or a handle to a value block) and keeps the blocks; the index only stores
 * words. {@link LeanIndex} is the learned index this project is about; a B+tree baseline implements the same
 * interface so that both run under one engine, one value store and one harness.
 *
 * <h2>What the engine relies on</h2>
 * <ul>
 *   <li>A write's {@link DoorbellExtras} run in the first doorbell the write posts to the memory node, before
 *       anything that can make the new word visible, and hear that doorbell's result; the engine writes a new value
 *       block there, so the block is in place before any reader can find its handle, and carries its chunk claims
 *       there.</li>
 *   <li>A {@link WordUpdate}'s verbs run before the index's own write of the new word and in the same doorbell, and
 *       the update hears that doorbell's result.</li>
 *   <li>What a failed write may have done, by the type it throws: {@link IndexGaveUpException} (a lock time-out, model
 *       churn, and {@link IndexFullException}): nothing was linked, the index released all it held. A
 *       {@link FabricException}: unknown, the word may or may not be linked. A {@link CorruptDataException}: the index
 *       is damaged, and whether the word was linked is not promised. Anything else (a bug, a caller's update that
 *       threw): unknown. For {@link #updateAll} of at most {@link #maxAtomicBatchKeys()} keys this holds for the call
 *       as a whole; the engine never passes more keys than that in one call, so it can reuse the blocks of a batch
 *       that gave up at once.</li>
 *   <li>Every method is safe to call from any number of threads and compute nodes at once.</li>
 * </ul>
 */
public interface WordIndex {
    /** The word stored under {@code key}, or empty. */
    OptionalLong get(long key);

    /**
     * Looks {@code key} up: true with its word put into {@code into}, or false if it is absent ({@code into} then keeps
     * what it held). {@link #get} for a hot path: no {@link OptionalLong}, and no word set aside to mean "absent". An
     * index whose lookup allocates nothing overrides it to keep it so.
     */
    default boolean find(long key, FoundWord into) {
        OptionalLong word = get(key);
        if (word.isEmpty()) {
            return false;
        }
        into.set(word.getAsLong());
        return true;
    }

    /** The words of {@code keys}, in order, empty where a key is absent; an index reads as many at once as it can. */
    OptionalLong[] getAll(long[] keys);

    /**
     * Up to {@code limit} pairs with {@code from <= key <= to} (unsigned), in key order. A key present for the whole
     * scan is returned; one inserted or deleted meanwhile may or may not be.
     */
    List<KeyValue> scan(long from, long to, int limit);

    /**
     * Stores {@code word} under {@code key}, inserting or replacing, and says what it replaced.
     * {@code firstDoorbellExtras} (may be {@code null}) appends verbs to the first doorbell and hears its result. If
     * the index throws, the extras may have run; what else happened depends on the type thrown (see above).
     *
     * @throws IndexFullException   if the key is new and the index has no room for it; nothing changed
     * @throws IndexGaveUpException if the index gave up (a lock it could not take in time); nothing changed
     */
    WriteResult put(long key, long word, DoorbellExtras firstDoorbellExtras);

    /** Applies {@code update} to {@code key}'s word under the key's lock: a read-modify-write no other write can split. */
    WriteResult update(long key, WordUpdate update);

    /**
     * Applies {@code updates[i]} to {@code keys[i]} for every i, in order (a key repeated ends with its later update;
     * each update sees the word the earlier ones left). {@code firstDoorbellExtras} (may be {@code null}) rides the
     * first doorbell of the whole call. All or nothing up to {@link #maxAtomicBatchKeys()} keys; for more, what an
     * index did before a failure stays done.
     */
    WriteResult[] updateAll(long[] keys, WordUpdate[] updates, DoorbellExtras firstDoorbellExtras);

    /** Removes {@code key} and returns the word it held, if any. */
    OptionalLong remove(long key);

    /** The most keys one {@link #updateAll} call writes all or nothing. */
    int maxAtomicBatchKeys();

    /** Bytes of index state this compute node caches (models and tables, or internal nodes). */
    long cachedBytes();
}
