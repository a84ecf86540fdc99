package io.rolexkv.computenode.engine;

import io.rolexkv.common.check.RegisterHistory;
import io.rolexkv.common.config.ConfigNode;
import io.rolexkv.common.fabric.FabricException;
import io.rolexkv.common.fabric.MemoryNodeDataLostException;
import io.rolexkv.common.fabric.MemoryNodeDownException;
import io.rolexkv.computenode.KVEngines;
import io.rolexkv.memorynode.MemoryNode;
import io.rolexkv.memorynode.MemoryNodeConfig;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Random;
import java.util.TreeMap;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * An engine over tcp keeps working across a restart of its memory node on the same port with its data directory: every
 * acknowledged put is readable afterwards (checked against a {@link TreeMap}), operations during the outage either
 * wait and succeed or fail as outcome unknown, and a node that never comes back is marked down within the deadline,
 * named in the error.
 */
@Timeout(value = 120, unit = TimeUnit.SECONDS)
class RolexKVMemoryNodeRestartTest {
    private static final int NODE_ID = 5;

    @TempDir
    Path dataDirectory;

    private MemoryNodeConfig nodeConfig(int port) {
        return nodeConfig(port, dataDirectory);
    }

    private static MemoryNodeConfig nodeConfig(int port, Path dataDirectory) {
        return MemoryNodeConfig.from(ConfigNode.parse("{\"memory_node_id\": " + NODE_ID + ", \"transport\": \"tcp\","
                + " \"port\": " + port + ", \"data_dir\": \"" + dataDirectory.toString().replace("\\", "\\\\") + "\","
                + " \"regions\": [{\"name\": \"meta\", \"bytes\": \"4KiB\"}, {\"name\": \"leaves\", \"bytes\": \"16MiB\"},"
                + " {\"name\": \"tables\", \"bytes\": \"4MiB\"}, {\"name\": \"models\", \"bytes\": \"1MiB\"},"
                + " {\"name\": \"values\", \"bytes\": \"32MiB\"}]}", "test"));
    }

    private static RolexKV openEngine(String endpoint, long deadlineMillis) {
        return (RolexKV) KVEngines.open(ConfigNode.parse("{\"engine_type\": \"rolex\", \"transport\": \"tcp\","
                + " \"memory_nodes\": [{\"endpoint\": \"" + endpoint + "\"}], \"reconnect_deadline_ms\": " + deadlineMillis
                + "}", "test"));
    }

    private static int port(String endpoint) {
        return Integer.parseInt(endpoint.substring(endpoint.lastIndexOf(':') + 1));
    }

    private static byte[] value(Random random, long key) {
        byte[] value = new byte[8 + random.nextInt(120)];
        random.nextBytes(value);
        return value;
    }

    @Test
    void everyAcknowledgedPutIsReadableAfterTheNodeRestartsAndLaterOperationsSucceed() {
        MemoryNode node = MemoryNode.start(nodeConfig(0));
        String endpoint = node.endpoint();
        Random random = new Random(12);
        TreeMap<Long, byte[]> oracle = new TreeMap<>(Long::compareUnsigned);
        try (RolexKV engine = openEngine(endpoint, 20_000)) {
            for (int i = 0; i < 500; i++) {
                long key = random.nextLong();
                byte[] value = value(random, key);
                engine.put(key, value);
                oracle.put(key, value);
            }
            node.close();
            node = MemoryNode.start(nodeConfig(port(endpoint)));
            // Reads find the broken connection and are posted again on the new one: no error reaches the caller.
            for (Map.Entry<Long, byte[]> entry : oracle.entrySet()) {
                assertArrayEquals(entry.getValue(), engine.get(entry.getKey()).orElseThrow(), "key=" + entry.getKey());
            }
            for (int i = 0; i < 500; i++) {
                long key = i % 5 == 0 ? oracle.firstKey() + i : random.nextLong();
                byte[] value = value(random, key);
                engine.put(key, value);
                oracle.put(key, value);
            }
            node.close();
            node = MemoryNode.start(nodeConfig(port(endpoint)));
            List<Long> keys = new ArrayList<>(oracle.keySet());
            long[] batch = keys.stream().mapToLong(Long::longValue).toArray();
            List<Optional<byte[]>> found = engine.batchGet(batch);
            for (int i = 0; i < batch.length; i++) {
                assertArrayEquals(oracle.get(batch[i]), found.get(i).orElseThrow(), "key=" + batch[i]);
            }
            assertEquals(oracle.size(), engine.scan(0, -1L, oracle.size() + 10).size());
        } finally {
            node.close();
        }
    }

