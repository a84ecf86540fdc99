package io.rolexkv.rolex.index;

import java.util.ArrayList;

/**
 * Leaves handed out to this compute node by FAA on the leaf region's counter, not yet used: a chunk claimed at a time,
 * handed out one by one, and leaves given back by writes that did not use them. Thread-safe.
 */
final class LeafPool {
    private final int chunk;
    private final ArrayList<Long> spare = new ArrayList<>();
    private long next;
    private long end;

    LeafPool(int chunk) {
        this.chunk = chunk;
    }

    /** Takes in the chunk a FAA returned {@code firstLeaf} for; leaves beyond the region's capacity do not exist. */
    synchronized void refill(long firstLeaf, long capacityLeaves) {
        refill(firstLeaf, chunk, capacityLeaves);
    }

    /** Takes in {@code count} leaves from {@code firstLeaf} (a FAA by {@code count}), as far as the region holds them. */
    synchronized void refill(long firstLeaf, int count, long capacityLeaves) {
        for (long leaf = next; leaf < end; leaf++) {
            spare.add(leaf); // what remains of a chunk another thread claimed
        }
        next = firstLeaf;
        end = Math.max(firstLeaf, Math.min(firstLeaf + count, capacityLeaves));
    }

    /** Leaves in hand. */
    synchronized int available() {
        return spare.size() + (int) Math.max(0, end - next);
    }

    /** {@link #refill}, then {@link #take}, with no other thread in between. */
    synchronized long refillAndTake(long firstLeaf, long capacityLeaves) {
        refill(firstLeaf, capacityLeaves);
        return take();
    }

    synchronized long take() {
        if (!spare.isEmpty()) {
            return spare.removeLast();
        }
        return next < end ? next++ : -1;
    }

    synchronized void giveBack(long leafNumber) {
        spare.add(leafNumber);
    }

    synchronized boolean isEmpty() {
        return spare.isEmpty() && next >= end;
    }
}
