package io.rolexkv.bench.ycsb;

import site.ycsb.DB;
import site.ycsb.Workload;
import site.ycsb.measurements.Measurements;

import java.util.Optional;
import java.util.Properties;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.locks.LockSupport;

/**
 * One YCSB client thread: what YCSB 0.17.0's {@code site.ycsb.ClientThread} does, with one difference that matters
 * in-process. {@code ClientThread} ends the whole JVM with {@code System.exit(0)} when anything escapes the workload;
 * in a harness that shares its process with the engine, its tests and its report, that would end a broken run with a
 * success code and no report. This worker records the failure instead, and the harness stops the phase and rethrows
 * it.
 *
 * <p>Otherwise the same contract: {@code db.init()} and {@code workload.initThread(...)} on this thread; then
 * {@code doInsert} (load) or {@code doTransaction} (run) until the thread's share of the operations is done, the
 * workload asks to stop, or the workload returns false; {@code db.cleanup()} at the end. With a target throughput the
 * thread paces itself the way {@code ClientThread} does: operation {@code n} starts no earlier than
 * {@code start + n * tick}, and YCSB's intended start time is set for its "intended" latency measurements.
 */
final class YcsbClientWorker implements Runnable {
    private final DB db;
    private final boolean transactions;
    private final Workload workload;
    private final Properties properties;
    private final int operationCount;
    private final long tickNanos;
    private final int threadId;
    private final int threadCount;
    private final CountDownLatch finished;
    private final AtomicLong operationsDone = new AtomicLong();
    private volatile Throwable failure;

    /**
     * @param operationCount  this thread's share of the operations; 0 for no limit (until the workload stops)
     * @param targetOpsPerSec this thread's target throughput; 0 or less for as fast as it goes
     */
    YcsbClientWorker(DB db, boolean transactions, Workload workload, Properties properties, int operationCount,
                     double targetOpsPerSec, int threadId, int threadCount, CountDownLatch finished) {
        this.db = db;
        this.transactions = transactions;
        this.workload = workload;
        this.properties = properties;
        this.operationCount = operationCount;
        this.tickNanos = targetOpsPerSec > 0 ? (long) (TimeUnit.SECONDS.toNanos(1) / targetOpsPerSec) : 0;
        this.threadId = threadId;
        this.threadCount = threadCount;
        this.finished = finished;
    }

    @Override
    public void run() {
        try {
            db.init();
            try {
                Object threadState = workload.initThread(properties, threadId, threadCount);
                Measurements measurements = Measurements.getMeasurements();
                long startNanos = System.nanoTime();
                long done = 0;
                while ((operationCount == 0 || done < operationCount) && !workload.isStopRequested()) {
                    if (tickNanos > 0) {
                        long intendedStart = startNanos + done * tickNanos;
                        measurements.setIntendedStartTimeNs(intendedStart);
                        sleepUntil(intendedStart);
                    }
                    boolean more = transactions ? workload.doTransaction(db, threadState)
                            : workload.doInsert(db, threadState);
                    if (!more) {
                        break;
                    }
                    operationsDone.lazySet(++done);
                }
                measurements.setIntendedStartTimeNs(0);
            } finally {
                db.cleanup();
            }
        } catch (Throwable e) {
            failure = e;
            workload.requestStop();
            if (e instanceof Error error) {
                throw error;
            }
        } finally {
            finished.countDown();
        }
    }

    /** Operations this thread has completed so far (readable from any thread). */
    long operationsDone() {
        return operationsDone.get();
    }

    /** What ended this thread abnormally, if anything. Read after {@code finished} counted down. */
    Optional<Throwable> failure() {
        return Optional.ofNullable(failure);
    }

    private static void sleepUntil(long deadlineNanos) {
        long remaining;
        while ((remaining = deadlineNanos - System.nanoTime()) > 0) {
            LockSupport.parkNanos(remaining);
            if (Thread.currentThread().isInterrupted()) {
                return;
            }
        }
    }
}