    /**
     * The same node id, port and regions, but a data directory that holds nothing (as a restart without
     * {@code --data-dir} would be): the engine must not read the empty memory as "no such key", so every operation
     * fails, naming the node and both incarnations.
     */
    @Test
    void aNodeRestartedWithoutItsDataStopsTheEngineInsteadOfAnsweringFromEmptyMemory(@TempDir Path emptyDirectory) {
        MemoryNode node = MemoryNode.start(nodeConfig(0));
        String endpoint = node.endpoint();
        long first = node.incarnation();
        try (RolexKV engine = openEngine(endpoint, 20_000)) {
            Random random = new Random(13);
            long[] keys = random.longs(200).toArray();
            for (long key : keys) {
                engine.put(key, value(random, key));
            }
            node.close();
            node = MemoryNode.start(nodeConfig(port(endpoint), emptyDirectory));
            long fresh = node.incarnation();
            for (long key : keys) {
                FabricException failure = assertThrows(FabricException.class, () -> engine.get(key),
                        "key=" + key + " must not read as absent from the new, empty memory");
                MemoryNodeDownException down = MemoryNodeDownException.in(failure).orElseThrow(() -> failure);
                MemoryNodeDataLostException lost = assertInstanceOf(MemoryNodeDataLostException.class, down);
                assertEquals(fresh, lost.incarnation());
                assertEquals(first, lost.previousIncarnation());
                assertTrue(lost.getMessage().startsWith("memory node " + NODE_ID + " at endpoint=" + endpoint
                        + " is down: it restarted without its data"), lost.getMessage());
            }
            FabricException write = assertThrows(FabricException.class, () -> engine.put(keys[0], new byte[]{1}));
            assertInstanceOf(MemoryNodeDataLostException.class, MemoryNodeDownException.in(write).orElseThrow(() -> write));
            assertEquals(0, node.memory().writeBatches(), "nothing was written to the new node's memory");
        } finally {
            node.close();
        }
    }

    @Test
    void aNodeThatNeverComesBackIsMarkedDownAndNamedWithinTheDeadline() {
        long deadlineMillis = 1_000;
        MemoryNode node = MemoryNode.start(nodeConfig(0));
        String endpoint = node.endpoint();
        try (RolexKV engine = openEngine(endpoint, deadlineMillis)) {
            engine.put(1, new byte[]{1});
            node.close();
            long start = System.nanoTime();
            FabricException first = assertThrows(FabricException.class, () -> {
                engine.get(1);
                engine.put(2, new byte[]{2});
            });
            long waitedMillis = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - start);
            MemoryNodeDownException down = MemoryNodeDownException.in(first).orElseThrow(() -> first);
            assertTrue(waitedMillis >= deadlineMillis && waitedMillis < deadlineMillis + 15_000, "waited " + waitedMillis);
            assertEquals(NODE_ID, down.memoryNodeId());
            assertEquals(endpoint, down.endpoint());
            assertTrue(down.getMessage().startsWith("memory node " + NODE_ID + " at endpoint=" + endpoint + " is down:")
                    && down.getMessage().contains("reconnect_deadline_ms=" + deadlineMillis), down.getMessage());
            // Later operations fail at once, with the same news.
            long again = System.nanoTime();
            for (int i = 0; i < 100; i++) {
                FabricException later = assertThrows(FabricException.class, () -> engine.put(3, new byte[]{3}));
                assertTrue(MemoryNodeDownException.in(later).isPresent(), later.toString());
            }
            assertTrue(TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - again) < deadlineMillis,
                    "a down node is refused at once");
        }
    }

    @Test
    void closingAnEngineDoesNotWaitForANodeThatIsAway() {
        MemoryNode node = MemoryNode.start(nodeConfig(0));
        RolexKV engine = openEngine(node.endpoint(), 600_000);
        engine.put(1, new byte[]{1});
        node.close();
        // Well under the ten-minute deadline: close hands nothing back to a node that is away and does not wait for it.
        assertTimeoutPreemptively(Duration.ofSeconds(60), engine::close);
    }

    /**
     * Waits until an operation succeeded after {@code before} succeeded ones, for at most the engine's reconnect
     * deadline: a machine busy with other work may take a while to reconnect, and only that it resumes is the point.
     */
    private static void awaitProgress(AcknowledgedWritesWorkload workload, long before) throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
        while (workload.succeeded() <= before && System.nanoTime() < deadline) {
            Thread.sleep(50);
        }
    }

    /**
     * Writers and readers keep going on shared keys while the node is stopped and started again, and the history of
     * every operation is linearizable per key. A write that fails with a transport failure may or may not have
     * happened; one the index gave up on did not happen.
     * Slow: a put whose lock CAS ran just before the node stopped leaves that lock held (leases are another item), and
     * later puts to its leaves wait out the index's lock time-out.
     */
    @Test
    @Tag("slow")
    void concurrentOperationsAcrossRestartsLoseNothingAcknowledged() throws Exception {
        MemoryNode node = MemoryNode.start(nodeConfig(0));
        String endpoint = node.endpoint();
        long[] keys = new Random(3).longs(600).distinct().toArray();
        try (RolexKV engine = openEngine(endpoint, 30_000);
             AcknowledgedWritesWorkload workload = AcknowledgedWritesWorkload.start(engine, keys, 3, 0.5, 100)) {
            for (int restart = 0; restart < 3; restart++) {
                Thread.sleep(700);
                node.close();
                Thread.sleep(300);
                long before = workload.succeeded();
                node = MemoryNode.start(nodeConfig(port(endpoint)));
                awaitProgress(workload, before);
                assertTrue(workload.succeeded() > before, "operations succeed after restart " + restart);
                Thread.sleep(500);
            }
            RegisterHistory.Result checked = workload.stopAndCheck();
            assertEquals(keys.length, checked.keysChecked(), () -> "every key's history checked: " + checked);
            assertFalse(engine.scan(0, -1L, 10).isEmpty());
        } finally {
            node.close();
        }
    }
}
