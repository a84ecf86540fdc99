package io.rolexkv.computenode.engine;

import io.rolexkv.common.fabric.WordOrder;
import io.rolexkv.computenode.TestClusters;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Several compute nodes (engines with their own connections and model caches) at once on the same keys. Value blocks
 * are reused with no grace period at all here, so a reader racing a writer meets reclaimed blocks as often as it
 * can: only the blocks' own validation keeps wrong values out.
 */
@Timeout(120)
class RolexKVConcurrencyTest {
    static final int ENGINES = 3;
    static final int THREADS_PER_ENGINE = 2;

    static Stream<Object[]> clusters() {
        List<Object[]> cases = new ArrayList<>();
        for (String transport : TestClusters.TRANSPORTS) {
            cases.add(new Object[] {transport, 1});
            cases.add(new Object[] {transport, 3});
        }
        return cases.stream();
    }

    private static TestClusters.Cluster cluster(String transport, int nodes) {
        return TestClusters.start(transport, nodes, config -> config.put("value_reuse_grace_ms", 0));
    }

    /** A 512-byte counter value: the count in the first 8 bytes, the rest a pattern of (key, count). */
    static byte[] counterValue(long key, long count, int length) {
        byte[] value = new byte[length];
        WordOrder.putLong(value, 0, count);
        for (int i = 8; i < length; i++) {
            value[i] = (byte) (key * 31 + count * 7 + i);
        }
        return value;
    }

    static long countOf(long key, byte[] value) {
        long count = WordOrder.getLong(value, 0);
        if (!Arrays.equals(value, counterValue(key, count, value.length))) {
            throw new AssertionError("key=" + key + " holds a value that is no counter value of its own: count=" + count);
        }
        return count;
    }

    private static void runAll(List<Runnable> tasks) throws InterruptedException {
        ConcurrentLinkedQueue<Throwable> failures = new ConcurrentLinkedQueue<>();
        CountDownLatch start = new CountDownLatch(1);
        List<Thread> threads = new ArrayList<>();
        for (Runnable task : tasks) {
            threads.add(Thread.ofPlatform().start(() -> {
                try {
                    start.await();
                    task.run();
                } catch (Throwable e) {
                    failures.add(e);
                }
            }));
        }
        start.countDown();
        for (Thread thread : threads) {
            thread.join();
        }
        if (!failures.isEmpty()) {
            AssertionError error = new AssertionError("a client failed: " + failures.peek(), failures.peek());
            failures.stream().skip(1).forEach(error::addSuppressed);
            throw error;
        }
    }

    @ParameterizedTest(name = "{0} memory_nodes={1}")
    @MethodSource("clusters")
    void concurrentUpdateIncrementsFromSeveralComputeNodesAreAllCounted(String transport, int nodes) throws Exception {
        long[] keys = {7, 0x5555_5555_5555_5556L, -3L, 1L << 62};
        int increments = 150;
        try (TestClusters.Cluster cluster = cluster(transport, nodes)) {
            List<RolexKV> engines = new ArrayList<>();
            for (int e = 0; e < ENGINES; e++) {
                engines.add(cluster.openEngine());
            }
            List<Runnable> clients = new ArrayList<>();
            for (RolexKV engine : engines) {
                for (int t = 0; t < THREADS_PER_ENGINE; t++) {
                    int seed = clients.size();
                    clients.add(() -> {
                        for (int i = 0; i < increments; i++) {
                            long key = keys[(i + seed) % keys.length];
                            int length = 200 + (i % 3) * 300; // blocks change size class from one update to the next
                            engine.update(key, current -> Optional.of(counterValue(key,
                                    current.map(value -> countOf(key, value)).orElse(0L) + 1, length)));
                        }
                    });
                }
                clients.add(() -> {
                    long[] lastSeen = new long[keys.length];
                    for (int i = 0; i < 2 * increments; i++) {
                        int k = i % keys.length;
                        long seen = engine.get(keys[k]).map(value -> countOf(keys[k], value)).orElse(0L);
                        assertTrue(seen >= lastSeen[k], "a counter went back: " + lastSeen[k] + " then " + seen);
                        lastSeen[k] = seen;
                    }
                });
            }
            runAll(clients);
            long total = 0;
            for (long key : keys) {
                total += countOf(key, engines.getFirst().get(key).orElseThrow());
            }
            assertEquals((long) ENGINES * THREADS_PER_ENGINE * increments, total, "every increment counted exactly once");
            for (RolexKV engine : engines) {
                assertTrue(engine.valueSpace().retiredBytes() > 0);
            }
            assertEquals(keys.length, cluster.checkIndexes(), "the memory nodes' indexes are sound and hold every key");
        }
    }

    @ParameterizedTest(name = "{0} memory_nodes={1}")
    @MethodSource("clusters")
    void readersNeverSeeAnotherKeysBlockOrAnOlderValueWhileBlocksAreReusedAtOnce(String transport, int nodes)
            throws Exception {
        int keys = 6;
        int writesPerKey = 300;
        AtomicBoolean writing = new AtomicBoolean(true);
        try (TestClusters.Cluster cluster = cluster(transport, nodes)) {
            RolexKV writerEngine = cluster.openEngine();
            List<RolexKV> readerEngines = List.of(cluster.openEngine(), cluster.openEngine());
            List<Runnable> clients = new ArrayList<>();
            // One writer per key (so its values are ordered), all on one engine: its allocator reuses one key's blocks
            // for another key's values at once.
            for (int k = 0; k < keys; k++) {
                long key = k * 0x2AAA_AAAA_AAAA_AAABL;
                clients.add(() -> {
                    for (long count = 1; count <= writesPerKey; count++) {
                        writerEngine.put(key, counterValue(key, count, 48 + (int) (count % 2) * 16));
                    }
                });
            }
            for (RolexKV reader : readerEngines) {
                clients.add(() -> {
                    long[] lastSeen = new long[keys];
                    while (writing.get()) {
                        for (int k = 0; k < keys; k++) {
                            long key = k * 0x2AAA_AAAA_AAAA_AAABL;
                            long seen = reader.get(key).map(value -> countOf(key, value)).orElse(0L);
                            assertTrue(seen >= lastSeen[k], "key " + key + " went back from " + lastSeen[k] + " to " + seen);
                            lastSeen[k] = seen;
                        }
                    }
                });
            }
            List<Runnable> writersThenStop = new ArrayList<>(clients.subList(keys, clients.size()));
            List<Runnable> writers = clients.subList(0, keys);
            writersThenStop.add(() -> {
                try {
                    runAll(new ArrayList<>(writers));
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                } finally {
                    writing.set(false);
                }
            });
            runAll(writersThenStop);
            for (int k = 0; k < keys; k++) {
                long key = k * 0x2AAA_AAAA_AAAA_AAABL;
                assertEquals(writesPerKey, countOf(key, readerEngines.getFirst().get(key).orElseThrow()));
            }
            assertTrue(writerEngine.valueSpace().reusedBytes() > 0, "blocks were reused during the run");
            assertEquals(keys, cluster.checkIndexes(), "the memory nodes' indexes are sound and hold every key");
        }
    }
}
