package io.rolexkv.bench.ycsb;

import io.rolexkv.bench.system.RolexEngineConfigs;
import io.rolexkv.common.config.ConfigNode;
import io.rolexkv.common.kv.BaseKV;
import io.rolexkv.computenode.KVEngines;
import io.rolexkv.memorynode.MemoryNode;
import io.rolexkv.memorynode.MemoryNodeConfig;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import site.ycsb.ByteIterator;
import site.ycsb.Client;
import site.ycsb.DBException;
import site.ycsb.Status;
import site.ycsb.StringByteIterator;

import java.io.IOException;
import java.net.URISyntaxException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Properties;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The binding as a user runs it: YCSB's own {@code site.ycsb.Client} in a JVM of its own, given nothing but the
 * binding's class name, a workload file and {@code -p} properties, against a memory node daemon started here over
 * tcp. Load, then workload A, then workload E (its engine described by a {@code rolexkv.config} file), YCSB checking
 * every value it reads; afterwards every record is read back through an engine of the test's own.
 */
@Timeout(value = 90, unit = TimeUnit.SECONDS)
class YcsbStandaloneClientTest {
    private static final int RECORDS = 200;
    private static final int OPERATIONS = 500;
    private static final int THREADS = 2;
    private static final long CHILD_TIMEOUT_SECONDS = 45;
    private static final Pattern RETURN_LINE = Pattern.compile("^\\[([A-Z-]+)], Return=([A-Z_]+), (\\d+)$",
            Pattern.MULTILINE);

    @TempDir
    Path directory;

    private static MemoryNode startMemoryNode() {
        return MemoryNode.start(MemoryNodeConfig.from(ConfigNode.parse(
                "{\"transport\": \"tcp\", \"port\": 0, \"regions\": [{\"name\": \"meta\", \"bytes\": \"4KiB\"},"
                        + " {\"name\": \"leaves\", \"bytes\": \"16MiB\"}, {\"name\": \"tables\", \"bytes\": \"4MiB\"},"
                        + " {\"name\": \"models\", \"bytes\": \"1MiB\"}, {\"name\": \"values\", \"bytes\": \"32MiB\"}]}",
                "test")));
    }

    private static Path workloadFile(String name) throws URISyntaxException {
        return Path.of(Objects.requireNonNull(YcsbWorkloads.class.getResource("/workloads/" + name), name).toURI());
    }

    /** Runs {@code site.ycsb.Client} with {@code arguments} in a new JVM; answers what it printed, stdout and stderr. */
    private String runYcsbClient(String phase, List<String> arguments) throws IOException, InterruptedException {
        String java = ProcessHandle.current().info().command()
                .orElse(Path.of(System.getProperty("java.home"), "bin", "java").toString());
        List<String> command = new ArrayList<>(List.of(java, "-Xmx256m",
                "--add-exports", "java.base/sun.nio.ch=ALL-UNNAMED", "--enable-native-access=ALL-UNNAMED",
                "-cp", System.getProperty("java.class.path"), Client.class.getName()));
        command.addAll(arguments);
        Path output = directory.resolve(phase + ".out");
        Process process = new ProcessBuilder(command).redirectErrorStream(true).redirectOutput(output.toFile()).start();
        try {
            boolean exited = process.waitFor(CHILD_TIMEOUT_SECONDS, TimeUnit.SECONDS);
            String printed = Files.readString(output, StandardCharsets.UTF_8);
            assertTrue(exited, () -> phase + ": YCSB's client did not finish in " + CHILD_TIMEOUT_SECONDS + " s:\n"
                    + printed);
            assertEquals(0, process.exitValue(), () -> phase + ": YCSB's client failed:\n" + printed);
            return printed;
        } finally {
            if (process.isAlive()) {
                process.destroyForcibly();
                process.waitFor(10, TimeUnit.SECONDS);
            }
        }
    }

