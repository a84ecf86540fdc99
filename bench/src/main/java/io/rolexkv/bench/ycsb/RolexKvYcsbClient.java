package io.rolexkv.bench.ycsb;

import io.rolexkv.bench.system.OperationCostProbe;
import io.rolexkv.common.fabric.FabricCounters;
import io.rolexkv.common.fabric.MemoryNodeDownException;
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
 * counted and logged once per operation type ({@link BindingErrors}), never thrown to YCSB, with one exception: a
 * memory node marked down ({@link MemoryNodeDownException}) is thrown, so the run stops with the node's name instead of
 * failing every later operation at once. Each operation is timed
 * and its fabric cost taken from the installed {@link OperationCostProbe} on the calling thread, into that thread's
 * {@link ThreadOperationRecorder}.
 *
 * <p>The engine is not this object's: YCSB makes one binding per client thread, all sharing one engine per JVM. Under
 * the harness ({@link YcsbRunner}) that is the engine installed in {@link YcsbEngineRegistry}, and {@link #cleanup()}
 * leaves it open. Under YCSB's own client, where nothing is installed, the first binding opens a {@code rolex} engine
 * from the properties below, the others share it, and the last {@link #cleanup()} closes it:
 *
 * <pre>
 * java -cp "bench-VERSION.jar:lib/*" site.ycsb.Client -load -db io.rolexkv.bench.ycsb.RolexKvYcsbClient \
 *     -P workloads/workloada -p rolexkv.memory_nodes=10.0.0.1:7000,10.0.0.2:7000 -threads 8 -s
 * </pre>
 *
 * (then {@code -t} instead of {@code -load} for the run phase; {@code bin/ycsb load|run} with this class as the
 * binding does the same).
 *
 * <table>
 *   <caption>Properties of the binding (besides YCSB's own)</caption>
 *   <tr><th>Property</th><th>Meaning</th><th>Default</th></tr>
 *   <tr><td>{@code rolexkv.memory_nodes}</td><td>{@code host:port,...} of running memory nodes, in key order (an even
 *       split of the key space); required without an installed engine unless {@code rolexkv.config} is
 *       given</td><td>none</td></tr>
 *   <tr><td>{@code rolexkv.fabric}</td><td>transport to the memory nodes: {@code tcp} or {@code rdma}</td>
 *       <td>{@code tcp}</td></tr>
 *   <tr><td>{@code rolexkv.index_room_wait_ms}</td><td>how long a write into a model whose synonym table is full
 *       waits for the memory node's retrainer</td><td>120000</td></tr>
 *   <tr><td>{@code rolexkv.config}</td><td>instead of the three above: a JSON file with the engine object as the
 *       compute node reads it ({@code engine_type}, {@code transport}, {@code memory_nodes}, ...)</td>
 *       <td>none</td></tr>
 *   <tr><td>{@code rolexkv.value_size}</td><td>one field of exactly N bytes, stored as the value itself; with YCSB's
 *       own client also give {@code fieldcount=1 fieldlength=N} (the binding checks). With N = 8 values live inline
 *       in the leaves ({@code value_layout: inline8}), otherwise in value blocks sized for the longest
 *       record</td><td>10 fields of 100 bytes</td></tr>
 * </table>
 */
public final class RolexKvYcsbClient extends DB {
    private BaseKV engine;
    private OperationCostProbe costProbe;
    private BindingErrors errors;
    private BulkLoadBuffer bulkLoadBuffer;
    private ThreadOperationRecorder recorder;
    private YcsbKeyCodec keys;
    private YcsbRecordCodec records;
    private boolean holdsStandaloneEngine;

    @Override
    public void init() throws DBException {
        try {
            RolexKvYcsbProperties.checkValueSize(getProperties());
            keys = YcsbKeyCodec.fromProperties(getProperties());
            records = YcsbRecordCodec.fromProperties(getProperties());
            Optional<YcsbBindingContext> installed = YcsbEngineRegistry.current();
            YcsbBindingContext context;
            if (installed.isPresent()) {
                context = installed.get();
            } else {
                context = StandaloneEngine.acquire(getProperties());
                holdsStandaloneEngine = true;
            }
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

    /**
     * Leaves an installed engine open (it belongs to whoever installed it); lets go of the engine the bindings opened
     * themselves, which the last one to let go closes.
     */
    @Override
    public void cleanup() throws DBException {
        if (!holdsStandaloneEngine) {
            return;
        }
        holdsStandaloneEngine = false;
        try {
            StandaloneEngine.release();
        } catch (RuntimeException e) {
            throw new DBException("cannot close the rolex-kv engine: " + e.getMessage(), e);
        }
    }

    private Status measured(OperationType type, String key, Supplier<Status> operation) {
        long startNanos = System.nanoTime();
        FabricCounters.Snapshot before = costProbe.callingThreadTotals();
        Status status;
        try {
            status = operation.get();
        } catch (RuntimeException e) {
            if (MemoryNodeDownException.in(e).isPresent()) {
                throw e; // stops the run, and the command names the node in one line: no stack trace logged before it
            }
            errors.record(type, key, e);
            status = Status.ERROR;
        }
        long nanos = System.nanoTime() - startNanos;
        recorder.record(type, OperationOutcome.of(status), nanos, costProbe.callingThreadTotals().minus(before));
        return status;
    }
}
