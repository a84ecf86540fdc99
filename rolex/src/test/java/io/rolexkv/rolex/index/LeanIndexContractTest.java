package io.rolexkv.rolex.index;

import io.rolexkv.common.fabric.FabricConnection;
import io.rolexkv.common.fabric.TestMemoryNode;

import java.util.LinkedHashMap;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;

/**
 * The {@link WordIndex} contract on the lean layout, with a tight error bound, groups of 8 and delta leaves of 8, so
 * that inserts build and split delta chains; every run ends with {@link LeanIndexChecker} and a full scan.
 */
class LeanIndexContractTest extends WordIndexContractTest<LeanIndex> {
    private static final int EPSILON = 4;
    private static final int GROUP_SIZE = 8;
    private static final int DELTA_CAPACITY = 8;

    @Override
    protected Map<String, Long> regions() {
        Map<String, Long> regions = new LinkedHashMap<>();
        regions.put(IndexLayout.META_REGION, 4096L);
        regions.put(IndexLayout.LEAVES_REGION, 64L << 20);
        regions.put(IndexLayout.TABLES_REGION, 32L << 20);
        regions.put(IndexLayout.MODELS_REGION, 8L << 20);
        return regions;
    }

    @Override
    protected LeanIndex bulkLoad(FabricConnection connection, long[] keys, long[] words) {
        return LeanIndex.bulkLoad(connection, new IndexGeometry(EPSILON, GROUP_SIZE, DELTA_CAPACITY, IndexGeometry.EMPTY_INDEX_GROUPS_DEFAULT), keys, words);
    }

    @Override
    protected LeanIndex createEmpty(FabricConnection connection) {
        return LeanIndex.createEmpty(connection, new IndexGeometry(EPSILON, GROUP_SIZE, DELTA_CAPACITY, 64));
    }

    /**
     * The lean retrainer, eager (any delta leaf makes a model due), compacting in a loop while the clients of the history
     * tests race: their histories must stay linearizable across freezes, publications and refreshes.
     */
    @Override
    protected AutoCloseable backgroundWork(TestMemoryNode node) {
        LeanRetrainer retrainer = new LeanRetrainer(node.localConnection(), io.rolexkv.common.fabric.FabricLimits.DEFAULT,
                new LeanRetrainer.Policy(0, 0.001, 8, 64, 1 << 12));
        java.util.concurrent.atomic.AtomicBoolean running = new java.util.concurrent.atomic.AtomicBoolean(true);
        java.util.List<String> failures = new java.util.concurrent.CopyOnWriteArrayList<>();
        Thread loop = Thread.ofPlatform().name("lean-retrainer").start(() -> {
            while (running.get()) {
                retrainer.runPass().failure().ifPresent(failures::add);
                java.util.concurrent.locks.LockSupport.parkNanos(200_000);
            }
        });
        return () -> {
            running.set(false);
            loop.join();
            assertEquals(java.util.List.of(), failures, "retrain passes that failed while clients raced");
            org.junit.jupiter.api.Assertions.assertTrue(retrainer.stats().retrains() > 0,
                    "the retrainer compacted while clients raced: " + retrainer.stats());
        };
    }

    @Override
    protected LeanIndex open(FabricConnection connection, int client) {
        return LeanIndex.open(connection);
    }

    @Override
    protected long splits(LeanIndex index) {
        return index.counters().newLeaves(); // the structure changes the contract wants exercised
    }

    @Override
    protected long lockConflicts(LeanIndex index) {
        return index.counters().lockConflicts();
    }

    @Override
    protected void assertStructureSound(TestMemoryNode node, long keys) {
        LeanIndexChecker.Report report = LeanIndexChecker.check(node.connect()).requireSound();
        assertEquals(keys, report.keys(), "keys in the index: " + report);
        assertEquals(keys, LeanIndex.open(node.connect()).scan(0, -1L, Integer.MAX_VALUE).size(), "keys a full scan finds");
    }
}