    private static List<String> ycsbArguments(String mode, String workload, Map<String, String> properties)
            throws URISyntaxException {
        List<String> arguments = new ArrayList<>(List.of(mode, "-db", RolexKvYcsbClient.class.getName(),
                "-P", workloadFile(workload).toString(), "-threads", String.valueOf(THREADS),
                "-p", "recordcount=" + RECORDS, "-p", "operationcount=" + OPERATIONS, "-p", "dataintegrity=true"));
        properties.forEach((name, value) -> {
            arguments.add("-p");
            arguments.add(name + "=" + value);
        });
        return arguments;
    }

    /** YCSB's summary lines {@code [OP], Return=STATUS, N} as OP -> STATUS -> N. */
    private static Map<String, Map<String, Long>> returns(String printed) {
        Map<String, Map<String, Long>> counts = new HashMap<>();
        Matcher matcher = RETURN_LINE.matcher(printed);
        while (matcher.find()) {
            counts.computeIfAbsent(matcher.group(1), operation -> new HashMap<>())
                    .merge(matcher.group(2), Long.parseLong(matcher.group(3)), Long::sum);
        }
        return counts;
    }

    /** Every operation YCSB counted answered OK, none failed, and {@code expected} operations ran. */
    private static Map<String, Map<String, Long>> assertOnlySuccesses(String phase, String printed, Set<String> expected) {
        Map<String, Map<String, Long>> counts = returns(printed);
        assertTrue(counts.keySet().containsAll(expected), () -> phase + ": expected " + expected + " in:\n" + printed);
        counts.forEach((operation, statuses) -> assertEquals(Set.of("OK"), statuses.keySet(),
                () -> phase + ": " + operation + " answered " + statuses + ":\n" + printed));
        assertFalse(printed.contains("Return=ERROR"), () -> phase + ":\n" + printed);
        assertFalse(printed.contains("FAILED"), () -> phase + ":\n" + printed);
        assertFalse(printed.contains("DBException"), () -> phase + ":\n" + printed);
        return counts;
    }

    @Test
    void ycsbsOwnClientLoadsAndRunsWorkloadsAAndEAndLeavesEveryRecordIntact() throws Exception {
        Properties properties = YcsbRunConfig.builder().workload("a").records(RECORDS).operations(OPERATIONS)
                .threads(THREADS).property("dataintegrity", "true").build().properties();
        int maxValueBytes = YcsbRecordCodec.fromProperties(properties)
                .maxValueBytes(RolexKvYcsbProperties.maxFieldBytes(properties));
        try (MemoryNode node = startMemoryNode()) {
            Map<String, String> byMemoryNodes = Map.of(RolexKvYcsbProperties.MEMORY_NODES_PROP_NAME, node.endpoint());

            String load = runYcsbClient("load", ycsbArguments("-load", "workloada", byMemoryNodes));
            assertEquals(Map.of("OK", (long) RECORDS),
                    assertOnlySuccesses("load", load, Set.of("INSERT")).get("INSERT"), load);

            String runA = runYcsbClient("run-a", ycsbArguments("-t", "workloada", byMemoryNodes));
            Map<String, Map<String, Long>> a = assertOnlySuccesses("run-a", runA, Set.of("READ", "UPDATE", "VERIFY"));
            assertEquals(OPERATIONS, a.get("READ").get("OK") + a.get("UPDATE").get("OK"), runA);
            assertEquals(a.get("READ"), a.get("VERIFY"), "YCSB checked every value it read");

            Path engineConfig = directory.resolve("engine.json");
            Files.writeString(engineConfig, ConfigNode.toText(RolexEngineConfigs.forValues("tcp", List.of(node.endpoint()),
                    maxValueBytes, RolexEngineConfigs.ROOM_WAIT_MILLIS_DEFAULT)), StandardCharsets.UTF_8);
            String runE = runYcsbClient("run-e", ycsbArguments("-t", "workloade",
                    Map.of(RolexKvYcsbProperties.CONFIG_PROP_NAME, engineConfig.toString())));
            Map<String, Map<String, Long>> e = assertOnlySuccesses("run-e", runE, Set.of("SCAN", "INSERT"));
            long inserts = e.get("INSERT").get("OK");
            assertEquals(OPERATIONS, e.get("SCAN").get("OK") + inserts, runE);

            try (BaseKV engine = KVEngines.open(ConfigNode.load(engineConfig))) {
                StoredRecords.assertEveryRecordIntact(properties, engine, RECORDS + inserts);
            }
        }
    }

