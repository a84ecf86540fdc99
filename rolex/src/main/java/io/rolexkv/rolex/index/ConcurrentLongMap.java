package io.rolexkv.rolex.index;

import java.util.Objects;
import java.util.concurrent.atomic.AtomicReferenceArray;
import java.util.function.Consumer;
import java.util.function.LongPredicate;

/**
 * A concurrent map from {@code long} keys to non-null values that boxes nothing: what an index caches per group (keyed
 * by where the group lives), consulted on every lookup. A {@code ConcurrentHashMap<Long, V>} makes a {@code Long} per
 * call for most keys; this map's reads are lock-free and allocate nothing.
 *
 * <p>How: a power-of-two table of buckets, each an immutable chain of nodes. A write, under the map's lock, replaces
 * the one chain it changes with a new one (copying the few nodes ahead of the key), or builds a new table and publishes
 * it whole when the map outgrows the old one. A reader reads the table, then one bucket, and walks an immutable chain:
 * it sees the map as it was at some moment during its call. Writes are rarer than reads in an index's cache (a lookup
 * reads, a changed chain writes), so one lock for them is enough.
 */
final class ConcurrentLongMap<V> {
    private static final int INITIAL_BUCKETS = 16;

    private record Node<V>(long key, V value, Node<V> next) {
    }

    private volatile AtomicReferenceArray<Node<V>> table = new AtomicReferenceArray<>(INITIAL_BUCKETS);
    /** Guarded by {@code this}; read without it only as an estimate. */
    private volatile int size;

    /** The value under {@code key}, or {@code null}. Lock-free; allocates nothing. */
    V get(long key) {
        AtomicReferenceArray<Node<V>> current = table;
        for (Node<V> node = current.get(bucket(key, current.length())); node != null; node = node.next()) {
            if (node.key() == key) {
                return node.value();
            }
        }
        return null;
    }

    boolean containsKey(long key) {
        return get(key) != null;
    }

    /** Puts {@code value} under {@code key} and returns what was there, or {@code null}. */
    synchronized V put(long key, V value) {
        Objects.requireNonNull(value, "value");
        AtomicReferenceArray<Node<V>> current = table;
        int bucket = bucket(key, current.length());
        Node<V> head = current.get(bucket);
        V previous = null;
        for (Node<V> node = head; node != null; node = node.next()) {
            if (node.key() == key) {
                previous = node.value();
                break;
            }
        }
        current.set(bucket, new Node<>(key, value, previous == null ? head : without(head, key)));
        if (previous == null && ++size > current.length()) {
            grow(current);
        }
        return previous;
    }

    /** Removes {@code key} and returns what was there, or {@code null}. */
    synchronized V remove(long key) {
        AtomicReferenceArray<Node<V>> current = table;
        int bucket = bucket(key, current.length());
        Node<V> head = current.get(bucket);
        for (Node<V> node = head; node != null; node = node.next()) {
            if (node.key() == key) {
                current.set(bucket, without(head, key));
                size--;
                return node.value();
            }
        }
        return null;
    }

    /** Removes every key {@code drop} accepts. */
    synchronized void removeKeysIf(LongPredicate drop) {
        AtomicReferenceArray<Node<V>> current = table;
        for (int bucket = 0; bucket < current.length(); bucket++) {
            for (Node<V> node = current.get(bucket); node != null; node = node.next()) {
                if (drop.test(node.key())) {
                    current.set(bucket, without(current.get(bucket), node.key()));
                    size--;
                }
            }
        }
    }

    /** Keys in the map (exact while no write runs). */
    int size() {
        return size;
    }

    /** Runs {@code action} on every key, as the map was at some moment during the call or changing under it. */
    void forEachKey(java.util.function.LongConsumer action) {
        AtomicReferenceArray<Node<V>> current = table;
        for (int bucket = 0; bucket < current.length(); bucket++) {
            for (Node<V> node = current.get(bucket); node != null; node = node.next()) {
                action.accept(node.key());
            }
        }
    }

    /** Runs {@code action} on every value, as the map was at some moment during the call or changing under it. */
    void forEachValue(Consumer<? super V> action) {
        AtomicReferenceArray<Node<V>> current = table;
        for (int bucket = 0; bucket < current.length(); bucket++) {
            for (Node<V> node = current.get(bucket); node != null; node = node.next()) {
                action.accept(node.value());
            }
        }
    }

    /** A copy of the chain from {@code head} without {@code key}'s node: the nodes after it are shared, not copied. */
    private static <V> Node<V> without(Node<V> head, long key) {
        if (head == null) {
            return null;
        }
        if (head.key() == key) {
            return head.next();
        }
        return new Node<>(head.key(), head.value(), without(head.next(), key));
    }

    /** Doubles the table: a new one built beside the old, published whole, so no reader sees it half filled. */
    private void grow(AtomicReferenceArray<Node<V>> current) {
        AtomicReferenceArray<Node<V>> grown = new AtomicReferenceArray<>(current.length() * 2);
        for (int bucket = 0; bucket < current.length(); bucket++) {
            for (Node<V> node = current.get(bucket); node != null; node = node.next()) {
                int target = bucket(node.key(), grown.length());
                grown.set(target, new Node<>(node.key(), node.value(), grown.get(target)));
            }
        }
        table = grown;
    }

    /** Spreads keys that differ only in high bits (tables offsets are multiples of 64) over the buckets. */
    private static int bucket(long key, int buckets) {
        long mixed = key * 0x9E37_79B9_7F4A_7C15L;
        return (int) (mixed >>> 32) & (buckets - 1);
    }
}
