package io.rolexkv.computenode.engine;

import io.rolexkv.common.fabric.BatchResult;
import io.rolexkv.common.fabric.CompletionBuffer;
import io.rolexkv.common.fabric.DoorbellBatch;
import io.rolexkv.common.fabric.FabricConnection;
import io.rolexkv.common.fabric.ForwardingFabricConnection;

import java.util.concurrent.CompletableFuture;

/**
 * The engine's view of a connection to one memory node: the transport's connection, with every doorbell, whoever posts
 * it (the engine itself or the index it drives), recorded on the counters of the calling thread
 * ({@link ThreadCosts}), for per-operation costs. Verbs the engine slips into the index's doorbells hear their answers
 * through the index's own API ({@link io.rolexkv.rolex.index.DoorbellExtras},
 * {@link io.rolexkv.rolex.index.WordUpdate#finalDoorbellCompleted}), not through this connection.
 */
final class EngineConnection extends ForwardingFabricConnection {
    private final ThreadCosts threadCosts;

    EngineConnection(FabricConnection delegate, ThreadCosts threadCosts) {
        super(delegate);
        this.threadCosts = threadCosts;
    }

    @Override
    public CompletableFuture<BatchResult> post(DoorbellBatch batch) {
        if (!batch.isEmpty()) {
            threadCosts.current().recordPosted(batch);
        }
        return delegate.post(batch);
    }

    /**
     * Recorded as {@link #post} records, then handed down, so the caller waits on the transport's own completion (over
     * tcp it then reads its answer itself) rather than on a stage the default would attach.
     */
    @Override
    public BatchResult execute(DoorbellBatch batch) {
        if (!batch.isEmpty()) {
            threadCosts.current().recordPosted(batch);
        }
        return delegate.execute(batch);
    }

    /** Recorded as {@link #post} records, then handed down with the caller's buffer, which the transport fills. */
    @Override
    public void execute(DoorbellBatch batch, CompletionBuffer into) {
        if (!batch.isEmpty()) {
            threadCosts.current().recordPosted(batch);
        }
        delegate.execute(batch, into);
    }
}
