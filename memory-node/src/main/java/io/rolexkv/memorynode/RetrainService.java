package io.rolexkv.memorynode;

import io.rolexkv.common.fabric.FabricConnection;
import io.rolexkv.common.fabric.FabricLimits;
import io.rolexkv.common.fabric.RegisteredMemory;
import io.rolexkv.common.fabric.loopback.LoopbackTransport;
import io.rolexkv.rolex.index.IndexLayout;
import io.rolexkv.rolex.index.Retrainer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.lang.management.ManagementFactory;
import java.lang.management.ThreadMXBean;
import java.util.concurrent.TimeUnit;

/**
 * The memory node's background retraining: one daemon thread that watches the synonym tables of the index in this
 * node's memory and retrains models as they fill ({@link Retrainer}), never on the verb-serving path. It reaches the
 * memory through an in-process connection, so it uses the same atomics as compute nodes' verbs. A failed pass is
 * logged with its reason, and the next pass, after the retrainer's back-off, first completes or undoes it; the index
 * stays correct whatever a pass did (see {@link Retrainer}).
 */
final class RetrainService implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(RetrainService.class);
    private static final String SELF = "retrainer";

    private final LoopbackTransport local;
    private final FabricConnection connection;
    private final Retrainer retrainer;
    private final RetrainSettings settings;
    private final Thread thread;
    private volatile boolean running = true;
    private volatile long cpuNanos;

    RetrainService(RegisteredMemory memory, FabricLimits limits, RetrainSettings settings) {
        this.settings = settings;
        this.local = new LoopbackTransport(limits);
        local.serve(memory, SELF);
        this.connection = local.connect(SELF, null);
        this.retrainer = new Retrainer(connection, limits, settings.policy());
        this.thread = Thread.ofPlatform().name("rolexkv-retrainer-node" + memory.memoryNodeId()).daemon().start(this::run);
    }

    /** Whether {@code memory} has the regions an index lives in; a node without them has nothing to retrain. */
    static boolean hasIndexRegions(RegisteredMemory memory) {
        java.util.Set<String> names = new java.util.HashSet<>();
        memory.regions().forEach(region -> names.add(region.name()));
        return names.containsAll(java.util.List.of(IndexLayout.META_REGION, IndexLayout.LEAVES_REGION,
                IndexLayout.TABLES_REGION, IndexLayout.MODELS_REGION));
    }

    private void run() {
        ThreadMXBean threads = ManagementFactory.getThreadMXBean();
        long lastSummary = System.nanoTime();
        long lastRetrains = 0;
        while (running) {
            Retrainer.PassResult pass = retrainer.runPass();
            try {
                if (pass.failed()) {
                    if (!running) {
                        return;
                    }
                    LOG.warn("retrain pass failed reason={} retry_in_ms={}", pass.failure().orElseThrow(),
                            TimeUnit.NANOSECONDS.toMillis(pass.retryAfterNanos()));
                    TimeUnit.NANOSECONDS.sleep(pass.retryAfterNanos());
                } else if (pass.retrained() == 0) {
                    Thread.sleep(settings.pollIntervalMillis());
                }
            } catch (InterruptedException e) {
                return;
            }
            cpuNanos = threads.isCurrentThreadCpuTimeSupported() ? threads.getCurrentThreadCpuTime() : 0;
            Retrainer.Stats stats = retrainer.stats();
            if (stats.retrains() != lastRetrains && System.nanoTime() - lastSummary > TimeUnit.SECONDS.toNanos(5)) {
                LOG.info("retrained models={} mean_ms={} keys={} failures={} cpu_seconds={}", stats.retrains(),
                        String.format("%.2f", stats.meanMillisPerRetrain()), stats.keysRetrained(), stats.failures(),
                        String.format("%.3f", cpuNanos / 1e9));
                lastSummary = System.nanoTime();
                lastRetrains = stats.retrains();
            }
        }
    }

    Retrainer.Stats stats() {
        return retrainer.stats();
    }

    /** CPU time the retraining thread has used, in seconds. */
    double cpuSeconds() {
        return cpuNanos / 1e9;
    }

    @Override
    public void close() {
        running = false;
        thread.interrupt();
        try {
            thread.join(TimeUnit.SECONDS.toMillis(10));
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        connection.close();
        local.close();
    }
}
