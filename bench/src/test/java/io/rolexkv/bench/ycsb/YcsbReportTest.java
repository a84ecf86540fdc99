package io.rolexkv.bench.ycsb;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.rolexkv.bench.system.InProcessSystem;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

import java.io.OutputStream;
import java.io.PrintStream;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

class YcsbReportTest {
    private static final List<String> TOP_LEVEL = List.of("system", "fabric", "workload", "records", "operations",
            "threads", "value_size", "throughput_ops_per_s", "failed_operations", "model_cache_bytes", "retrains",
            "client_cpu_seconds", "memory_node_cpu_seconds", "operations_by_type", "memory_nodes");
    private static final List<String> PER_TYPE = List.of("count", "p50_us", "p99_us", "round_trips_per_op",
            "bytes_read_per_op", "bytes_written_per_op");

    private static List<String> fieldNames(JsonNode node) {
        List<String> names = new ArrayList<>();
        node.fieldNames().forEachRemaining(names::add);
        return names;
    }

    @Test
    @Timeout(value = 60, unit = TimeUnit.SECONDS)
    void aRunsReportHasExactlyTheAgreedFields(@TempDir Path folder) throws Exception {
        YcsbRunConfig config = YcsbRunConfig.builder().workload("f").records(200).operations(400).threads(2)
                .progressInterval(Duration.ofSeconds(30)).build();
        YcsbReport report;
        try (InProcessSystem system = new InProcessSystem(config.maxValueBytes())) {
            report = new YcsbRunner(config, new PrintStream(OutputStream.nullOutputStream())).run(system).report();
        }
        Path file = folder.resolve("reports/run.json");
        report.write(file);

        JsonNode json = new ObjectMapper().readTree(file.toFile());
        assertEquals(TOP_LEVEL, fieldNames(json));
        assertEquals("in_process", json.get("system").asText());
        assertEquals("none", json.get("fabric").asText());
        assertEquals("f", json.get("workload").asText());
        assertEquals(200, json.get("records").asLong());
        assertEquals(400, json.get("operations").asLong());
        assertEquals(2, json.get("threads").asInt());
        assertEquals(1000, json.get("value_size").asLong());
        assertTrue(json.get("throughput_ops_per_s").asDouble() > 0);
        assertEquals(0, json.get("failed_operations").asLong());
        assertTrue(json.get("client_cpu_seconds").asDouble() >= 0, "the client process's CPU over the run phase");
        for (String absent : List.of("model_cache_bytes", "retrains", "memory_node_cpu_seconds")) {
            assertTrue(json.get(absent).isNull(), absent + " is null for the in-process engine");
        }
        JsonNode byType = json.get("operations_by_type");
        assertEquals(List.of("READ", "UPDATE", "READ-MODIFY-WRITE"), fieldNames(byType));
        for (Map.Entry<String, JsonNode> type : byType.properties()) {
            assertEquals(PER_TYPE, fieldNames(type.getValue()), type.getKey());
            assertTrue(type.getValue().get("count").asLong() > 0);
            assertEquals(0.0, type.getValue().get("round_trips_per_op").asDouble(), "no fabric in process");
            assertTrue(type.getValue().get("p99_us").asDouble() >= type.getValue().get("p50_us").asDouble());
        }
        assertEquals(400, byType.get("READ").get("count").asLong());
    }

    @Test
    void nullsAreWrittenNotLeftOut() throws Exception {
        YcsbReport report = new YcsbReport("rolex", "tcp", "a", 1, 1, 1, 8, 1.0, 0, 123L, 4L, 1.5, 0.5,
                Map.of("READ", new YcsbReport.OperationReport(1, 2.0, 3.0, 1.0, 2048.0, 0.0)),
                List.of(new YcsbReport.MemoryNodeReport("127.0.0.1:7000", 10, 20, 30, 40)));
        JsonNode json = new ObjectMapper().readTree(report.toJson());
        assertEquals(TOP_LEVEL, fieldNames(json));
        assertEquals(123, json.get("model_cache_bytes").asLong());
        assertEquals(2048.0, json.get("operations_by_type").get("READ").get("bytes_read_per_op").asDouble());
        assertEquals(List.of("endpoint", "records", "round_trips", "bytes_read", "bytes_written"),
                fieldNames(json.get("memory_nodes").get(0)));
        assertEquals(10, json.get("memory_nodes").get(0).get("records").asLong());
        YcsbReport empty = new YcsbReport("in_process", "none", "a", 1, 1, 1, 8, 1.0, 0, null, null, 1.5, null, Map.of(),
                List.of());
        assertEquals(TOP_LEVEL, fieldNames(new ObjectMapper().readTree(empty.toJson())));
    }
}
