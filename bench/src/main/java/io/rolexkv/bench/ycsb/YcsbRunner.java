package io.rolexkv.bench.ycsb;

import io.rolexkv.bench.system.SystemUnderTest;
import io.rolexkv.common.fabric.FabricCounters;
import io.rolexkv.rolex.index.IndexCounters;
import org.apache.htrace.core.HTraceConfiguration;
import org.apache.htrace.core.Tracer;
import site.ycsb.Client;
import site.ycsb.DB;
import site.ycsb.DBFactory;
import site.ycsb.UnknownDBException;
import site.ycsb.Workload;
import site.ycsb.WorkloadException;
import site.ycsb.workloads.CoreWorkload;

import java.io.PrintStream;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.OptionalDouble;
import java.util.OptionalLong;
import java.util.Properties;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;

/**
 * Runs YCSB against a {@link SystemUnderTest}: the load phase, then the run phase, each with a progress line, YCSB's
 * own summary and this project's figures, and builds the {@link YcsbReport}.
 *
 * <h2>How YCSB is driven</h2>
 * YCSB 0.17.0's {@code site.ycsb.Client.main} ends with {@code System.exit} (on success too), its client threads exit
 * the JVM on any exception, and the JDK no longer offers a security manager to stop either; calling it in-process would
 * end the harness before its report. So the harness assembles a phase from YCSB's public pieces, as {@code Client} does
 * internally: the workload class from the properties ({@code CoreWorkload}, run as
 * {@link ReadModifyWriteAwareCoreWorkload}, which generates the same operations), {@code Workload.init}, one binding
 * per client thread from YCSB's {@code DBFactory} (so each is wrapped in YCSB's {@code DBWrapper}, which keeps YCSB's
 * own latency measurements), YCSB's {@code Measurements} and its text exporter for the summary. Only the client thread
 * loop is this project's ({@link YcsbClientWorker}), to fail a phase instead of exiting the JVM.
 *
 * <h2>What is measured</h2>
 * The report's per-type figures come from the binding ({@link RolexKvYcsbClient}): nanosecond latencies of each call
 * on the client thread, and the fabric cost the calling thread posted during it ({@link SystemUnderTest#costProbe()}),
 * exact with any number of threads. YCSB's summary (microsecond histograms taken a layer further out, in
 * {@code DBWrapper}) is printed alongside; its status counts give {@code failed_operations}, data integrity checks
 * included.
 *
 * <p>One run at a time per process: YCSB's measurements and the binding's engine registry are process-wide.
 */
public final class YcsbRunner {
    private static final String CORE_WORKLOAD = CoreWorkload.class.getName();
    private static final String DO_TRANSACTIONS_PROPERTY = "dotransactions";
    private static final String TARGET_PROPERTY = "target";

    private final YcsbRunConfig config;
    private final PrintStream out;

    public YcsbRunner(YcsbRunConfig config, PrintStream out) {
        this.config = config;
        this.out = out;
    }

    /** The outcome of a whole run: each phase that ran, and the report. */
    public record Result(Optional<YcsbPhaseResult> load, Optional<YcsbPhaseResult> run, YcsbReport report) {
    }

    /**
     * Runs the load phase and then (unless the workload is load-only) the run phase against {@code system}, which
     * stays open (its owner closes it).
     *
     * @throws IllegalStateException if a phase failed (a client thread threw, the workload could not start); the
     *                               cause is attached
     */
    public Result run(SystemUnderTest system) {
        out.printf(Locale.ROOT, "YCSB workload=%s system=%s fabric=%s records=%d operations=%d threads=%d"
                        + " value_size=%d bulk_load=%s%n", config.workload(), system.name(), system.fabric(),
                config.records(), config.operations(), config.threads(), config.valueSize(), config.bulkLoad());
        YcsbPhaseResult load = runPhase(YcsbPhaseResult.Phase.LOAD, system);
        Optional<YcsbPhaseResult> run = config.loadOnly() ? Optional.empty()
                : Optional.of(runPhase(YcsbPhaseResult.Phase.RUN, system));
        YcsbReport report = report(system, run.orElse(load));
        return new Result(Optional.of(load), run, report);
    }

