package io.rolexkv.bench.system;

import io.rolexkv.common.fabric.FabricCounters;

/**
 * The fabric cost of whatever the <em>calling thread</em> has done so far: how the YCSB binding attributes round trips
 * and bytes to one operation type when many client threads share one engine and its connections.
 *
 * <p>A connection's {@link FabricCounters} mix every thread posting on it, so the difference of two of its snapshots
 * taken around one operation also holds other threads' batches. A probe answers per thread instead: the binding takes
 * {@link #callingThreadTotals()} before and after each operation, on the same thread, and the difference is exactly
 * that operation's cost. The one-sided systems read the engine's own per-thread counters
 * ({@code RolexKV.threadCounters()}, which follow batch calls onto their helper threads); the RPC client counts per
 * calling thread itself.
 *
 * <p>Contract for implementations: the totals are monotone per thread, and they count a batch on the thread that
 * posted it. An engine that hands an operation's work to another thread (a virtual thread per in-flight request, say)
 * must post from the thread that called it or carry the attribution across, or its costs land on the wrong operation.
 */
@FunctionalInterface
public interface OperationCostProbe {

    /** A probe for systems without a fabric (the in-process engine): every operation costs nothing. */
    OperationCostProbe NONE = () -> FabricCounters.Snapshot.ZERO;

    /** Everything the calling thread has posted so far; only differences between two calls mean anything. */
    FabricCounters.Snapshot callingThreadTotals();
}
