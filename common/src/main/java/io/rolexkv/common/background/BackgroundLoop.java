package io.rolexkv.common.background;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.lang.management.ManagementFactory;
import java.lang.management.ThreadMXBean;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.LongAdder;

/**
 * A daemon thread that runs one pass of background work after another: at once again when a pass found work, after
 * {@code idleMillis} when it found none. A pass that throws is logged (with its stack trace) and counted, and the loop
 * goes on after {@code failureBackoffMillis}: background work must never die silently, nor spin on a failure.
 *
 * <p>Used for the memory node's retraining, which runs both in the memory-node daemon and in a compute node's embedded
 * cluster; it knows nothing of what a pass does. {@link #close()} stops it: the running pass is interrupted, and a
 * failure it throws because of that is not logged.
 */
public final class BackgroundLoop implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(BackgroundLoop.class);
    private static final long JOIN_TIMEOUT_SECONDS = 10;

    /** One pass of the work. */
    @FunctionalInterface
    public interface Pass {
        /** Does one pass; returns whether it found work (then the next pass starts at once). */
        boolean run() throws InterruptedException;
    }

    private final String name;
    private final Pass pass;
    private final long idleMillis;
    private final long failureBackoffMillis;
    private final LongAdder failures = new LongAdder();
    private final Thread thread;
    private volatile boolean running = true;
    private volatile long cpuNanos;

    private BackgroundLoop(String name, Pass pass, long idleMillis, long failureBackoffMillis) {
        this.name = name;
        this.pass = pass;
        this.idleMillis = idleMillis;
        this.failureBackoffMillis = failureBackoffMillis;
        this.thread = Thread.ofPlatform().name(name).daemon().unstarted(this::run);
    }

    /**
     * Starts the loop on a daemon thread called {@code name}.
     *
     * @param idleMillis           pause after a pass that found no work, at least 1
     * @param failureBackoffMillis pause after a pass that threw, at least 1
     */
    public static BackgroundLoop start(String name, Pass pass, long idleMillis, long failureBackoffMillis) {
        if (idleMillis < 1 || failureBackoffMillis < 1) {
            throw new IllegalArgumentException("background loop " + name + " idleMillis=" + idleMillis
                    + " failureBackoffMillis=" + failureBackoffMillis + " must both be >= 1");
        }
        BackgroundLoop loop = new BackgroundLoop(name, pass, idleMillis, failureBackoffMillis);
        loop.thread.start();
        return loop;
    }

    private void run() {
        ThreadMXBean threads = ManagementFactory.getThreadMXBean();
        boolean measureCpu = threads.isCurrentThreadCpuTimeSupported();
        while (running) {
            long pause;
            try {
                pause = pass.run() ? 0 : idleMillis;
            } catch (InterruptedException e) {
                return;
            } catch (RuntimeException e) {
                if (!running) {
                    return; // stopped under a pass: what it met is the shutdown, not a fault
                }
                failures.increment();
                LOG.warn("background pass failed loop={} failures={} reason={}", name, failures.sum(), e.toString(), e);
                pause = failureBackoffMillis;
            }
            if (measureCpu) {
                cpuNanos = threads.getCurrentThreadCpuTime();
            }
            if (pause > 0 && !sleep(pause)) {
                return;
            }
        }
    }

    private boolean sleep(long millis) {
        try {
            Thread.sleep(millis);
            return true;
        } catch (InterruptedException e) {
            return false;
        }
    }

    /** Passes that threw so far. */
    public long failures() {
        return failures.sum();
    }

    /** CPU time the loop's thread has used, in seconds, as of its last pass (0 where the JVM cannot tell). */
    public double cpuSeconds() {
        return cpuNanos / 1e9;
    }

    /** Stops the loop and waits (a bounded time) for its thread to end. */
    @Override
    public void close() {
        running = false;
        thread.interrupt();
        try {
            thread.join(TimeUnit.SECONDS.toMillis(JOIN_TIMEOUT_SECONDS));
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
