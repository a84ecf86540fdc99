package io.rolexkv.memorynode;

import io.rolexkv.common.background.BackgroundLoop;
import io.rolexkv.common.fabric.FabricConnection;
import io.rolexkv.common.fabric.FabricLimits;
import io.rolexkv.common.fabric.RegisteredMemory;
import io.rolexkv.common.fabric.loopback.LoopbackTransport;
import io.rolexkv.rolex.index.IndexLayout;
import io.rolexkv.rolex.index.LayoutRetrainer;
import io.rolexkv.rolex.index.LeanRetrainer;
import io.rolexkv.rolex.index.Retrainer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.util.concurrent.TimeUnit;

/**
 * The memory node's background retraining: one daemon thread ({@link BackgroundLoop}) that watches the synonym tables
 * of the index in this node's memory and retrains models as they fill ({@link LayoutRetrainer}: the retrainer of the index's layout), never on the verb-serving
 * path. It reaches the memory through an in-process connection, so it uses the same atomics as compute nodes' verbs. A
 * failed pass is logged with its reason, and the next pass, after the retrainer's back-off, first completes or undoes
 * it; the index stays correct whatever a pass did (see {@link Retrainer}).
 */
final class RetrainService implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(RetrainService.class);
    private static final String SELF = "retrainer";
    /** Pause after a failed pass, at least: a failure that repeats must not flood the log. */
    static final long FAILURE_BACKOFF_MILLIS = 50;

    private final LoopbackTransport local;
    private final FabricConnection connection;
    private final LayoutRetrainer retrainer;
    private final BackgroundLoop loop;
    private long lastSummary = System.nanoTime();
    private long lastRetrains;

    RetrainService(RegisteredMemory memory, FabricLimits limits, RetrainSettings settings) {
        this.local = new LoopbackTransport(limits);
        local.serve(memory, SELF);
        this.connection = local.connect(SELF, null);
        this.retrainer = new LayoutRetrainer(connection, limits, settings.policy(), LeanRetrainer.Policy.DEFAULT);
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
        boolean retrained = retrainer.passThenBackOff();
        Retrainer.Stats stats = retrainer.stats();
        if (stats.retrains() != lastRetrains && System.nanoTime() - lastSummary > TimeUnit.SECONDS.toNanos(5)) {
            LOG.info("retrained models={} mean_ms={} keys={} failures={} cpu_seconds={}", stats.retrains(),
                    String.format("%.2f", stats.meanMillisPerRetrain()), stats.keysRetrained(), stats.failures(),
                    String.format("%.3f", loop == null ? 0.0 : loop.cpuSeconds()));
            lastSummary = System.nanoTime();
            lastRetrains = stats.retrains();
        }
        return retrained;
    }

    Retrainer.Stats stats() {
        return retrainer.stats();
    }

    /** CPU time the retraining thread has used, in seconds. */
    double cpuSeconds() {
        return loop.cpuSeconds();
    }

    @Override
    public void close() {
        loop.close();
        connection.close();
        local.close();
    }
}