    private YcsbPhaseResult runPhase(YcsbPhaseResult.Phase phase, SystemUnderTest system) {
        boolean transactions = phase == YcsbPhaseResult.Phase.RUN;
        Properties properties = config.properties();
        properties.setProperty(DO_TRANSACTIONS_PROPERTY, String.valueOf(transactions));
        YcsbMeasurements.startPhase(properties);

        Workload workload = newWorkload(properties);
        BulkLoadBuffer buffer = !transactions && config.bulkLoad() ? new BulkLoadBuffer() : null;
        YcsbBindingContext context = buffer == null ? YcsbBindingContext.of(system.engine(), system.costProbe())
                : YcsbBindingContext.bulkLoading(system.engine(), system.costProbe(), buffer);
        Optional<FabricCounters.Snapshot> fabricBefore = system.fabricCounters();
        List<SystemUnderTest.MemoryNodeShare> nodesBefore = system.memoryNodes(false);
        Optional<IndexCounters.Snapshot> indexBefore = system.indexCounters();
        long clientCpuBefore = ProcessCpu.nanos();
        OptionalDouble memoryNodeCpuBefore = system.memoryNodeCpuSeconds();

        int operationCount = transactions ? config.operations() : config.loadOperations();
        int threadCount = operationCount > 0 ? Math.min(config.threads(), operationCount) : config.threads();
        double targetPerThread = Double.parseDouble(properties.getProperty(TARGET_PROPERTY, "0").trim()) / threadCount;

        long elapsedNanos;
        long operations;
        Optional<Long> bulkLoadNanos = Optional.empty();
        long bulkLoaded = 0;
        YcsbEngineRegistry.Installation installation = YcsbEngineRegistry.install(context);
        try (Tracer tracer = new Tracer.Builder("YCSB " + workload.getClass().getSimpleName())
                .conf(HTraceConfiguration.EMPTY).build()) {
            CountDownLatch finished = new CountDownLatch(threadCount);
            List<YcsbClientWorker> workers = new ArrayList<>(threadCount);
            for (int threadId = 0; threadId < threadCount; threadId++) {
                int share = operationCount / threadCount + (threadId < operationCount % threadCount ? 1 : 0);
                workers.add(new YcsbClientWorker(newBinding(properties, tracer), transactions, workload, properties,
                        share, targetPerThread, threadId, threadCount, finished));
            }
            List<Thread> threads = new ArrayList<>(threadCount);
            long startNanos = System.nanoTime();
            for (int threadId = 0; threadId < threadCount; threadId++) {
                Thread thread = new Thread(workers.get(threadId), "ycsb-" + phase.name().toLowerCase(Locale.ROOT)
                        + "-" + threadId);
                threads.add(thread);
                thread.start();
            }
            awaitWithProgress(phase, workload, workers, finished, startNanos, operationCount);
            for (Thread thread : threads) {
                thread.join();
            }
            elapsedNanos = System.nanoTime() - startNanos;
            operations = workers.stream().mapToLong(YcsbClientWorker::operationsDone).sum();
            workload.cleanup();
            failIfAnyWorkerFailed(phase, workers);
            if (buffer != null) {
                bulkLoaded = buffer.size();
                long bulkStart = System.nanoTime();
                buffer.loadInto(system.engine());
                bulkLoadNanos = Optional.of(System.nanoTime() - bulkStart);
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            workload.requestStop();
            throw new IllegalStateException("interrupted during the " + phase + " phase", e);
        } catch (WorkloadException e) {
            throw new IllegalStateException("YCSB workload failed to clean up after the " + phase + " phase", e);
        } finally {
            installation.close();
        }

        YcsbPhaseResult.PhaseCpu cpu = new YcsbPhaseResult.PhaseCpu((ProcessCpu.nanos() - clientCpuBefore) / 1e9,
                memoryNodeCpuBefore.isPresent() && system.memoryNodeCpuSeconds().isPresent()
                        ? Optional.of(system.memoryNodeCpuSeconds().getAsDouble() - memoryNodeCpuBefore.getAsDouble())
                        : Optional.empty());
        Optional<IndexCounters.Snapshot> indexCost = indexBefore.flatMap(before -> system.indexCounters()
                .map(after -> after.minus(before)));
        out.println("[" + phase + "] YCSB summary:");
        Map<String, Map<String, Long>> statusCounts = YcsbMeasurements.exportPhase(out, operations,
                TimeUnit.NANOSECONDS.toMillis(elapsedNanos));
        Optional<FabricCounters.Snapshot> fabricCost = fabricBefore.flatMap(before -> system.fabricCounters()
                .map(after -> after.minus(before)));
        YcsbPhaseResult result = new YcsbPhaseResult(phase, operations, elapsedNanos, context.statistics().figures(),
                statusCounts, context.errors().count(), bulkLoadNanos, bulkLoaded, fabricCost,
                memoryNodeReports(nodesBefore, system.memoryNodes(true)), cpu);
        printFigures(result, system);
        indexCost.ifPresent(index -> out.printf(Locale.ROOT, "[%s] index: lock_conflicts=%d compaction_waits=%d"
                        + " refreshes=%d full_reloads=%d chain_doorbells=%d torn_reads=%d leaves_started=%d splits=%d"
                        + " room_waits=%d inserts_rejected=%d%n", phase, index.lockConflicts(), index.compactionWaits(),
                index.refreshes(), index.fullReloads(), index.chainDoorbells(), index.tornReads(), index.leavesStarted(),
                index.splits(), index.roomWaits(), index.insertsRejected()));
        return result;
    }

    private void awaitWithProgress(YcsbPhaseResult.Phase phase, Workload workload, List<YcsbClientWorker> workers,
                                   CountDownLatch finished, long startNanos, int operationCount)
            throws InterruptedException {
        long intervalNanos = config.progressInterval().toNanos();
        long maxExecutionSeconds = Long.parseLong(config.properties()
                .getProperty(YcsbRunConfig.MAX_EXECUTION_TIME_PROP_NAME, "0").trim());
        long deadline = maxExecutionSeconds > 0 ? startNanos + TimeUnit.SECONDS.toNanos(maxExecutionSeconds)
                : Long.MAX_VALUE;
        long lastNanos = startNanos;
        long lastOperations = 0;
        while (true) {
            long now = System.nanoTime();
            long wait = Math.min(intervalNanos, Math.max(0, deadline - now));
            if (finished.await(wait, TimeUnit.NANOSECONDS)) {
                return;
            }
            now = System.nanoTime();
            if (now - deadline >= 0 && !workload.isStopRequested()) {
                out.println("[" + phase + "] " + YcsbRunConfig.MAX_EXECUTION_TIME_PROP_NAME + "=" + maxExecutionSeconds
                        + " s reached: stopping the client threads");
                workload.requestStop();
                deadline = Long.MAX_VALUE;
            }
            long done = workers.stream().mapToLong(YcsbClientWorker::operationsDone).sum();
            double current = (done - lastOperations) * 1e9 / Math.max(1, now - lastNanos);
            StringBuilder line = new StringBuilder(String.format(Locale.ROOT,
                    "[%s] %d s: %d operations done; %.1f current ops/s", phase,
                    TimeUnit.NANOSECONDS.toSeconds(now - startNanos), done, current));
            if (operationCount > 0 && current > 0) {
                line.append(String.format(Locale.ROOT, "; about %d s left",
                        (long) Math.ceil((operationCount - done) / current)));
            }
            out.println(line);
            lastNanos = now;
            lastOperations = done;
        }
    }

    private static void failIfAnyWorkerFailed(YcsbPhaseResult.Phase phase, List<YcsbClientWorker> workers) {
        IllegalStateException failed = null;
        for (int threadId = 0; threadId < workers.size(); threadId++) {
            Optional<Throwable> failure = workers.get(threadId).failure();
            if (failure.isPresent()) {
                if (failed == null) {
                    failed = new IllegalStateException("YCSB client thread " + threadId + " failed in the " + phase
                            + " phase: " + failure.get(), failure.get());
                } else {
                    failed.addSuppressed(failure.get());
                }
            }
        }
        if (failed != null) {
            throw failed;
        }
    }

    private YcsbReport report(SystemUnderTest system, YcsbPhaseResult phase) {
        Map<String, YcsbReport.OperationReport> byType = new LinkedHashMap<>();
        for (OperationType type : OperationType.values()) {
            OperationFigures figures = phase.figures().get(type);
            if (figures != null) {
                byType.put(type.ycsbName(), YcsbReport.OperationReport.of(figures));
            }
        }
        return new YcsbReport(system.name(), system.fabric(), config.workload(), config.records(),
                phase.operations(), config.threads(), config.valueSize(), phase.throughput(), phase.failedOperations(),
                boxed(system.modelCacheBytes()), boxed(system.retrains()),
                phase.cpu().clientSeconds(), phase.cpu().memoryNodeSeconds().orElse(null), byType, phase.memoryNodes());
    }

    /**
     * Per memory node: records at the end, traffic between the two snapshots (matched by endpoint, since a phase may
     * move ranges between nodes but never the nodes themselves).
     */
    private static List<YcsbReport.MemoryNodeReport> memoryNodeReports(List<SystemUnderTest.MemoryNodeShare> before,
                                                                      List<SystemUnderTest.MemoryNodeShare> after) {
        List<YcsbReport.MemoryNodeReport> reports = new ArrayList<>(after.size());
        for (SystemUnderTest.MemoryNodeShare node : after) {
            FabricCounters.Snapshot traffic = node.fabric();
            for (SystemUnderTest.MemoryNodeShare earlier : before) {
                if (earlier.endpoint().equals(node.endpoint())) {
                    traffic = traffic.minus(earlier.fabric());
                }
            }
            reports.add(new YcsbReport.MemoryNodeReport(node.endpoint(), node.records(), traffic.doorbells(),
                    traffic.bytesRead(), traffic.bytesWritten()));
        }
        return reports;
    }

    private void printFigures(YcsbPhaseResult result, SystemUnderTest system) {
        YcsbPhaseResult.Phase phase = result.phase();
        out.printf(Locale.ROOT, "[%s] rolex-kv figures: %d operations in %.3f s, %.1f ops/s, failed=%d"
                        + " (binding errors=%d); latency and cost measured per call in the binding%n", phase,
                result.operations(), result.elapsedNanos() / 1e9, result.throughput(), result.failedOperations(),
                result.bindingErrors());
        out.printf(Locale.ROOT, "[%s] %-18s %10s %9s %7s %10s %10s %12s %9s %13s %13s%n", phase, "operation", "count",
                "not_found", "errors", "p50_us", "p99_us", "round_trips", "verbs", "bytes_read", "bytes_written");
        for (OperationFigures figures : result.figures().values()) {
            out.printf(Locale.ROOT, "[%s] %-18s %10d %9d %7d %10.2f %10.2f %12.2f %9.2f %13.1f %13.1f%n", phase,
                    figures.operation(), figures.count(), figures.notFound(), figures.errors(), figures.p50Micros(),
                    figures.p99Micros(), figures.roundTripsPerOp(), figures.verbsPerOp(), figures.bytesReadPerOp(),
                    figures.bytesWrittenPerOp());
        }
        result.bulkLoadNanos().ifPresent(nanos -> out.printf(Locale.ROOT,
                "[%s] bulk load: %d records in %.3f s%n", phase, result.bulkLoadedRecords(), nanos / 1e9));
        result.fabricCost().ifPresent(cost -> out.printf(Locale.ROOT,
                "[%s] fabric totals over the phase: round_trips=%d verbs=%d bytes_read=%d bytes_written=%d%n",
                phase, cost.doorbells(), cost.verbs(), cost.bytesRead(), cost.bytesWritten()));
        long allRecords = result.memoryNodes().stream().mapToLong(YcsbReport.MemoryNodeReport::records).sum();
        for (YcsbReport.MemoryNodeReport node : result.memoryNodes()) {
            out.printf(Locale.ROOT, "[%s] memory_node endpoint=%s records=%d (%.1f%%) round_trips=%d bytes_read=%d"
                            + " bytes_written=%d%n", phase, node.endpoint(), node.records(),
                    allRecords == 0 ? 0.0 : 100.0 * node.records() / allRecords, node.roundTrips(), node.bytesRead(),
                    node.bytesWritten());
        }
        YcsbPhaseResult.PhaseCpu cpu = result.cpu();
        long operations = Math.max(1, result.operations());
        out.printf(Locale.ROOT, "[%s] cpu: client_cpu_seconds=%.2f (%.1f us/op)%s%n", phase, cpu.clientSeconds(),
                cpu.clientSeconds() * 1e6 / operations, cpu.memoryNodeSeconds()
                        .map(seconds -> String.format(Locale.ROOT, " memory_node_cpu_seconds=%.2f (%.1f us/op)", seconds,
                                seconds * 1e6 / operations))
                        .orElse(""));
        system.modelCacheBytes().ifPresent(bytes -> out.printf(Locale.ROOT, "[%s] model_cache_bytes=%d%n", phase, bytes));
        system.retrains().ifPresent(retrains -> out.printf(Locale.ROOT, "[%s] retrains=%d%n", phase, retrains));
    }

    private static Long boxed(OptionalLong value) {
        return value.isPresent() ? value.getAsLong() : null;
    }

    private static DB newBinding(Properties properties, Tracer tracer) {
        try {
            DB db = DBFactory.newDB(RolexKvYcsbClient.class.getName(), properties, tracer);
            if (db == null) {
                throw new IllegalStateException("YCSB could not create the binding " + RolexKvYcsbClient.class.getName());
            }
            return db;
        } catch (UnknownDBException e) {
            throw new IllegalStateException("YCSB does not know the binding " + RolexKvYcsbClient.class.getName(), e);
        }
    }

    private static Workload newWorkload(Properties properties) {
        Class<? extends Workload> type = workloadClass(properties);
        try {
            Workload workload = type.getDeclaredConstructor().newInstance();
            workload.init(properties);
            return workload;
        } catch (WorkloadException e) {
            throw new IllegalStateException("YCSB workload " + type.getName() + " refused its properties: "
                    + e.getMessage(), e);
        } catch (ReflectiveOperationException e) {
            throw new IllegalStateException("cannot create YCSB workload " + type.getName(), e);
        }
    }

    /**
     * The workload class to run for {@code properties}: {@link ReadModifyWriteAwareCoreWorkload} where the properties
     * name YCSB's {@code CoreWorkload}, else the class named.
     *
     * @throws IllegalArgumentException if the class is missing or not a YCSB workload
     */
    static Class<? extends Workload> workloadClass(Properties properties) {
        String name = YcsbRunConfig.configuredWorkloadClass(properties);
        if (name.equals(CORE_WORKLOAD)) {
            return ReadModifyWriteAwareCoreWorkload.class;
        }
        try {
            return Class.forName(name).asSubclass(Workload.class);
        } catch (ClassNotFoundException | ClassCastException e) {
            throw new IllegalArgumentException(Client.WORKLOAD_PROPERTY + "=" + name + " is not a YCSB workload class"
                    + " on the class path", e);
        }
    }
}
