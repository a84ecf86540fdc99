package io.rolexkv.bench.index;

import io.rolexkv.bench.jmh.BenchmarkKeys;
import io.rolexkv.common.fabric.FabricConnection;
import io.rolexkv.common.fabric.FabricCounters;
import io.rolexkv.rolex.index.IndexFullException;
import io.rolexkv.rolex.index.IndexGeometry;
import io.rolexkv.rolex.index.PutOutcome;
import io.rolexkv.rolex.index.LeanIndex;
import org.HdrHistogram.Histogram;

import java.io.PrintWriter;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Optional;
import java.util.OptionalLong;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;

/**
 * Runs one {@link IndexBenchConfig} against a fresh in-process memory node, in this order:
 * <ol>
 *   <li>generate the key set, size the regions for it, bulk load through a first client (the loader);</li>
 *   <li>the lookup cost pass: the loader gets random loaded keys one at a time, each bracketed by snapshots of its
 *       connection's counters, so every lookup's READs (one per leaf), round trips and bytes are its own;</li>
 *   <li>timed lookups at each thread count: that many new clients, each its own connection and its own
 *       {@link LeanIndex#open}, as separate compute nodes; the runs' throughput and per-operation latency;</li>
 *   <li>the insert cost pass (loader, fresh keys, one at a time, measured alone) and timed inserts at each thread count,
 *       each run with keys of its own, so the index grows by every measurement's inserts;</li>
 *   <li>a final check, through the loader: every inserted key and every eighth loaded key has its value, and no
 *       rejected insert left a trace.</li>
 * </ol>
 * Lookups are measured before any insert, so their figures are of the freshly loaded index; inserts meet an index
 * already grown by the earlier insert measurements (at most {@link IndexBenchConfig#insertKeys()} keys in all).
 */
final class IndexBenchRunner {
    /** Latencies above this are recorded as this: far beyond anything the bench should see. */
    private static final long HIGHEST_LATENCY_NANOS = TimeUnit.SECONDS.toNanos(60);
    /** A timed run that does not finish in this long is reported as hung. */
    private static final long RUN_TIMEOUT_MINUTES = 30;

    private final IndexBenchConfig config;
    private final PrintWriter progress;
    private final long startNanos = System.nanoTime();

    IndexBenchRunner(IndexBenchConfig config, PrintWriter progress) {
        this.config = config;
        this.progress = progress;
    }

    /** A compute node of the bench: its own queue pair and its own index handle (and model cache). */
    private record Client(FabricConnection connection, LeanIndex index) {
    }

    /** One operation of a timed run; returns false for a failure the run counts (a miss, a rejected insert). */
    @FunctionalInterface
    private interface Operation {
        boolean apply(LeanIndex index, long key);
    }

