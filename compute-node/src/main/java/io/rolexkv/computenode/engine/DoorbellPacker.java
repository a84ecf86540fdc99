package io.rolexkv.computenode.engine;

import io.rolexkv.common.fabric.BatchResult;
import io.rolexkv.common.fabric.DoorbellBatch;
import io.rolexkv.common.fabric.FabricConnection;
import io.rolexkv.common.fabric.FabricLimits;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;

/**
 * Packs many verbs for one memory node into as few doorbells as the node's limits allow (verbs and bytes per batch),
 * then posts them all at once, so they are in flight together, and waits for every completion.
 */
final class DoorbellPacker {
    private final FabricLimits limits;
    private final List<DoorbellBatch> batches = new ArrayList<>();
    private BatchResult[] results;

    DoorbellPacker(FabricLimits limits) {
        this.limits = limits;
    }

    /**
     * The batch to append {@code verbs} verbs moving {@code bytes} bytes to: the last one if they fit, else a new one.
     * Its position is {@link #size()} - 1 right after the call.
     */
    DoorbellBatch batchFor(int verbs, long bytes) {
        DoorbellBatch last = batches.isEmpty() ? null : batches.getLast();
        if (last == null || last.size() + verbs > limits.maxVerbsPerBatch()
                || last.bytesToRead() + last.bytesToWrite() + bytes > limits.maxBytesPerBatch()) {
            last = new DoorbellBatch();
            batches.add(last);
        }
        return last;
    }

    /** Appends a READ; returns its position as {@code batch << 32 | verb}, for {@link #read}. */
    long read(long address, int length) {
        DoorbellBatch batch = batchFor(1, length);
        int verb = batch.read(address, length);
        return ((long) (batches.size() - 1) << 32) | verb;
    }

    int size() {
        return batches.size();
    }

    List<DoorbellBatch> batches() {
        return batches;
    }

    /** Posts every batch, then waits for all; rethrows the first failure after all have completed. */
    void execute(FabricConnection connection) {
        List<CompletableFuture<BatchResult>> completions = new ArrayList<>(batches.size());
        for (DoorbellBatch batch : batches) {
            completions.add(connection.post(batch));
        }
        results = new BatchResult[batches.size()];
        RuntimeException failure = null;
        for (int i = 0; i < completions.size(); i++) {
            try {
                results[i] = FabricConnection.await(completions.get(i));
            } catch (RuntimeException e) {
                if (failure == null) {
                    failure = e;
                }
            }
        }
        if (failure != null) {
            throw failure;
        }
    }

    /** The result of batch {@code batch}, after {@link #execute}. */
    BatchResult result(int batch) {
        return results[batch];
    }

    /** The bytes of the READ at {@code position} (from {@link #read}), after {@link #execute}. */
    java.lang.foreign.MemorySegment read(long position) {
        return results[(int) (position >>> 32)].read((int) position);
    }
}
