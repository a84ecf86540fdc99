package io.rolexkv.bench.index;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.Optional;

/**
 * The index bench's results as Markdown: two tables, one row per configuration for the index's shape and the cost of
 * one operation, and one row per configuration and thread count for throughput and latency. Rows of later runs can
 * be merged into a file holding earlier ones ({@link #mergeInto}), so a sweep builds one table row by row.
 */
public final class IndexBenchReport {
    public static final String COST_TITLE = "#### Index shape and cost per operation (one client, warm cache)";
    public static final String THROUGHPUT_TITLE = "#### Throughput and latency (each thread its own client)";

    static final List<String> CONFIG_COLUMNS = List.of("dataset", "transport", "keys", "eps", "group", "leaf cap.");
    static final List<String> COST_COLUMNS = List.of("models", "cache bytes", "cache B/key", "READs/lookup",
            "lookups of 1/2/3/4+ READs (%)", "bytes read/lookup", "RT/lookup", "lookup ns, 1 thread (mean / p50)", "RT/insert",
            "inserts >2 RT (%)", "bytes read/insert", "bytes written/insert", "new leaves/insert", "rejected inserts", "check");
    static final List<String> THROUGHPUT_COLUMNS = List.of("threads", "lookup ops/s (median)", "lookup ops/s (min-max)",
            "lookup p50 µs", "lookup p99 µs", "RT/lookup", "insert ops/s (median)", "insert ops/s (min-max)",
            "insert p50 µs", "insert p99 µs", "RT/insert", "lock conflicts/insert");

    private static final String NONE = "-";

    private IndexBenchReport() {
    }

    /** Both tables for {@code result}, with titles and headers: what a fresh {@code --out} file holds. */
    public static String markdown(IndexBenchResult result) {
        StringBuilder out = new StringBuilder();
        appendTable(out, COST_TITLE, costHeader(), costRows(result));
        out.append('\n');
        appendTable(out, THROUGHPUT_TITLE, throughputHeader(), throughputRows(result));
        return out.toString();
    }

    /**
     * {@code existing} (Markdown written by this class, possibly edited around its tables) with {@code result}'s rows
     * appended to the end of each of its two tables; a table it does not have is added at the end.
     */
    public static String mergeInto(String existing, IndexBenchResult result) {
        String merged = appendRows(existing, COST_TITLE, costHeader(), costRows(result));
        return appendRows(merged, THROUGHPUT_TITLE, throughputHeader(), throughputRows(result));
    }

    static List<String> costHeader() {
        return header(concat(CONFIG_COLUMNS, COST_COLUMNS));
    }

    static List<String> throughputHeader() {
        return header(concat(CONFIG_COLUMNS, THROUGHPUT_COLUMNS));
    }

    static List<String> costRows(IndexBenchResult result) {
        IndexBenchResult.LookupCost lookup = result.lookupCost();
        Optional<IndexBenchResult.InsertCost> insert = result.insertCost();
        List<String> cells = new ArrayList<>(configCells(result.config()));
        cells.add(integer(result.shape().models()));
        cells.add(integer(result.shape().cacheBytes()));
        cells.add(decimal(result.shape().cacheBytesPerKey(), 3));
        cells.add(decimal(lookup.readsPerLookup(), 3));
        cells.add(decimal(lookup.percentReading(1), 1) + " / " + decimal(lookup.percentReading(2), 1) + " / "
                + decimal(lookup.percentReading(3), 1) + " / " + decimal(lookup.percentReading(4), 1));
        cells.add(integer(Math.round(lookup.bytesReadPerLookup())));
        cells.add(decimal(lookup.roundTripsPerLookup(), 3));
        cells.add(result.singleThread().map(point -> integer(Math.round(1e9 / point.lookups().medianOpsPerSecond()))
                + " / " + integer(point.lookups().p50Nanos())).orElse(NONE));
        cells.add(insert.map(cost -> decimal(cost.roundTripsPerInsert(), 3)).orElse(NONE));
        cells.add(insert.map(cost -> decimal(cost.percentMoreThanTwoRoundTrips(), 1)).orElse(NONE));
        cells.add(insert.map(cost -> integer(Math.round(cost.bytesReadPerInsert()))).orElse(NONE));
        cells.add(insert.map(cost -> integer(Math.round(cost.bytesWrittenPerInsert()))).orElse(NONE));
        cells.add(insert.map(cost -> decimal(cost.splitsPerInsert(), 3)).orElse(NONE));
        long rejected = insert.map(IndexBenchResult.InsertCost::rejected).orElse(0L) + result.throughput().stream()
                .mapToLong(point -> point.inserts().map(IndexBenchResult.TimedRuns::failures).orElse(0L)).sum();
        cells.add(insert.isPresent() ? integer(rejected) : NONE);
        cells.add(check(result));
        return List.of(row(cells));
    }

