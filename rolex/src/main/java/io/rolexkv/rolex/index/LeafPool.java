package io.rolexkv.rolex.index;

import java.util.ArrayList;

/**
 * Leaves handed out to this compute node by FAA on the leaf region's counter, not yet used: a run claimed at a time,
 * handed out one by one (a write that did not use a leaf keeps it with the recycled ones). Thread-safe.
 */
final class LeafPool {
    private final ArrayList<Long> spare = new ArrayList<>();
    private long next;
    private long end;

    /** Takes in {@code count} leaves from {@code firstLeaf} (a FAA by {@code count}), as far as the region holds them. */
    synchronized void refill(long firstLeaf, int count, long capacityLeaves) {
        for (long leaf = next; leaf < end; leaf++) {
            spare.add(leaf); // what remains of a run another thread claimed
        }
        next = firstLeaf;
        end = Math.max(firstLeaf, Math.min(firstLeaf + count, capacityLeaves));
    }

    /** Leaves in hand. */
    synchronized int available() {
        return spare.size() + (int) Math.max(0, end - next);
    }

    synchronized long take() {
        if (!spare.isEmpty()) {
            return spare.removeLast();
        }
        return next < end ? next++ : -1;
    }
}
