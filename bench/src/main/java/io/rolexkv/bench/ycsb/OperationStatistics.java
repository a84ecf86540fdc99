package io.rolexkv.bench.ycsb;

import org.HdrHistogram.Histogram;

import java.util.ArrayList;
import java.util.Collections;
import java.util.EnumMap;
import java.util.List;
import java.util.Map;

/**
 * The measurements of one phase (load or run), kept per client thread and merged at the end. Each thread gets its own
 * {@link ThreadOperationRecorder} from {@link #recorderForCurrentThread()}; {@link #figures()} merges them and must be
 * called only after every recording thread has finished (joined), which is what makes their plain fields visible.
 */
public final class OperationStatistics {
    private final List<ThreadOperationRecorder> recorders = Collections.synchronizedList(new ArrayList<>());
    private final ThreadLocal<ThreadOperationRecorder> current = ThreadLocal.withInitial(() -> {
        ThreadOperationRecorder recorder = new ThreadOperationRecorder();
        recorders.add(recorder);
        return recorder;
    });

    /** The calling thread's recorder for this phase, created on first use. */
    public ThreadOperationRecorder recorderForCurrentThread() {
        return current.get();
    }

    /**
     * The figures of every operation type that ran at least once, in {@link OperationType} order. Call after the
     * recording threads have finished.
     */
    public Map<OperationType, OperationFigures> figures() {
        Map<OperationType, OperationFigures> figures = new EnumMap<>(OperationType.class);
        List<ThreadOperationRecorder> snapshot;
        synchronized (recorders) {
            snapshot = List.copyOf(recorders);
        }
        for (OperationType type : OperationType.values()) {
            Histogram merged = new Histogram(3);
            long[] outcomes = new long[OperationOutcome.values().length];
            long doorbells = 0;
            long verbs = 0;
            long bytesRead = 0;
            long bytesWritten = 0;
            for (ThreadOperationRecorder recorder : snapshot) {
                Histogram latencies = recorder.latencies(type);
                if (latencies == null) {
                    continue;
                }
                merged.add(latencies);
                for (OperationOutcome outcome : OperationOutcome.values()) {
                    outcomes[outcome.ordinal()] += recorder.outcomes(type, outcome);
                }
                doorbells += recorder.doorbells(type);
                verbs += recorder.verbs(type);
                bytesRead += recorder.bytesRead(type);
                bytesWritten += recorder.bytesWritten(type);
            }
            long count = merged.getTotalCount();
            if (count == 0) {
                continue;
            }
            figures.put(type, new OperationFigures(type.ycsbName(), count,
                    outcomes[OperationOutcome.NOT_FOUND.ordinal()], outcomes[OperationOutcome.ERROR.ordinal()],
                    merged.getValueAtPercentile(50) / 1_000.0, merged.getValueAtPercentile(99) / 1_000.0,
                    (double) doorbells / count, (double) verbs / count, (double) bytesRead / count,
                    (double) bytesWritten / count));
        }
        return figures;
    }
}
