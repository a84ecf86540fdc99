package io.rolexkv.bench.system;

import io.rolexkv.common.check.RegisterHistory;
import io.rolexkv.common.config.ConfigNode;
import io.rolexkv.computenode.KVEngines;
import io.rolexkv.computenode.engine.AcknowledgedWritesWorkload;
import io.rolexkv.computenode.engine.RolexKV;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * Beyond 127.0.0.1: a memory node in a network namespace of its own, reached over a veth pair, with the link cut
 * mid-run (the host end set down, so packets are dropped rather than refused, as when a cable or switch port fails)
 * and restored. Operations stall or fail as outcome unknown while the link is down, resume once it is back, and the
 * history of every operation stays linearizable per key. Needs root and {@code ip netns}; skipped with the reason
 * otherwise.
 */
@Tag("slow")
@Timeout(value = 5, unit = TimeUnit.MINUTES)
class NetworkNamespaceLinkCutTest {
    private static final int NODE_ID = 3;
    private static final long CUT_MILLIS = 3_000;

    private record Outcome(int exit, String output) {
    }

    private static Outcome run(String... command) {
        try {
            Process process = new ProcessBuilder(command).redirectErrorStream(true).start();
            String output = new String(process.getInputStream().readAllBytes(), StandardCharsets.UTF_8).trim();
            return new Outcome(process.waitFor(), output);
        } catch (IOException e) {
            return new Outcome(-1, e.toString());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return new Outcome(-1, "interrupted");
        }
    }

    private static void require(String... command) {
        Outcome outcome = run(command);
        assertEquals(0, outcome.exit(), () -> String.join(" ", command) + ": " + outcome.output());
    }

    @Test
    void aCutLinkStallsOperationsAndTheyResumeWhenItIsBack() throws Exception {
        long tag = ProcessHandle.current().pid() % 10_000;
        String namespace = "rkv-test-" + tag;
        String hostEnd = "rkvh" + tag;
        String nodeEnd = "rkvn" + tag;
        String subnet = "10.213." + (tag % 250) + ".";
        String hostAddress = subnet + "1";
        String nodeAddress = subnet + "2";
        Outcome created = run("ip", "netns", "add", namespace);
        assumeTrue(created.exit() == 0, () -> "needs root and ip netns to make a network namespace: " + created.output());
        List<AutoCloseable> cleanup = new ArrayList<>();
        try {
            require("ip", "link", "add", hostEnd, "type", "veth", "peer", "name", nodeEnd);
            require("ip", "link", "set", nodeEnd, "netns", namespace);
            require("ip", "addr", "add", hostAddress + "/30", "dev", hostEnd);
            require("ip", "link", "set", hostEnd, "up");
            require("ip", "netns", "exec", namespace, "ip", "link", "set", "lo", "up");
            require("ip", "netns", "exec", namespace, "ip", "addr", "add", nodeAddress + "/30", "dev", nodeEnd);
            require("ip", "netns", "exec", namespace, "ip", "link", "set", nodeEnd, "up");

            ChildProcess node = ChildProcess.start("memory-node-" + NODE_ID, List.of("ip", "netns", "exec", namespace),
                    "io.rolexkv.bench.cli.RolexKvCli", List.of("memory-node", "--host", nodeAddress, "--port", "0",
                            "--node-id", String.valueOf(NODE_ID), "--region", "leaves=16MiB", "--region", "tables=4MiB",
                            "--region", "models=1MiB", "--region", "values=32MiB"),
                    ChildProcess.valueOn("memory node ready", "endpoint"));
            cleanup.add(node);
            String endpoint = node.readyLine();
            assertTrue(endpoint.startsWith(nodeAddress + ":"), endpoint);

            long[] keys = new Random(9).longs(400).distinct().toArray();
            RolexKV engine = (RolexKV) KVEngines.open(ConfigNode.parse("{\"engine_type\": \"rolex\", \"transport\":"
                    + " \"tcp\", \"memory_nodes\": [{\"endpoint\": \"" + endpoint + "\"}], \"reconnect_deadline_ms\": 60000}",
                    "test"));
            cleanup.add(engine);
            try (AcknowledgedWritesWorkload workload = AcknowledgedWritesWorkload.start(engine, keys, 2, 1.0 / 3, 90)) {
                Thread.sleep(1_500);
                long beforeCut = workload.succeeded();
                assertTrue(beforeCut > 0, "operations run over the link");
                require("ip", "link", "set", hostEnd, "down");
                Thread.sleep(CUT_MILLIS);
                require("ip", "link", "set", hostEnd, "up");
                long restored = System.nanoTime();
                long atRestore = workload.succeeded();
                long deadline = restored + TimeUnit.SECONDS.toNanos(60);
                while (workload.succeeded() <= atRestore && System.nanoTime() < deadline) {
                    Thread.sleep(10);
                }
                long resumedMillis = (System.nanoTime() - restored) / 1_000_000;
                assertTrue(workload.succeeded() > atRestore, "operations resume after the link is back");
                Thread.sleep(1_500);
                RegisterHistory.Result checked = workload.stopAndCheck();
                System.out.printf("link cut: %d ms down; operations before the cut %d, during it %d, first success %d ms"
                                + " after it came back; history of %d operations on %d keys linearizable%n", CUT_MILLIS,
                        beforeCut, atRestore - beforeCut, resumedMillis, checked.operations(), checked.keysChecked());
            }
        } finally {
            for (int i = cleanup.size() - 1; i >= 0; i--) {
                cleanup.get(i).close();
            }
            run("ip", "netns", "del", namespace); // takes the namespace's veth end, and so the pair, with it
            run("ip", "link", "del", hostEnd);
        }
    }
}
