package io.rolexkv.bench.ycsb;

import io.rolexkv.bench.system.InProcessSystem;
import io.rolexkv.bench.system.SystemOptions;
import io.rolexkv.bench.system.SystemUnderTest;
import io.rolexkv.bench.system.SystemUnderTestFactory;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Each of YCSB's core workloads, load then run, through YCSB's own workload and wrapper classes against the
 * in-process engine, against ROLEX and the B+tree baseline over loopback and over tcp (their memory node a separate
 * process) and against the RPC baseline (its server a separate process), with YCSB
 * checking every value it reads ({@code dataintegrity=true}); afterwards every record is read back from the engine and
 * compared with what YCSB wrote.
 */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class YcsbWorkloadsRunTest {
    private static final int RECORDS = 400;
    private static final int OPERATIONS = 1_000;

    private static YcsbRunConfig.Builder tiny(String workload) {
        return YcsbRunConfig.builder()
                .workload(workload)
                .records(RECORDS)
                .operations(OPERATIONS)
                .threads(2)
                .progressInterval(Duration.ofSeconds(30))
                .property("dataintegrity", "true");
    }

    private static YcsbRunner.Result run(YcsbRunConfig config, SystemUnderTest system) {
        ByteArrayOutputStream printed = new ByteArrayOutputStream();
        YcsbRunner.Result result = new YcsbRunner(config, new PrintStream(printed, true, StandardCharsets.UTF_8))
                .run(system);
        String output = printed.toString(StandardCharsets.UTF_8);
        assertTrue(output.contains("[RUN] YCSB summary:") || config.loadOnly(), output);
        return result;
    }

    private static long count(YcsbPhaseResult phase, OperationType type) {
        OperationFigures figures = phase.figures().get(type);
        return figures == null ? 0 : figures.count();
    }

    static Stream<Arguments> workloadsAndSystems() {
        List<Arguments> cases = new ArrayList<>();
        for (String workload : List.of("a", "b", "c", "d", "e", "f")) {
            cases.add(Arguments.of(workload, SystemUnderTestFactory.IN_PROCESS, "loopback"));
            cases.add(Arguments.of(workload, SystemUnderTestFactory.ROLEX, "loopback"));
            cases.add(Arguments.of(workload, SystemUnderTestFactory.ROLEX, "tcp"));
            cases.add(Arguments.of(workload, SystemUnderTestFactory.BTREE, "loopback"));
            cases.add(Arguments.of(workload, SystemUnderTestFactory.BTREE, "tcp"));
            cases.add(Arguments.of(workload, SystemUnderTestFactory.RPC, "tcp"));
        }
        return cases.stream();
    }

    @ParameterizedTest(name = "workload {0} on {1} over {2}")
    @MethodSource("workloadsAndSystems")
    void coreWorkloadRunsWithoutAFailureAndLeavesEveryRecordIntact(String workload, String systemName, String fabric) {
        YcsbRunConfig config = tiny(workload).build();
        try (SystemUnderTest system = SystemUnderTestFactory.open(new SystemOptions(systemName, fabric, List.of(),
                config.maxValueBytes(), config.threads(), (long) RECORDS + OPERATIONS))) {
            YcsbRunner.Result result = run(config, system);
            YcsbPhaseResult load = result.load().orElseThrow();
            YcsbPhaseResult run = result.run().orElseThrow();

            assertEquals(RECORDS, load.operations());
            assertEquals(RECORDS, count(load, OperationType.INSERT));
            assertEquals(OPERATIONS, run.operations());
            assertEquals(0, load.failedOperations() + run.failedOperations(), () -> run.ycsbStatusCounts().toString());
            assertEquals(0, load.bindingErrors() + run.bindingErrors());
            assertEquals(0, result.report().failedOperations());
            run.figures().values().forEach(figures -> {
                assertEquals(0, figures.errors(), figures.operation());
                assertEquals(0, figures.notFound(), figures.operation());
            });

            Set<OperationType> expected = switch (workload) {
                case "a" -> Set.of(OperationType.READ, OperationType.UPDATE);
                case "b" -> Set.of(OperationType.READ, OperationType.UPDATE);
                case "c" -> Set.of(OperationType.READ);
                case "d" -> Set.of(OperationType.READ, OperationType.INSERT);
                case "e" -> Set.of(OperationType.SCAN, OperationType.INSERT);
                case "f" -> Set.of(OperationType.READ, OperationType.UPDATE, OperationType.READ_MODIFY_WRITE);
                default -> throw new AssertionError(workload);
            };
            assertEquals(expected, run.figures().keySet());
            long reads = count(run, OperationType.READ);
            if (reads > 0) {
                assertEquals(reads, run.ycsbStatusCounts().get("VERIFY").get("OK"),
                        "YCSB checked every value it read");
            }
            if (workload.equals("f")) {
                // Every operation reads (a read-modify-write starts with one); only read-modify-writes update.
                assertEquals(OPERATIONS, count(run, OperationType.READ));
                assertEquals(count(run, OperationType.READ_MODIFY_WRITE), count(run, OperationType.UPDATE));
            }
            StoredRecords.assertEveryRecordIntact(config.properties(), system.engine(), RECORDS + count(run, OperationType.INSERT));
            assertPhaseCpu(load, run, system);
        }
    }

    /**
     * Each phase reports the CPU it used, not the process totals: the client's is positive, and the memory nodes' (where
     * the system has processes of its own) is there, and the two phases' together fit in the process's total so far.
     */
    private static void assertPhaseCpu(YcsbPhaseResult load, YcsbPhaseResult run, SystemUnderTest system) {
        assertTrue(load.cpu().clientSeconds() >= 0 && run.cpu().clientSeconds() >= 0, "the OS counts process CPU in ticks: a short phase may show 0");
        assertEquals(system.memoryNodeCpuSeconds().isPresent(), run.cpu().memoryNodeSeconds().isPresent());
        if (system.memoryNodeCpuSeconds().isPresent()) {
            double phases = load.cpu().memoryNodeSeconds().orElseThrow() + run.cpu().memoryNodeSeconds().orElseThrow();
            assertTrue(run.cpu().memoryNodeSeconds().orElseThrow() >= 0);
            assertTrue(phases <= system.memoryNodeCpuSeconds().getAsDouble() + 1e-9,
                    () -> "phases " + phases + " s, process " + system.memoryNodeCpuSeconds().getAsDouble() + " s");
            assertTrue(run.cpu().memoryNodeSeconds().orElseThrow() < system.memoryNodeCpuSeconds().getAsDouble(),
                    "the run phase's share, not the process's total (its start-up and load came before)");
        }
    }

    @Test
    void bulkLoadHoldsTheInsertsForOneBulkLoadAtTheEnd() {
        YcsbRunConfig config = tiny("c").bulkLoad(true).build();
        try (InProcessSystem system = new InProcessSystem(config.maxValueBytes())) {
            YcsbRunner.Result result = run(config, system);
            YcsbPhaseResult load = result.load().orElseThrow();
            assertEquals(RECORDS, load.bulkLoadedRecords());
            assertTrue(load.bulkLoadNanos().isPresent());
            assertEquals(0, result.report().failedOperations());
            StoredRecords.assertEveryRecordIntact(config.properties(), system.engine(), RECORDS);
        }
    }

    @Test
    void eightByteValuesAreEightBytesInTheStore() {
        YcsbRunConfig config = tiny("a").valueSize(8).build();
        assertEquals(8, config.maxValueBytes());
        try (InProcessSystem system = new InProcessSystem(config.maxValueBytes())) {
            YcsbRunner.Result result = run(config, system);
            assertEquals(0, result.report().failedOperations());
            assertEquals(8, result.report().valueSize());
            system.engine().scan(0, -1L, Integer.MAX_VALUE)
                    .forEach(pair -> assertEquals(8, pair.value().length, pair.toString()));
            StoredRecords.assertEveryRecordIntact(config.properties(), system.engine(), RECORDS);
        }
    }

    @Test
    void orderedInsertsMakeScansReadConsecutiveRecords() {
        YcsbRunConfig config = tiny("e").property("insertorder", "ordered").build();
        try (InProcessSystem system = new InProcessSystem(config.maxValueBytes())) {
            YcsbRunner.Result result = run(config, system);
            assertEquals(0, result.report().failedOperations());
            long stored = system.engine().scan(0, -1L, Integer.MAX_VALUE).size();
            assertEquals(RECORDS + result.run().orElseThrow().figures().get(OperationType.INSERT).count(), stored);
            StoredRecords.assertEveryRecordIntact(config.properties(), system.engine(), stored);
        }
    }

    @Test
    void loadOnlyWorkloadReportsTheLoad() {
        YcsbRunConfig config = tiny("load").build();
        try (InProcessSystem system = new InProcessSystem(config.maxValueBytes())) {
            YcsbRunner.Result result = run(config, system);
            assertTrue(result.run().isEmpty());
            assertEquals(Set.of("INSERT"), result.report().operationsByType().keySet());
            assertEquals(RECORDS, result.report().operationsByType().get("INSERT").count());
            assertEquals(RECORDS, result.report().operations());
            StoredRecords.assertEveryRecordIntact(config.properties(), system.engine(), RECORDS);
        }
    }
}