    @Test
    void bindingsWithoutAnInstalledEngineShareOneThatTheLastCleanupCloses() throws Exception {
        Properties properties = YcsbRunConfig.builder().workload("a").records(RECORDS).operations(OPERATIONS)
                .threads(THREADS).build().properties();
        try (MemoryNode node = startMemoryNode()) {
            properties.setProperty(RolexKvYcsbProperties.MEMORY_NODES_PROP_NAME, node.endpoint());
            RolexKvYcsbClient first = new RolexKvYcsbClient();
            RolexKvYcsbClient second = new RolexKvYcsbClient();
            try {
                first.setProperties(properties);
                first.init();
                second.setProperties(properties);
                second.init();
                assertEquals(2, StandaloneEngine.users());

                String key = YcsbKeyNames.of(properties).keyName(7);
                Map<String, ByteIterator> record = new HashMap<>();
                for (int field = 0; field < 10; field++) {
                    record.put("field" + field, new StringByteIterator("value-" + field));
                }
                assertEquals(Status.OK, first.insert("usertable", key, record));
                first.cleanup();
                assertEquals(1, StandaloneEngine.users());
                Map<String, ByteIterator> read = new HashMap<>();
                assertEquals(Status.OK, second.read("usertable", key, Set.of("field3"), read),
                        "the engine stays open while a binding holds it");
                assertEquals("value-3", read.get("field3").toString());
                second.cleanup();
                assertEquals(0, StandaloneEngine.users());
                second.cleanup(); // a second cleanup of one binding releases nothing
            } finally {
                first.cleanup();
                second.cleanup();
            }
            assertEquals(0, StandaloneEngine.users());
        }
    }

    @Test
    void withoutAnInstalledEngineTheMemoryNodesMustBeNamed() {
        Properties properties = YcsbRunConfig.builder().workload("a").records(RECORDS).build().properties();
        RolexKvYcsbClient binding = new RolexKvYcsbClient();
        binding.setProperties(properties);
        DBException missing = assertThrows(DBException.class, binding::init);
        assertTrue(missing.getMessage().contains(RolexKvYcsbProperties.MEMORY_NODES_PROP_NAME), missing.getMessage());
        assertEquals(0, StandaloneEngine.users());

        properties.setProperty(RolexKvYcsbProperties.MEMORY_NODES_PROP_NAME, "127.0.0.1:1");
        properties.setProperty(RolexKvYcsbProperties.FABRIC_PROP_NAME, "loopback");
        DBException loopback = assertThrows(DBException.class, binding::init);
        assertTrue(loopback.getMessage().contains(RolexKvYcsbProperties.FABRIC_PROP_NAME + "=loopback"),
                loopback.getMessage());

        properties.remove(RolexKvYcsbProperties.FABRIC_PROP_NAME);
        properties.setProperty(RolexKvYcsbProperties.CONFIG_PROP_NAME, "engine.json");
        DBException both = assertThrows(DBException.class, binding::init);
        assertTrue(both.getMessage().contains(RolexKvYcsbProperties.CONFIG_PROP_NAME)
                && both.getMessage().contains(RolexKvYcsbProperties.MEMORY_NODES_PROP_NAME), both.getMessage());
        assertEquals(0, StandaloneEngine.users());
    }
}
