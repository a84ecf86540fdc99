package io.rolexkv.computenode.engine;

import io.rolexkv.common.fabric.BatchResult;
import io.rolexkv.common.fabric.DoorbellBatch;
import io.rolexkv.common.fabric.FabricConnection;
import io.rolexkv.common.fabric.ForwardingFabricConnection;

import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.Consumer;

/**
 * The engine's view of a connection to one memory node: the transport's connection, plus two things the engine needs
 * on every doorbell whoever posts it (the engine itself or the index it drives):
 * <ul>
 *   <li>the doorbell is recorded on the counters of the calling thread ({@link ThreadCosts}), for per-operation
 *       costs;</li>
 *   <li>a verb the engine slipped into a doorbell the index posts (a chunk claim FAA riding a put's first doorbell)
 *       gets its answer: {@link #onCompletion} registers a listener for that batch, run when it completes and before
 *       the poster sees the completion.</li>
 * </ul>
 */
final class EngineConnection extends ForwardingFabricConnection {
    private final ThreadCosts threadCosts;
    private final Map<DoorbellBatch, Consumer<BatchResult>> listeners = new ConcurrentHashMap<>();

    EngineConnection(FabricConnection delegate, ThreadCosts threadCosts) {
        super(delegate);
        this.threadCosts = threadCosts;
    }

    /**
     * Runs {@code listener} with {@code batch}'s result when it completes successfully (not if it fails). Listeners of
     * one batch run in registration order. A batch that is never posted must be {@link #forget forgotten}.
     */
    void onCompletion(DoorbellBatch batch, Consumer<BatchResult> listener) {
        listeners.merge(batch, listener, Consumer::andThen);
    }

    /** Drops the listeners of a batch that will not be posted. */
    void forget(DoorbellBatch batch) {
        listeners.remove(batch);
    }

    @Override
    public CompletableFuture<BatchResult> post(DoorbellBatch batch) {
        if (!batch.isEmpty()) {
            threadCosts.current().recordPosted(batch);
        }
        Consumer<BatchResult> listener = listeners.remove(batch);
        CompletableFuture<BatchResult> completion = delegate.post(batch);
        if (listener == null) {
            return completion;
        }
        return completion.whenComplete((result, failure) -> {
            if (result != null) {
                listener.accept(result);
            }
        });
    }
}
