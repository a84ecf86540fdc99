package io.rolexkv.bench.ycsb;

import io.rolexkv.common.fabric.FabricCounters;
import org.HdrHistogram.Histogram;

/**
 * One client thread's measurements in one phase: per operation type, a latency histogram in nanoseconds, outcome
 * counts and summed fabric costs. Confined to its thread while the phase runs, so recording takes no lock and shares
 * no cache line; {@link OperationStatistics} merges every thread's recorder once the phase is over.
 *
 * <p>A compound operation (YCSB's read-modify-write) is bracketed by {@link #beginCompound()} and
 * {@link #endCompound}: every operation recorded in between is recorded as itself and also summed into the compound,
 * whose latency and cost are the sums of its parts' and whose outcome is the worst of theirs.
 */
public final class ThreadOperationRecorder {
    private static final int SIGNIFICANT_DIGITS = 3;
    private static final int TYPES = OperationType.values().length;
    private static final int OUTCOMES = OperationOutcome.values().length;

    private final Histogram[] latencies = new Histogram[TYPES];
    private final long[][] outcomes = new long[TYPES][OUTCOMES];
    private final long[] doorbells = new long[TYPES];
    private final long[] verbs = new long[TYPES];
    private final long[] bytesRead = new long[TYPES];
    private final long[] bytesWritten = new long[TYPES];

    private boolean compoundOpen;
    private int compoundParts;
    private long compoundNanos;
    private long compoundDoorbells;
    private long compoundVerbs;
    private long compoundBytesRead;
    private long compoundBytesWritten;
    private OperationOutcome compoundOutcome;

    ThreadOperationRecorder() {
    }

    /** Records one operation of {@code type} that took {@code nanos} and posted {@code cost}. */
    public void record(OperationType type, OperationOutcome outcome, long nanos, FabricCounters.Snapshot cost) {
        add(type, outcome, nanos, cost.doorbells(), cost.verbs(), cost.bytesRead(), cost.bytesWritten());
        if (compoundOpen) {
            compoundParts++;
            compoundNanos += Math.max(0, nanos);
            compoundDoorbells += cost.doorbells();
            compoundVerbs += cost.verbs();
            compoundBytesRead += cost.bytesRead();
            compoundBytesWritten += cost.bytesWritten();
            compoundOutcome = compoundOutcome.worse(outcome);
        }
    }

    /** Starts a compound operation; the operations recorded until {@link #endCompound} are its parts. */
    public void beginCompound() {
        if (compoundOpen) {
            throw new IllegalStateException("a compound operation is already open on this thread");
        }
        compoundOpen = true;
        compoundParts = 0;
        compoundNanos = 0;
        compoundDoorbells = 0;
        compoundVerbs = 0;
        compoundBytesRead = 0;
        compoundBytesWritten = 0;
        compoundOutcome = OperationOutcome.OK;
    }

    /**
     * Ends the open compound operation and records it as one operation of {@code type}. A compound with no parts
     * (the workload gave up before calling the store) is not recorded.
     */
    public void endCompound(OperationType type) {
        if (!compoundOpen) {
            throw new IllegalStateException("no compound operation is open on this thread");
        }
        compoundOpen = false;
        if (compoundParts > 0) {
            add(type, compoundOutcome, compoundNanos, compoundDoorbells, compoundVerbs, compoundBytesRead,
                    compoundBytesWritten);
        }
    }

    private void add(OperationType type, OperationOutcome outcome, long nanos, long doorbells, long verbs,
                     long bytesRead, long bytesWritten) {
        int index = type.ordinal();
        Histogram histogram = latencies[index];
        if (histogram == null) {
            histogram = new Histogram(SIGNIFICANT_DIGITS);
            latencies[index] = histogram;
        }
        histogram.recordValue(Math.max(0, nanos));
        outcomes[index][outcome.ordinal()]++;
        this.doorbells[index] += doorbells;
        this.verbs[index] += verbs;
        this.bytesRead[index] += bytesRead;
        this.bytesWritten[index] += bytesWritten;
    }

    Histogram latencies(OperationType type) {
        return latencies[type.ordinal()];
    }

    long outcomes(OperationType type, OperationOutcome outcome) {
        return outcomes[type.ordinal()][outcome.ordinal()];
    }

    long doorbells(OperationType type) {
        return doorbells[type.ordinal()];
    }

    long verbs(OperationType type) {
        return verbs[type.ordinal()];
    }

    long bytesRead(OperationType type) {
        return bytesRead[type.ordinal()];
    }

    long bytesWritten(OperationType type) {
        return bytesWritten[type.ordinal()];
    }
}
