package io.rolexkv.bench.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
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

    @Test
    void unknownSystemsFailWithAClearMessage() {
        int exit = execute("--system", "sherman", "--records", "10", "--operations", "10");
        assertEquals(YcsbCommand.EXIT_USAGE, exit);
        assertTrue(err.toString().contains("system=sherman allowed=[rolex, btree, rpc, in_process, lean]"), err.toString());
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
