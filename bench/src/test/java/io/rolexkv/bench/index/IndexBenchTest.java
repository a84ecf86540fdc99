package io.rolexkv.bench.index;

import io.rolexkv.bench.jmh.BenchmarkKeys;
import io.rolexkv.rolex.index.IndexGeometry;
import io.rolexkv.rolex.layout.ModelRecordDescriptor;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.io.Writer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.HashSet;
import java.util.List;
import java.util.Set;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The index bench on tiny configurations: its figures must be the ones the index's protocols imply. */
@Timeout(60)
class IndexBenchTest {
    private static final PrintWriter QUIET = new PrintWriter(Writer.nullWriter());

    @Test
    void aTinyLoopbackRunReportsTheFiguresTheProtocolsImply() {
        IndexBenchConfig config = new IndexBenchConfig(20_000, IndexDataset.UNIFORM, 300, "loopback", 12, 32, 16,
                List.of(1, 2), 4_000, 1_000, 2, 5);
        IndexBenchResult result = IndexBench.run(config, QUIET);
        IndexGeometry geometry = config.geometry();

        assertEquals(20_000, result.shape().keys());
        assertTrue(result.shape().models() >= 1);
        // A fresh bulk load: the cache holds one record per model and nothing learned of groups or chains yet.
        assertEquals(result.shape().models() * (long) ModelRecordDescriptor.RECORD_BYTES, result.shape().cacheBytes());

        IndexBenchResult.LookupCost lookups = result.lookupCost();
        assertEquals(4_000, lookups.lookups());
        assertEquals(0, lookups.misses());
        assertEquals(1.0, lookups.roundTripsPerLookup(), "a warm cache reads a key's window in one doorbell");
        // Group heads, the base window and the reuse floor, each one READ (two for heads spanning a model's end at most).
        assertTrue(lookups.readsPerLookup() >= 3.0 && lookups.readsPerLookup() < 4.0, "READs/lookup=" + lookups.readsPerLookup());
        // The window is at most 2 * epsilon + 3 entries of 16 bytes (floor(p) - e - 1 .. ceil(p) + e), plus the heads of
        // the two groups it spans at most and the 8-byte floor.
        assertTrue(lookups.bytesReadPerLookup() <= 16 * (2 * 12 + 3) + 16 * 2 + 8, "bytes/lookup=" + lookups.bytesReadPerLookup());
        assertEquals(lookups.lookups(), lookups.readingOne() + lookups.readingTwo() + lookups.readingThree()
                + lookups.readingFourOrMore());

        IndexBenchResult.InsertCost inserts = result.insertCost().orElseThrow();
        assertEquals(1_000, inserts.inserts());
        assertEquals(0, inserts.rejected());
        // One client, nobody else writing: two doorbells each (lock and read, write and unlock); a new delta leaf's SLT
        // slot and leaves are claimed in the first of them, so at most a few claims cost a doorbell of their own.
        assertTrue(inserts.doorbells() >= 2L * inserts.inserts(), "doorbells=" + inserts.doorbells());
        assertTrue(inserts.doorbells() <= 2L * inserts.inserts() + inserts.splits(), "doorbells=" + inserts.doorbells()
                + " splits=" + inserts.splits());
        // An insert writes a new delta leaf whole (the group's first) or the words it changed of one, the delta head
        // when it starts a chain, and the unlocks: never more than a leaf and a few words.
        assertTrue(inserts.bytesWrittenPerInsert() >= 2 * 8, "bytes written per insert=" + inserts.bytesWrittenPerInsert());
        assertTrue(inserts.bytesWrittenPerInsert() <= geometry.leafBytes() + 64, "bytes written per insert="
                + inserts.bytesWrittenPerInsert() + " leaf bytes=" + geometry.leafBytes());

        assertEquals(2, result.throughput().size());
        for (IndexBenchResult.ThroughputPoint point : result.throughput()) {
            IndexBenchResult.TimedRuns timedLookups = point.lookups();
            assertEquals(2, timedLookups.opsPerSecond().size());
            assertEquals(4_000, timedLookups.operations());
            assertEquals(0, timedLookups.failures());
            assertEquals(1.0, timedLookups.roundTripsPerOperation(), "freshly opened clients, no inserts yet");
            assertTrue(timedLookups.medianOpsPerSecond() > 0);
            assertTrue(timedLookups.p50Nanos() > 0 && timedLookups.p50Nanos() <= timedLookups.p99Nanos());
            IndexBenchResult.TimedRuns timedInserts = point.inserts().orElseThrow();
            assertEquals(1_000, timedInserts.operations());
            assertTrue(timedInserts.roundTripsPerOperation() >= 2.0, "RT/insert=" + timedInserts.roundTripsPerOperation());
        }
        assertEquals(0, result.lostKeys());
        assertEquals("ok", IndexBenchReport.check(result));

        String markdown = IndexBenchReport.markdown(result);
        assertEquals(1, IndexBenchReport.costRows(result).size());
        assertTrue(markdown.contains("| uniform | loopback | 20K | 12 | 32 | 16 | " + result.shape().models() + " |"), markdown);
        assertEquals(2, IndexBenchReport.throughputRows(result).size());
    }

