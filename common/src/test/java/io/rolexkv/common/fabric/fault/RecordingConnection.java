package io.rolexkv.common.fabric.fault;

import io.rolexkv.common.fabric.BatchResult;
import io.rolexkv.common.fabric.DoorbellBatch;
import io.rolexkv.common.fabric.FabricConnection;
import io.rolexkv.common.fabric.ForwardingFabricConnection;
import io.rolexkv.common.fabric.VerbKind;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;

/** A pass-through connection that remembers every batch it was handed, verb by verb, in order. */
final class RecordingConnection extends ForwardingFabricConnection {

    /** One verb as posted: enough to tell pieces and neighbours apart. */
    record Verb(VerbKind kind, long address, int length) {
    }

    private final List<List<Verb>> posted = new ArrayList<>();

    RecordingConnection(FabricConnection delegate) {
        super(delegate);
    }

    /** Every batch posted so far, oldest first. */
    synchronized List<List<Verb>> posted() {
        return List.copyOf(posted);
    }

    synchronized void forget() {
        posted.clear();
    }

    @Override
    public CompletableFuture<BatchResult> post(DoorbellBatch batch) {
        List<Verb> verbs = new ArrayList<>();
        for (int i = 0; i < batch.size(); i++) {
            verbs.add(new Verb(batch.kind(i), batch.address(i), batch.length(i)));
        }
        synchronized (this) {
            posted.add(List.copyOf(verbs));
        }
        return delegate.post(batch);
    }
}