    IndexBenchResult run() {
        IndexGeometry geometry = config.geometry();
        IndexKeySet keySet = IndexKeySet.generate(config.dataset(), config.keys(), config.insertKeys(), config.clusters(),
                config.seed());
        long[] loaded = keySet.loaded();
        int clients = 1 + 2 * config.threads().stream().mapToInt(Integer::intValue).sum();
        IndexMemoryNode.RegionSizes sizes = IndexMemoryNode.RegionSizes.forLoad(loaded, geometry, config.insertKeys(), clients);
        log("system load average " + loadAverage() + " on " + Runtime.getRuntime().availableProcessors() + " cpus");
        log("keys generated: " + config.dataset().cliName() + " loaded=" + loaded.length + " to insert="
                + keySet.inserts().length + "; regions leaves=" + sizes.leavesBytes() + " tables=" + sizes.tablesBytes()
                + " models=" + sizes.modelsBytes());
        try (IndexMemoryNode node = new IndexMemoryNode(config.transport(), sizes)) {
            FabricConnection loaderConnection = node.connect();
            long[] values = new long[loaded.length];
            for (int i = 0; i < loaded.length; i++) {
                values[i] = IndexKeySet.valueOf(loaded[i]);
            }
            LeanIndex loader = LeanIndex.bulkLoad(loaderConnection, geometry, loaded, values);
            IndexBenchResult.Shape shape = new IndexBenchResult.Shape(loaded.length, loader.modelCount(),
                    loader.cachedBytes(), geometry.leafBytes());
            log("bulk loaded: models=" + shape.models() + " cache bytes=" + shape.cacheBytes());

            IndexBenchResult.LookupCost lookupCost = lookupCost(loader, BenchmarkKeys.lookupsOf(loaded, config.lookups(),
                    config.seed() + 1));
            log("lookup cost: READs/lookup=" + lookupCost.readsPerLookup() + " round trips/lookup="
                    + lookupCost.roundTripsPerLookup());
            List<IndexBenchResult.TimedRuns> lookupRuns = new ArrayList<>();
            for (int threads : config.threads()) {
                lookupRuns.add(timedLookups(node, loaded, threads));
            }

            Optional<IndexBenchResult.InsertCost> insertCost = Optional.empty();
            List<Optional<IndexBenchResult.TimedRuns>> insertRuns = new ArrayList<>();
            Set<Long> rejected = ConcurrentHashMap.newKeySet();
            if (config.inserts() > 0) {
                insertCost = Optional.of(insertCost(loader, Arrays.copyOfRange(keySet.inserts(), 0, config.inserts()), rejected));
                log("insert cost: round trips/insert=" + insertCost.get().roundTripsPerInsert());
                for (int t = 0; t < config.threads().size(); t++) {
                    insertRuns.add(Optional.of(timedInserts(node, keySet.inserts(), t, rejected)));
                }
            } else {
                config.threads().forEach(threads -> insertRuns.add(Optional.empty()));
            }
            List<IndexBenchResult.ThroughputPoint> points = new ArrayList<>();
            for (int t = 0; t < config.threads().size(); t++) {
                points.add(new IndexBenchResult.ThroughputPoint(config.threads().get(t), lookupRuns.get(t), insertRuns.get(t)));
            }
            long lost = finalCheck(loader, loaded, keySet.inserts(), rejected);
            log("final check: lost keys=" + lost + "; system load average " + loadAverage());
            return new IndexBenchResult(config, shape, lookupCost, insertCost, points, lost, secondsSinceStart());
        }
    }

    // ------------------------------------------------------------------ cost passes

    private IndexBenchResult.LookupCost lookupCost(LeanIndex index, long[] keys) {
        FabricCounters counters = index.connection().counters();
        long[] byReads = new long[5];
        long reads = 0;
        long doorbells = 0;
        long bytesRead = 0;
        long misses = 0;
        for (long key : keys) {
            FabricCounters.Snapshot before = counters.snapshot();
            OptionalLong value = index.get(key);
            FabricCounters.Snapshot cost = counters.snapshot().minus(before);
            byReads[(int) Math.min(4, cost.reads())]++;
            reads += cost.reads();
            doorbells += cost.doorbells();
            bytesRead += cost.bytesRead();
            if (value.isEmpty() || value.getAsLong() != IndexKeySet.valueOf(key)) {
                misses++;
            }
        }
        if (byReads[0] > 0) {
            throw new IllegalStateException("lookups=" + byReads[0] + " read nothing at all: the counters do not see the index");
        }
        return new IndexBenchResult.LookupCost(keys.length, byReads[1], byReads[2], byReads[3], byReads[4], reads,
                doorbells, bytesRead, misses);
    }

    private IndexBenchResult.InsertCost insertCost(LeanIndex index, long[] keys, Set<Long> rejected) {
        FabricCounters counters = index.connection().counters();
        long splitsBefore = index.counters().newLeaves();
        long doorbells = 0;
        long moreThanTwo = 0;
        long bytesRead = 0;
        long bytesWritten = 0;
        for (long key : keys) {
            FabricCounters.Snapshot before = counters.snapshot();
            if (!insert(index, key)) {
                rejected.add(key);
            }
            FabricCounters.Snapshot cost = counters.snapshot().minus(before);
            doorbells += cost.doorbells();
            moreThanTwo += cost.doorbells() > 2 ? 1 : 0;
            bytesRead += cost.bytesRead();
            bytesWritten += cost.bytesWritten();
        }
        return new IndexBenchResult.InsertCost(keys.length, rejected.size(), doorbells, moreThanTwo, bytesRead, bytesWritten,
                index.counters().newLeaves() - splitsBefore);
    }

    /** Inserts {@code key} with its value; false if the index had no room for it. */
    private static boolean insert(LeanIndex index, long key) {
        try {
            PutOutcome outcome = index.put(key, IndexKeySet.valueOf(key), null).outcome();
            if (outcome != PutOutcome.INSERTED) {
                throw new IllegalStateException("insert of fresh key=" + Long.toUnsignedString(key) + " found it present: "
                        + outcome + "; the key set overlaps or the index is wrong");
            }
            return true;
        } catch (IndexFullException full) {
            return false;
        }
    }

