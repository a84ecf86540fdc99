package io.rolexkv.computenode.engine;

import io.rolexkv.common.fabric.FabricCounters;

import java.util.concurrent.Callable;

/**
 * Per-thread cost counters of one engine: every doorbell the engine posts is recorded on the counters of the thread
 * whose call it serves. A batch call that fans out to helper threads (one per memory node) runs them with the caller's
 * counters, so a caller always sees the whole cost of its calls, wherever the verbs were posted from.
 *
 * <p>These counters have no parent: the engine's totals already get every doorbell through the connections' own
 * counters, and adding them twice would double them.
 */
final class ThreadCosts {
    private final ThreadLocal<FabricCounters> current = ThreadLocal.withInitial(FabricCounters::new);

    /** The calling thread's counters (created on first use). */
    FabricCounters current() {
        return current.get();
    }

    /** Runs {@code task} on this thread recording on {@code counters}, then restores this thread's own. */
    <T> T callRecordingOn(FabricCounters counters, Callable<T> task) throws Exception {
        FabricCounters own = current.get();
        current.set(counters);
        try {
            return task.call();
        } finally {
            current.set(own);
        }
    }
}