    static List<String> throughputRows(IndexBenchResult result) {
        List<String> rows = new ArrayList<>();
        for (IndexBenchResult.ThroughputPoint point : result.throughput()) {
            List<String> cells = new ArrayList<>(configCells(result.config()));
            cells.add(integer(point.threads()));
            cells.addAll(timedCells(Optional.of(point.lookups())));
            List<String> insertCells = new ArrayList<>(timedCells(point.inserts()));
            insertCells.add(point.inserts().map(runs -> decimal(runs.lockConflictsPerOperation(), 4)).orElse(NONE));
            cells.addAll(insertCells);
            rows.add(row(cells));
        }
        return rows;
    }

    /** "ok", or what the bench found wrong: these figures are of an index that lost or garbled keys. */
    static String check(IndexBenchResult result) {
        long timedMisses = result.throughput().stream().mapToLong(point -> point.lookups().failures()).sum();
        long misses = result.lookupCost().misses() + timedMisses;
        if (misses == 0 && result.lostKeys() == 0) {
            return "ok";
        }
        return "FAILED misses=" + misses + " lost=" + result.lostKeys();
    }

    private static List<String> configCells(IndexBenchConfig config) {
        return List.of(config.dataset().cliName(), config.transport(), count(config.keys()), integer(config.epsilon()),
                integer(config.groupSize()), integer(config.leafCapacity()));
    }

    private static List<String> timedCells(Optional<IndexBenchResult.TimedRuns> runs) {
        if (runs.isEmpty()) {
            return List.of(NONE, NONE, NONE, NONE, NONE);
        }
        IndexBenchResult.TimedRuns timed = runs.get();
        return List.of(integer(Math.round(timed.medianOpsPerSecond())),
                integer(Math.round(timed.minOpsPerSecond())) + "-" + integer(Math.round(timed.maxOpsPerSecond())),
                decimal(timed.p50Nanos() / 1000.0, 1), decimal(timed.p99Nanos() / 1000.0, 1),
                decimal(timed.roundTripsPerOperation(), 3));
    }

    // ------------------------------------------------------------------ Markdown

    private static void appendTable(StringBuilder out, String title, List<String> header, List<String> rows) {
        out.append(title).append("\n\n");
        header.forEach(line -> out.append(line).append('\n'));
        rows.forEach(line -> out.append(line).append('\n'));
    }

    /**
     * Appends {@code rows} to the table under {@code header} in {@code text}: after the last table line (a line starting
     * with {@code |}) that follows the header line. Without such a table, adds the title, header and rows at the end.
     */
    static String appendRows(String text, String title, List<String> header, List<String> rows) {
        List<String> lines = new ArrayList<>(Arrays.asList(text.split("\n", -1)));
        int headerLine = lines.indexOf(header.getFirst());
        if (headerLine < 0) {
            StringBuilder out = new StringBuilder(text);
            if (!text.isEmpty()) {
                out.append(text.endsWith("\n") ? "\n" : "\n\n");
            }
            appendTable(out, title, header, rows);
            return out.toString();
        }
        int end = headerLine + 1;
        while (end < lines.size() && lines.get(end).startsWith("|")) {
            end++;
        }
        lines.addAll(end, rows);
        return String.join("\n", lines);
    }

    private static List<String> header(List<String> columns) {
        return List.of(row(columns), row(columns.stream().map(column -> "---").toList()));
    }

    private static String row(List<String> cells) {
        return "| " + String.join(" | ", cells) + " |";
    }

    private static List<String> concat(List<String> first, List<String> second) {
        List<String> all = new ArrayList<>(first);
        all.addAll(second);
        return all;
    }

    /** A key count as the tables show it: {@code 1M}, {@code 20K}, or the number. */
    static String count(long value) {
        if (value >= 1_000_000 && value % 1_000_000 == 0) {
            return value / 1_000_000 + "M";
        }
        if (value >= 1_000 && value % 1_000 == 0) {
            return value / 1_000 + "K";
        }
        return integer(value);
    }

    private static String integer(long value) {
        return String.format(Locale.ROOT, "%,d", value);
    }

    private static String decimal(double value, int places) {
        return String.format(Locale.ROOT, "%." + places + "f", value);
    }
}
