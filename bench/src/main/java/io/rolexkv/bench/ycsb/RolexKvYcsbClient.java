package io.rolexkv.bench.ycsb;

import io.rolexkv.bench.system.OperationCostProbe;
import io.rolexkv.common.fabric.FabricCounters;
import io.rolexkv.common.kv.BaseKV;
import io.rolexkv.common.kv.KeyValueBytes;
import site.ycsb.ByteIterator;
import site.ycsb.DB;
import site.ycsb.DBException;
import site.ycsb.Status;

import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.Vector;
import java.util.function.Supplier;

/**
 * The YCSB binding: YCSB's table operations on the store's {@link BaseKV}.
 *
 * <ul>
 *   <li>Keys: {@link YcsbKeyCodec} (order-preserving, so {@link #scan} is a range scan of the store). Records:
 *       {@link YcsbRecordCodec} (one value per record; with one field, the value is that field's bytes).</li>
 *   <li>{@code read}: one {@link BaseKV#get}; only the fields asked for are returned.</li>
 *   <li>{@code scan}: one {@link BaseKV#scan} from the start key, up to {@code recordcount} records.</li>
 *   <li>{@code update} with every field of the schema: a plain {@link BaseKV#put} (the whole record is replaced, and
 *       written even if it was missing, as an insert would). With some fields: one {@link BaseKV#update}, the
 *       engine's atomic read-modify-write, never a get followed by a put (a put from another thread could slip in
 *       between and be lost); a missing record answers NOT_FOUND and is not created.</li>
 *   <li>{@code insert}: a {@link BaseKV#put}, or held for one bulk load at the end of a bulk load phase.</li>
 *   <li>{@code delete}: {@link BaseKV#delete}.</li>
 * </ul>
 * The table name is ignored: the store has one key space.
 *
 * <p>Statuses: OK; NOT_FOUND for a missing record; ERROR for any exception (bad key, engine failure), which is
 * counted and logged once per operation type ({@link BindingErrors}), never thrown to YCSB. Each operation is timed
 * and its fabric cost taken from the installed {@link OperationCostProbe} on the calling thread, into that thread's
 * {@link ThreadOperationRecorder}.
 *
 * <p>The engine is not this object's: YCSB makes one binding per client thread, all sharing the engine installed in
 * {@link YcsbEngineRegistry}, and {@link #cleanup()} leaves it open.
 */
public final class RolexKvYcsbClient extends DB {
    private BaseKV engine;
    private OperationCostProbe costProbe;
    private BindingErrors errors;
    private BulkLoadBuffer bulkLoadBuffer;
    private ThreadOperationRecorder recorder;
    private YcsbKeyCodec keys;
    private YcsbRecordCodec records;

    @Override
    public void init() throws DBException {
        try {
            YcsbBindingContext context = YcsbEngineRegistry.installed();
            RolexKvYcsbProperties.checkValueSize(getProperties());
            keys = YcsbKeyCodec.fromProperties(getProperties());
            records = YcsbRecordCodec.fromProperties(getProperties());
            engine = context.engine();
            costProbe = context.costProbe();
            errors = context.errors();
            bulkLoadBuffer = context.bulkLoadBuffer().orElse(null);
            // YCSB calls init() on the client thread that then runs every operation of this binding.
            recorder = context.statistics().recorderForCurrentThread();
        } catch (RuntimeException e) {
            throw new DBException("cannot start the rolex-kv YCSB binding: " + e.getMessage(), e);
        }
    }

    @Override
    public Status read(String table, String key, Set<String> fields, Map<String, ByteIterator> result) {
        return measured(OperationType.READ, key, () -> {
            Optional<byte[]> value = engine.get(keys.encode(key));
            if (value.isEmpty()) {
                return Status.NOT_FOUND;
            }
            records.decodeInto(value.get(), fields, result);
            return Status.OK;
        });
    }

    @Override
    public Status scan(String table, String startkey, int recordcount, Set<String> fields,
                       Vector<HashMap<String, ByteIterator>> result) {
        return measured(OperationType.SCAN, startkey, () -> {
            long from = keys.encode(startkey);
            if (recordcount <= 0) {
                return Status.OK;
            }
            List<KeyValueBytes> pairs = engine.scan(from, recordcount);
            for (KeyValueBytes pair : pairs) {
                HashMap<String, ByteIterator> row = new HashMap<>();
                records.decodeInto(pair.value(), fields, row);
                result.add(row);
            }
            return Status.OK;
        });
    }

    @Override
    public Status update(String table, String key, Map<String, ByteIterator> values) {
        return measured(OperationType.UPDATE, key, () -> {
            long storeKey = keys.encode(key);
            byte[][] changes = records.fieldsOf(values);
            if (YcsbRecordCodec.isComplete(changes)) {
                engine.put(storeKey, records.encode(changes));
                return Status.OK;
            }
            Optional<byte[]> written = engine.update(storeKey,
                    current -> current.map(value -> records.merge(value, changes)));
            return written.isPresent() ? Status.OK : Status.NOT_FOUND;
        });
    }

    @Override
    public Status insert(String table, String key, Map<String, ByteIterator> values) {
        return measured(OperationType.INSERT, key, () -> {
            long storeKey = keys.encode(key);
            byte[] value = records.encode(records.fieldsOf(values));
            if (bulkLoadBuffer != null) {
                bulkLoadBuffer.add(storeKey, value);
            } else {
                engine.put(storeKey, value);
            }
            return Status.OK;
        });
    }

    @Override
    public Status delete(String table, String key) {
        return measured(OperationType.DELETE, key,
                () -> engine.delete(keys.encode(key)) ? Status.OK : Status.NOT_FOUND);
    }

    /** Leaves the shared engine open: it belongs to whoever installed it. */
    @Override
    public void cleanup() {
        // Nothing of this binding's own to release.
    }

    private Status measured(OperationType type, String key, Supplier<Status> operation) {
        long startNanos = System.nanoTime();
        FabricCounters.Snapshot before = costProbe.callingThreadTotals();
        Status status;
        try {
            status = operation.get();
        } catch (RuntimeException e) {
            errors.record(type, key, e);
            status = Status.ERROR;
        }
        long nanos = System.nanoTime() - startNanos;
        recorder.record(type, OperationOutcome.of(status), nanos, costProbe.callingThreadTotals().minus(before));
        return status;
    }
}
