package io.rolexkv.memorynode;

import io.rolexkv.common.background.BackgroundLoop;
import io.rolexkv.common.fabric.FabricConnection;
import io.rolexkv.common.fabric.FabricLimits;
import io.rolexkv.common.fabric.RegisteredMemory;
import io.rolexkv.common.fabric.loopback.LoopbackTransport;
import io.rolexkv.rolex.index.IndexLayout;
import io.rolexkv.rolex.index.LeanRetrainer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.LongAdder;

/**
 * The memory node's background retraining: one daemon thread ({@link BackgroundLoop}) that watches the synonym tables
 * of the index in this node's memory and compacts and retrains models as they fill ({@link LeanRetrainer}), never on
 * the verb-serving path. It reaches the memory through an in-process connection, so it uses
 * the same atomics as compute nodes' verbs. A failed pass is logged with its reason, and the next pass, after the
 * retrainer's back-off, first completes or undoes it; the index stays correct whatever a pass did.
 *
 * <p>A pass decides only from what is in memory, so after a pass that found nothing to do and failed nothing, the next
 * one would find nothing either unless a verb has written since: while {@link RegisteredMemory#writeBatches()} stays
 * the same, passes are skipped. A read-only load then costs the node no retraining CPU (a pass over a thousand models
 * every poll interval was a tenth of its CPU under YCSB C). Where a NIC writes the memory itself the count is
 * unknown and every pass runs.
 */
final class RetrainService implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(RetrainService.class);
    private static final String SELF = "retrainer";
    /** Pause after a failed pass, at least: a failure that repeats must not flood the log. */
    static final long FAILURE_BACKOFF_MILLIS = 50;

    private final LoopbackTransport local;
    private final FabricConnection connection;
    private final LeanRetrainer retrainer;
    private final BackgroundLoop loop;
    private final RegisteredMemory memory;
    /** {@link RegisteredMemory#writeBatches()} as of the start of the last idle, clean pass; none yet at first. */
    private long writesAtIdlePass = NO_IDLE_PASS;
    private final LongAdder passesRun = new LongAdder();
    private final LongAdder passesSkipped = new LongAdder();
    private long lastSummary = System.nanoTime();
    private long lastRetrains;

    private static final long NO_IDLE_PASS = Long.MIN_VALUE;

    RetrainService(RegisteredMemory memory, FabricLimits limits, RetrainSettings settings) {
        this.memory = memory;
        this.local = new LoopbackTransport(limits);
        local.serve(memory, SELF);
        this.connection = local.connect(SELF, null);
        this.retrainer = new LeanRetrainer(connection, limits, settings.policy());
        this.loop = BackgroundLoop.start("rolexkv-retrainer-node" + memory.memoryNodeId(), this::pass,
                settings.pollIntervalMillis(), Math.max(FAILURE_BACKOFF_MILLIS, settings.pollIntervalMillis()));
    }

    /** Whether {@code memory} has the regions an index lives in; a node without them has nothing to retrain. */
    static boolean hasIndexRegions(RegisteredMemory memory) {
        java.util.Set<String> names = new java.util.HashSet<>();
        memory.regions().forEach(region -> names.add(region.name()));
        return names.containsAll(java.util.List.of(IndexLayout.META_REGION, IndexLayout.LEAVES_REGION,
                IndexLayout.TABLES_REGION, IndexLayout.MODELS_REGION));
    }

    /** One retraining pass, then a summary line at most every 5 s while models get retrained. */
    private boolean pass() throws InterruptedException {
        // Read before the pass looks at memory: a write the pass misses is counted after this read, so it shows.
        long writes = memory.writeBatches();
        if (writes != RegisteredMemory.WRITES_UNTRACKED && writes == writesAtIdlePass) {
            passesSkipped.increment();
            return false;
        }
        long failuresBefore = retrainer.stats().failures();
        boolean retrained = retrainer.passThenBackOff();
        passesRun.increment();
        LeanRetrainer.Stats stats = retrainer.stats();
        boolean idleAndClean = !retrained && stats.failures() == failuresBefore && !retrainer.hasWorkWithoutNewWrites();
        writesAtIdlePass = idleAndClean ? writes : NO_IDLE_PASS;
        if (stats.retrains() != lastRetrains && System.nanoTime() - lastSummary > TimeUnit.SECONDS.toNanos(5)) {
            LOG.info("retrained models={} epochs={} due={} appends={} trickle={} idle={} neighbours={} mean_ms={} keys={}"
                            + " failures={} cpu_seconds={}", stats.retrains(), stats.epochs(), stats.due(), stats.appends(),
                    stats.trickle(), stats.idle(), stats.neighbours(), String.format("%.2f", stats.meanMillisPerRetrain()),
                    stats.keysRetrained(), stats.failures(), String.format("%.3f", loop == null ? 0.0 : loop.cpuSeconds()));
            lastSummary = System.nanoTime();
            lastRetrains = stats.retrains();
        }
        return retrained;
    }

    /** Passes run so far. */
    long passesRun() {
        return passesRun.sum();
    }

    /** Passes skipped so far because nothing was written since an idle pass. */
    long passesSkipped() {
        return passesSkipped.sum();
    }

    LeanRetrainer.Stats stats() {
        return retrainer.stats();
    }

    /** CPU time the retraining thread has used, in seconds. */
    double cpuSeconds() {
        return loop.cpuSeconds();
    }

    @Override
    public void close() {
        loop.close();
        LeanRetrainer.Stats stats = retrainer.stats();
        LOG.info("retrainer stopped models={} epochs={} due={} appends={} trickle={} idle={} neighbours={} keys={}"
                        + " failures={} cpu_seconds={}", stats.retrains(), stats.epochs(), stats.due(), stats.appends(),
                stats.trickle(), stats.idle(), stats.neighbours(), stats.keysRetrained(), stats.failures(),
                String.format("%.3f", loop.cpuSeconds()));
        connection.close();
        local.close();
    }
}
