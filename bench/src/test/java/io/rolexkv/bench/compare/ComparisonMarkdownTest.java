package io.rolexkv.bench.compare;

import org.junit.jupiter.api.Test;

import java.nio.file.Path;
import java.util.List;

import static io.rolexkv.bench.compare.ComparisonFixtures.ran;
import static io.rolexkv.bench.compare.ComparisonFixtures.report;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

class ComparisonMarkdownTest {

    private static ComparisonResults results() {
        return new ComparisonResults(List.of("a", "c"), List.of("rolex", "btree", "rpc"), List.of(
                ran(report("rolex", "a", 12_000, 1, 2)),
                ran(report("btree", "a", 8_000, 1, 2)),
                ran(report("rpc", "a", 24_000, 1, 1)),
                ran(report("rolex", "c", 15_000, 1, 2)),
                ComparisonResults.Cell.failed("c", "btree", "exit code 3, no report", Path.of("logs/btree-c.log")),
                ran(report("rpc", "c", 30_000, 1, 1))));
    }

    @Test
    void throughputTableHasOneRowPerWorkloadWithRatiosToTheFirstSystem() {
        String markdown = ComparisonMarkdown.render(results(), "scripts/rolexkv compare --records 1000", "chart.png");
        List<String> lines = markdown.lines().toList();
        int header = lines.indexOf("| workload | rolex | btree | rpc | rolex / btree | rolex / rpc |");
        assertTrue(header >= 0, markdown);
        assertEquals("|---|---|---|---|---|---|", lines.get(header + 1));
        assertEquals("| A | 12,000 | 8,000 | 24,000 | 1.50 | 0.50 |", lines.get(header + 2));
        assertEquals("| C | 15,000 | failed: exit code 3, no report | 30,000 | – | 0.50 |", lines.get(header + 3));
        assertTrue(markdown.contains("Made with `scripts/rolexkv compare --records 1000`."), markdown);
        assertTrue(markdown.contains("![throughput and round trips per operation](chart.png)"), markdown);
        assertTrue(markdown.contains("1,000 records of one 8-byte value, 1,000 operations per run, 8 client threads, fabric tcp."),
                markdown);
    }

    @Test
    void perOperationRowsCarryLatencyRoundTripsAndBytes() {
        String markdown = ComparisonMarkdown.render(results(), "x", null);
        assertTrue(markdown.contains("| A | READ | rolex | 600 | 80 | 250 | 1.00 | 1,024 | 0 |"), markdown);
        assertTrue(markdown.contains("| A | UPDATE | rpc | 400 | 150 | 900 | 1.00 | 1,100 | 64 |"), markdown);
        assertTrue(markdown.lines().noneMatch(line -> line.startsWith("| C | READ | btree")), markdown);
        assertTrue(markdown.lines().noneMatch(line -> line.startsWith("![")), markdown);
    }

    @Test
    void perRunRowsShowWhatASystemDoesNotHaveAsADash() {
        String markdown = ComparisonMarkdown.render(results(), "x", null);
        assertTrue(markdown.contains("| A | rolex | 0 | 1500.0 | 2500.0 | 4,096 | 3 |"), markdown);
        assertTrue(markdown.contains("| A | rpc | 0 | 1500.0 | 2500.0 | – | – |"), markdown);
        assertTrue(markdown.contains("| C | btree | failed: exit code 3, no report | | | | |"), markdown);
    }

    @Test
    void weightedRoundTripsCountEachOperationTypeByHowManyRan() {
        // 600 reads at 1 and 400 updates at 2: (600 + 800) / 1000.
        assertEquals(1.4, report("rolex", "a", 1, 1, 2).roundTripsPerOp(), 1e-9);
        assertEquals(1024 * 0.6 + 1100 * 0.4, report("rolex", "a", 1, 1, 2).bytesReadPerOp(), 1e-9);
    }
}