    // ------------------------------------------------------------------ timed runs

    private IndexBenchResult.TimedRuns timedLookups(IndexMemoryNode node, long[] loaded, int threads) {
        List<Client> clients = openClients(node, threads);
        List<long[][]> runs = new ArrayList<>();
        for (int run = 0; run < config.runs(); run++) {
            long[][] keys = new long[threads][];
            for (int c = 0; c < threads; c++) {
                int count = sliceStart(c + 1, config.lookups(), threads) - sliceStart(c, config.lookups(), threads);
                keys[c] = BenchmarkKeys.lookupsOf(loaded, count, config.seed() + 1_000L * (run + 1) + c);
            }
            runs.add(keys);
        }
        IndexBenchResult.TimedRuns timed = time(clients, runs, (index, key) -> {
            OptionalLong value = index.get(key);
            return value.isPresent() && value.getAsLong() == IndexKeySet.valueOf(key);
        });
        closeClients(clients);
        log("lookups threads=" + threads + ": median ops/s=" + Math.round(timed.medianOpsPerSecond()));
        return timed;
    }

    private IndexBenchResult.TimedRuns timedInserts(IndexMemoryNode node, long[] inserts, int threadIndex, Set<Long> rejected) {
        int threads = config.threads().get(threadIndex);
        List<Client> clients = openClients(node, threads);
        List<long[][]> runs = new ArrayList<>();
        for (int run = 0; run < config.runs(); run++) {
            // The cost pass took the first slice of the held-out keys; each timed run takes the next.
            int offset = config.inserts() * (1 + threadIndex * config.runs() + run);
            long[][] keys = new long[threads][];
            for (int c = 0; c < threads; c++) {
                keys[c] = Arrays.copyOfRange(inserts, offset + sliceStart(c, config.inserts(), threads),
                        offset + sliceStart(c + 1, config.inserts(), threads));
            }
            runs.add(keys);
        }
        IndexBenchResult.TimedRuns timed = time(clients, runs, (index, key) -> {
            if (insert(index, key)) {
                return true;
            }
            rejected.add(key);
            return false;
        });
        closeClients(clients);
        log("inserts threads=" + threads + ": median ops/s=" + Math.round(timed.medianOpsPerSecond()));
        return timed;
    }

    /** Where client {@code client}'s share of {@code total} operations starts: shares differ by at most one. */
    private static int sliceStart(int client, int total, int clients) {
        return (int) ((long) client * total / clients);
    }

    private List<Client> openClients(IndexMemoryNode node, int count) {
        List<Client> clients = new ArrayList<>(count);
        for (int i = 0; i < count; i++) {
            FabricConnection connection = node.connect();
            clients.add(new Client(connection, LeanIndex.open(connection)));
        }
        return clients;
    }

    private static void closeClients(List<Client> clients) {
        clients.forEach(client -> client.connection().close());
    }

