package io.rolexkv.bench.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.rolexkv.common.config.ConfigNode;
import io.rolexkv.common.fabric.RegisteredMemory;
import io.rolexkv.memorynode.MemoryNode;
import io.rolexkv.memorynode.MemoryNodeConfig;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.LockSupport;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

@Timeout(value = 60, unit = java.util.concurrent.TimeUnit.SECONDS)
class YcsbCommandTest {
    private final ByteArrayOutputStream out = new ByteArrayOutputStream();
    private final StringWriter err = new StringWriter();

    private int execute(String... args) {
        CommandLine commandLine = new CommandLine(new YcsbCommand(new PrintStream(out, true, StandardCharsets.UTF_8)));
        commandLine.setErr(new PrintWriter(err, true));
        return commandLine.execute(args);
    }

    @Test
    void runsAWorkloadAndWritesTheReport(@TempDir Path folder) throws Exception {
        Path report = folder.resolve("e.json");
        int exit = execute("--workload", "e", "--records", "300", "--operations", "300", "--threads", "2",
                "--value-size", "8", "-p", "dataintegrity=true", "-p", "insertorder=ordered",
                "--report", report.toString());
        String printed = out.toString(StandardCharsets.UTF_8);
        assertEquals(YcsbCommand.EXIT_OK, exit, printed + err);
        assertTrue(printed.contains("[LOAD] YCSB summary:"), printed);
        assertTrue(printed.contains("[RUN] rolex-kv figures"), printed);
        JsonNode json = new ObjectMapper().readTree(report.toFile());
        assertEquals("e", json.get("workload").asText());
        assertEquals(8, json.get("value_size").asInt());
        assertEquals(300, json.get("records").asInt());
        assertEquals(0, json.get("failed_operations").asInt());
        assertTrue(json.get("operations_by_type").has("SCAN"));
    }

    /**
     * A memory node that goes away for good in the middle of the run phase: the run stops with one line naming it and
     * why, and a non-zero exit, instead of running through its operations with every one failing at once.
     */
    @Test
    void aMemoryNodeGoneForGoodStopsTheRunWithOneLineNamingIt() throws Exception {
        MemoryNode node = startMemoryNode(0);
        String endpoint = node.endpoint();
        try {
            String line = runStoppedBy(endpoint, 500, node::close);
            assertTrue(line.startsWith("ycsb: stopped: memory node 4 at endpoint=" + endpoint + " is down:")
                    && line.contains("reconnect_deadline_ms=500"), line);
        } finally {
            node.close();
        }
    }

    /**
     * A memory node restarted on its port without its data (no data directory): the run stops with one line saying
     * so, instead of reading the new, empty memory as if it held the records.
     */
    @Test
    void aMemoryNodeRestartedWithoutItsDataStopsTheRunWithOneLineSayingSo() throws Exception {
        MemoryNode node = startMemoryNode(0);
        String endpoint = node.endpoint();
        long first = node.incarnation();
        MemoryNode[] restarted = new MemoryNode[1];
        try {
            String line = runStoppedBy(endpoint, 60_000, () -> {
                node.close();
                restarted[0] = startMemoryNode(Integer.parseInt(endpoint.substring(endpoint.lastIndexOf(':') + 1)));
            });
            assertTrue(line.startsWith("ycsb: stopped: memory node 4 at endpoint=" + endpoint + " is down: it restarted"
                    + " without its data: incarnation " + RegisteredMemory.incarnationText(restarted[0].incarnation())
                    + ", was " + RegisteredMemory.incarnationText(first)), line);
        } finally {
            node.close();
            if (restarted[0] != null) {
                restarted[0].close();
            }
        }
    }

    private static MemoryNode startMemoryNode(int port) {
        return MemoryNode.start(MemoryNodeConfig.from(ConfigNode.parse(
                "{\"memory_node_id\": 4, \"transport\": \"tcp\", \"port\": " + port + ", \"regions\": [{\"name\": \"meta\","
                        + " \"bytes\": \"4KiB\"}, {\"name\": \"leaves\", \"bytes\": \"16MiB\"}, {\"name\": \"tables\", \"bytes\": \"4MiB\"},"
                        + " {\"name\": \"models\", \"bytes\": \"1MiB\"}, {\"name\": \"values\", \"bytes\": \"32MiB\"}]}",
                "test")));
    }

    /**
     * Runs workload c against the memory node at {@code endpoint}, does {@code fault} once the run phase is under way,
     * and returns the one line the command printed when it stopped (checking it stopped with exit code 3).
     */
    private String runStoppedBy(String endpoint, long reconnectDeadlineMillis, Runnable fault) throws Exception {
        Thread faulting = Thread.ofPlatform().start(() -> {
            // The first progress line of the run phase: its operations are under way.
            while (!out.toString(StandardCharsets.UTF_8).contains("[RUN] 1 s:")) {
                LockSupport.parkNanos(TimeUnit.MILLISECONDS.toNanos(20));
            }
            fault.run();
        });
        try {
            int exit = execute("--workload", "c", "--records", "300", "--operations", "100000000", "--threads", "2",
                    "--value-size", "8", "--memory-nodes", endpoint, "--engine-setting",
                    "reconnect_deadline_ms=" + reconnectDeadlineMillis, "--progress-interval", "1");
            assertEquals(YcsbCommand.EXIT_RUN_FAILED, exit, out.toString(StandardCharsets.UTF_8) + err);
            List<String> lines = err.toString().lines().toList();
            assertEquals(1, lines.size(), err.toString());
            return lines.getFirst();
        } finally {
            faulting.join();
        }
    }

    @Test
    void unknownSystemsFailWithAClearMessage() {
        int exit = execute("--system", "sherman", "--records", "10", "--operations", "10");
        assertEquals(YcsbCommand.EXIT_USAGE, exit);
        assertTrue(err.toString().contains("system=sherman allowed=[rolex, btree, rpc, in_process]"), err.toString());
        assertEquals(0, out.size(), "nothing ran");
    }

    @Test
    void runsTheBTreeBaselineOverLoopback(@TempDir Path folder) throws Exception {
        Path report = folder.resolve("btree.json");
        int exit = execute("--system", "btree", "--fabric", "loopback", "--workload", "a", "--records", "300",
                "--operations", "300", "--threads", "2", "-p", "dataintegrity=true", "--report", report.toString());
        assertEquals(YcsbCommand.EXIT_OK, exit, out.toString(StandardCharsets.UTF_8) + err);
        JsonNode json = new ObjectMapper().readTree(report.toFile());
        assertEquals("btree", json.get("system").asText());
        assertEquals(0, json.get("failed_operations").asInt());
        assertTrue(json.get("model_cache_bytes").isNumber(), json.toString());
        assertTrue(json.get("retrains").isNull(), "a B+tree does not retrain: " + json.get("retrains"));
    }

    @Test
    void badSettingsFailBeforeAnythingRuns() {
        assertEquals(YcsbCommand.EXIT_USAGE, execute("--workload", "z"));
        assertTrue(err.toString().contains("workload=z"), err.toString());
        assertEquals(YcsbCommand.EXIT_USAGE, execute("--value-size", "8", "-p", "fieldcount=3"));
        assertTrue(err.toString().contains("fieldcount=3"), err.toString());
        assertEquals(0, out.size(), "nothing ran");
    }
}
