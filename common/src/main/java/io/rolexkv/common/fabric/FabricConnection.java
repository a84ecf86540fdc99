package io.rolexkv.common.fabric;

import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.ExecutionException;

/**
 * A queue pair to one memory node: post doorbell batches of one-sided verbs, get their completions. Every transport
 * (loopback, tcp, rdma) implements the same semantics, stated on {@link DoorbellBatch}.
 *
 * <p>Thread-safe: many threads (typically one virtual thread per in-flight client operation) may post on one
 * connection at once; each batch is executed in order on its own, but batches from different threads may interleave
 * on the memory node as they would on a NIC.
 *
 * <p>Failure: {@link #post} never throws for a remote problem; the future fails with {@link VerbRejectedException}
 * (bad verb, connection still usable) or {@link ConnectionLostException} (every pending and later batch fails the
 * same way, promptly: never a hang). {@link ReconnectingConnection} wraps a transport's connections to replace a
 * broken one instead, and says what its callers see then.
 */
public interface FabricConnection extends AutoCloseable {

    /** The memory node's id, as in {@link GlobalAddress#memoryNode(long)}. */
    int memoryNodeId();

    /**
     * The incarnation of the memory node's data, as exchanged when the connection was set up: a random 64-bit id the
     * node drew when its regions were created afresh, and kept with them as long as they are kept (file-mapped under a
     * data directory). Two connections with the same node id and incarnation reach the same memory, restarts in between
     * or not; another incarnation means the memory was created anew and what it held before is gone.
     */
    long incarnation();

    /** The regions the memory node registered, as exchanged when the connection was set up. */
    List<RegionInfo> regions();

    /** The region registered under {@code name}, or an exception naming the regions there are. */
    default RegionInfo region(String name) {
        for (RegionInfo region : regions()) {
            if (region.name().equals(name)) {
                return region;
            }
        }
        throw new IllegalArgumentException("memory node " + memoryNodeId() + " has no region named " + name
                + "; it has " + regions().stream().map(RegionInfo::name).toList());
    }

    /**
     * Posts {@code batch} as one doorbell. The batch must not be changed until the future completes. An empty batch
     * completes at once without a round trip.
     */
    CompletableFuture<BatchResult> post(DoorbellBatch batch);

    /** Posts {@code batch} and waits for its completion; rethrows a failure as the {@link FabricException} it was. */
    default BatchResult execute(DoorbellBatch batch) {
        return await(post(batch));
    }

    /**
     * Posts {@code batch}, waits for its completion and writes it into {@code into}, replacing what it held: the form for
     * a hot path that keeps one batch and one buffer per caller (a buffer serves one call at a time) and allocates nothing
     * per call where the transport fills the buffer in place (loopback does). Failures as {@link #execute(DoorbellBatch)};
     * after one, what {@code into} holds is unspecified.
     *
     * <p>The default posts the batch and copies its {@link BatchResult} in, so a decorator that overrides only
     * {@link #post} (fault injection, cost accounting) sees every batch; a transport overrides this only with the same
     * semantics as {@link #post}.
     */
    default void execute(DoorbellBatch batch, CompletionBuffer into) {
        into.copyOf(batch, execute(batch));
    }

    /** Cost counters of this connection (their parent, if any, holds the client's totals). */
    FabricCounters counters();

    /** False once the connection is closed or broken. */
    boolean isOpen();

    /** Closes the connection; pending batches fail with {@link ConnectionLostException}. Idempotent. */
    @Override
    void close();

    /** Waits for a batch completion, unwrapping the future's exception into the {@link FabricException} it holds. */
    static <T> T await(CompletableFuture<T> completion) {
        try {
            return completion.get();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new FabricException("interrupted while waiting for a doorbell completion", e);
        } catch (ExecutionException | CompletionException e) {
            Throwable cause = e.getCause();
            if (cause instanceof FabricException fabricException) {
                // Rethrow a fresh copy so the stack trace shows this caller, with the remote cause attached.
                throw rethrowable(fabricException);
            }
            throw new FabricException("doorbell completion failed: " + cause, cause);
        }
    }

    private static FabricException rethrowable(FabricException original) {
        FabricException copy = switch (original) {
            case VerbRejectedException rejected ->
                    new VerbRejectedException(rejected.verbIndex(), rejected.reason(), rejected.detail());
            case ConnectionLostException lost -> new ConnectionLostException(lost.getMessage(), lost.getCause());
            case MemoryNodeDownException down -> down.copy();
            default -> new FabricException(original.getMessage(), original.getCause());
        };
        copy.addSuppressed(original);
        return copy;
    }
}