    @Test
    void keySetsHoldOutInsertsFromTheSameDistributionReproducibly() {
        for (IndexDataset dataset : IndexDataset.values()) {
            IndexKeySet keys = IndexKeySet.generate(dataset, 10_000, 2_000, 50, 9);
            IndexKeySet again = IndexKeySet.generate(dataset, 10_000, 2_000, 50, 9);
            assertArrayEquals(keys.loaded(), again.loaded(), dataset.cliName());
            assertArrayEquals(keys.inserts(), again.inserts(), dataset.cliName());
            for (int i = 1; i < keys.loaded().length; i++) {
                assertTrue(Long.compareUnsigned(keys.loaded()[i - 1], keys.loaded()[i]) < 0, "loaded keys ascend at " + i);
            }
            Set<Long> loaded = new HashSet<>();
            Arrays.stream(keys.loaded()).forEach(loaded::add);
            Set<Long> all = new HashSet<>(loaded);
            Arrays.stream(keys.inserts()).forEach(key -> assertTrue(all.add(key), "insert key repeats a key: " + key));
            long[] whole = dataset == IndexDataset.UNIFORM ? BenchmarkKeys.uniform(12_000, 9) : BenchmarkKeys.clustered(12_000, 50, 9);
            Set<Long> expected = new HashSet<>();
            Arrays.stream(whole).forEach(expected::add);
            assertEquals(expected, all, "loaded and held-out keys together are the distribution's key set");
            long[] sortedInserts = keys.inserts().clone();
            Arrays.sort(sortedInserts);
            assertFalse(Arrays.equals(sortedInserts, keys.inserts()), "inserts come in random order, not sorted");
        }
        // Clustered: the 49 jumps between the 50 clusters dwarf every gap inside one.
        long[] clustered = IndexKeySet.generate(IndexDataset.CLUSTERED, 10_000, 2_000, 50, 9).loaded();
        long jumps = 0;
        for (int i = 1; i < clustered.length; i++) {
            jumps += Long.compareUnsigned(clustered[i] - clustered[i - 1], 1L << 40) > 0 ? 1 : 0;
        }
        assertEquals(49, jumps);
    }

    @Test
    void theCommandAppendsATcpRunToTheTablesOfAnEarlierRun(@TempDir Path directory) throws Exception {
        Path out = directory.resolve("sweep.md");
        String[] common = {"--keys", "5000", "--transport", "tcp", "--threads", "2", "--lookups", "1000", "--inserts", "0",
                "--runs", "1", "--out", out.toString(), "--append"};
        assertEquals(IndexBench.EXIT_OK, execute(concat(common, "--epsilon", "8")).exitCode());
        Run second = execute(concat(common, "--epsilon", "32", "--dataset", "clustered", "--clusters", "20"));
        assertEquals(IndexBench.EXIT_OK, second.exitCode(), second.err());
        assertTrue(second.out().contains("| clustered | tcp | 5K | 32 | 32 | 16 |"), second.out());

        List<String> lines = Files.readAllLines(out);
        assertEquals(1, lines.stream().filter(IndexBenchReport.COST_TITLE::equals).count(), String.join("\n", lines));
        assertEquals(1, lines.stream().filter(IndexBenchReport.THROUGHPUT_TITLE::equals).count());
        int header = lines.indexOf(IndexBenchReport.costHeader().getFirst());
        assertTrue(lines.get(header + 2).startsWith("| uniform | tcp | 5K | 8 | 32 | 16 |"), lines.get(header + 2));
        assertTrue(lines.get(header + 3).startsWith("| clustered | tcp | 5K | 32 | 32 | 16 |"), lines.get(header + 3));
        for (String row : List.of(lines.get(header + 2), lines.get(header + 3))) {
            assertEquals("1.000", cell(row, "RT/lookup"), "one round trip per lookup over tcp too: " + row);
            assertEquals("-", cell(row, "RT/insert"), "inserts were not run: " + row);
            assertEquals("ok", cell(row, "check"), row);
        }
        assertEquals("", lines.get(header + 4), "the cost table ends after its two rows");
    }

    @Test
    void badOptionsAreRefusedNamingTheOption() {
        Run run = execute("--dataset", "zipfian");
        assertEquals(IndexBench.EXIT_USAGE, run.exitCode());
        assertEquals("index-bench: dataset=zipfian allowed=[uniform, clustered] (see 'index-bench --help')", run.err().strip());
        assertEquals("index-bench: threads=[1, 1] lists a thread count twice (see 'index-bench --help')",
                execute("--threads", "1,1").err().strip());
        assertEquals("index-bench: epsilon=0 allowed=[1,4096] (see 'index-bench --help')",
                execute("--epsilon", "0").err().strip());
        assertEquals(IndexBench.EXIT_USAGE, execute("--keys", "many").exitCode());
    }

    /** The cell of a cost table row under {@code column}. */
    private static String cell(String row, String column) {
        List<String> columns = new java.util.ArrayList<>(IndexBenchReport.CONFIG_COLUMNS);
        columns.addAll(IndexBenchReport.COST_COLUMNS);
        String[] cells = row.substring(2, row.length() - 2).split(" \\| ");
        assertEquals(columns.size(), cells.length, row);
        return cells[columns.indexOf(column)];
    }

    private record Run(int exitCode, String out, String err) {
    }

    private static Run execute(String... args) {
        StringWriter out = new StringWriter();
        StringWriter err = new StringWriter();
        CommandLine commandLine = IndexBench.commandLine();
        commandLine.setOut(new PrintWriter(out, true));
        commandLine.setErr(new PrintWriter(err, true));
        int exitCode = commandLine.execute(args);
        return new Run(exitCode, out.toString(), err.toString());
    }

    private static String[] concat(String[] first, String... more) {
        String[] all = Arrays.copyOf(first, first.length + more.length);
        System.arraycopy(more, 0, all, first.length, more.length);
        return all;
    }
}