    /**
     * Runs each of {@code runs} (per client, the keys it works through) with one platform thread per client, released
     * together; a run's time is from the release to the last thread's end.
     */
    private IndexBenchResult.TimedRuns time(List<Client> clients, List<long[][]> runs, Operation operation) {
        Histogram latencies = new Histogram(HIGHEST_LATENCY_NANOS, 3);
        List<Double> opsPerSecond = new ArrayList<>();
        long doorbellsBefore = doorbells(clients);
        long conflictsBefore = lockConflicts(clients);
        long failures = 0;
        int operations = 0;
        for (long[][] keys : runs) {
            System.gc(); // the previous run's garbage is not this run's cost
            int threads = clients.size();
            CountDownLatch ready = new CountDownLatch(threads);
            CountDownLatch go = new CountDownLatch(1);
            Histogram[] perThread = new Histogram[threads];
            long[] failed = new long[threads];
            AtomicReference<Throwable> error = new AtomicReference<>();
            List<Thread> workers = new ArrayList<>(threads);
            operations = 0;
            for (int c = 0; c < threads; c++) {
                int client = c;
                operations += keys[c].length;
                perThread[c] = new Histogram(HIGHEST_LATENCY_NANOS, 3);
                Thread worker = new Thread(() -> {
                    LeanIndex index = clients.get(client).index();
                    Histogram histogram = perThread[client];
                    long[] clientKeys = keys[client];
                    long failedHere = 0;
                    ready.countDown();
                    try {
                        go.await();
                        for (long key : clientKeys) {
                            long start = System.nanoTime();
                            boolean ok = operation.apply(index, key);
                            histogram.recordValue(Math.min(HIGHEST_LATENCY_NANOS, System.nanoTime() - start));
                            failedHere += ok ? 0 : 1;
                        }
                    } catch (Throwable t) {
                        error.compareAndSet(null, t);
                    }
                    failed[client] = failedHere;
                }, "index-bench-client-" + c);
                workers.add(worker);
                worker.start();
            }
            awaitQuietly(ready);
            long start = System.nanoTime();
            go.countDown();
            for (Thread worker : workers) {
                join(worker);
            }
            long elapsed = System.nanoTime() - start;
            if (error.get() != null) {
                throw new IllegalStateException("a bench client failed: " + error.get(), error.get());
            }
            opsPerSecond.add(operations * 1e9 / elapsed);
            for (int c = 0; c < threads; c++) {
                latencies.add(perThread[c]);
                failures += failed[c];
            }
        }
        return new IndexBenchResult.TimedRuns(operations, opsPerSecond, latencies.getValueAtPercentile(50),
                latencies.getValueAtPercentile(99), doorbells(clients) - doorbellsBefore, failures,
                lockConflicts(clients) - conflictsBefore);
    }

    private static long doorbells(List<Client> clients) {
        return clients.stream().mapToLong(client -> client.connection().counters().snapshot().doorbells()).sum();
    }

    private static long lockConflicts(List<Client> clients) {
        return clients.stream().mapToLong(client -> client.index().counters().lockConflicts()).sum();
    }

    private static void awaitQuietly(CountDownLatch latch) {
        try {
            if (!latch.await(RUN_TIMEOUT_MINUTES, TimeUnit.MINUTES)) {
                throw new IllegalStateException("bench clients did not start within " + RUN_TIMEOUT_MINUTES + " minutes");
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted while starting bench clients", e);
        }
    }

    private static void join(Thread worker) {
        try {
            worker.join(TimeUnit.MINUTES.toMillis(RUN_TIMEOUT_MINUTES));
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted while waiting for " + worker.getName(), e);
        }
        if (worker.isAlive()) {
            throw new IllegalStateException(worker.getName() + " did not finish its run within " + RUN_TIMEOUT_MINUTES
                    + " minutes");
        }
    }

    // ------------------------------------------------------------------ final check

    /** Keys found wrong: a loaded (every eighth) or accepted inserted key without its value, or a rejected one present. */
    private long finalCheck(LeanIndex index, long[] loaded, long[] inserts, Set<Long> rejected) {
        long[] sampled = new long[(loaded.length + 7) / 8];
        for (int i = 0; i < sampled.length; i++) {
            sampled[i] = loaded[8 * i];
        }
        long wrong = 0;
        for (long[] keys : List.of(sampled, inserts)) {
            for (int start = 0; start < keys.length; start += LeanIndex.KEYS_PER_DOORBELL) {
                long[] chunk = Arrays.copyOfRange(keys, start, Math.min(keys.length, start + LeanIndex.KEYS_PER_DOORBELL));
                OptionalLong[] values = index.getAll(chunk);
                for (int i = 0; i < chunk.length; i++) {
                    boolean expectedAbsent = rejected.contains(chunk[i]);
                    boolean right = expectedAbsent ? values[i].isEmpty()
                            : values[i].isPresent() && values[i].getAsLong() == IndexKeySet.valueOf(chunk[i]);
                    wrong += right ? 0 : 1;
                }
            }
        }
        return wrong;
    }

    /** The system's one-minute load average: other work on the machine, which the timings share it with. */
    private static String loadAverage() {
        double load = java.lang.management.ManagementFactory.getOperatingSystemMXBean().getSystemLoadAverage();
        return load < 0 ? "unknown" : String.format(java.util.Locale.ROOT, "%.2f", load);
    }

    private double secondsSinceStart() {
        return (System.nanoTime() - startNanos) / 1e9;
    }

    private void log(String message) {
        progress.printf(java.util.Locale.ROOT, "[index-bench %6.1fs] %s%n", secondsSinceStart(), message);
        progress.flush();
    }
}
