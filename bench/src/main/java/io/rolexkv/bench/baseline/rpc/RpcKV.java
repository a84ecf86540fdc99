package io.rolexkv.bench.baseline.rpc;

import io.netty.buffer.ByteBuf;
import io.rolexkv.common.fabric.ConnectionLostException;
import io.rolexkv.common.fabric.FabricException;
import io.rolexkv.common.kv.BaseKV;
import io.rolexkv.common.kv.KeyValueBytes;
import io.rolexkv.common.kv.KeyValueChecks;
import io.rolexkv.common.net.ClientProtocol;
import io.rolexkv.common.net.FrameConnection;
import io.rolexkv.common.net.FrameFormatException;
import io.rolexkv.common.net.FrameHeader;
import io.rolexkv.common.net.NetSettings;
import io.rolexkv.common.net.TcpEndpoint;

import java.lang.foreign.MemorySegment;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.UnaryOperator;

import static io.rolexkv.bench.baseline.rpc.RpcFrameDescriptor.BATCH_GET_RESPONSE_FIXED_LENGTH;
import static io.rolexkv.bench.baseline.rpc.RpcFrameDescriptor.BATCH_PUT_FIXED_LENGTH;
import static io.rolexkv.bench.baseline.rpc.RpcFrameDescriptor.BULK_LOAD_FIXED_LENGTH;
import static io.rolexkv.bench.baseline.rpc.RpcFrameDescriptor.HEADER_LENGTH;
import static io.rolexkv.bench.baseline.rpc.RpcFrameDescriptor.STATUS_BAD_ARGUMENT;
import static io.rolexkv.bench.baseline.rpc.RpcFrameDescriptor.STATUS_CONFLICT;
import static io.rolexkv.bench.baseline.rpc.RpcFrameDescriptor.STATUS_FAILED;
import static io.rolexkv.bench.baseline.rpc.RpcFrameDescriptor.STATUS_OK;

/**
 * The rpc baseline engine, client side: every {@link BaseKV} call is sent to an {@link RpcKVServer} whose CPU executes
 * it. One round trip per call (a batch or scan too large for one frame takes more), and the server does the work the
 * one-sided engines do from the compute node; {@link #counters()} and {@link #serverStats()} give both sides' costs.
 *
 * <h2>Update</h2>
 * The update function is Java on the client, so it cannot run on the server. {@link #update} is therefore optimistic:
 * GET the value, apply the function here, then COMPARE_AND_SET on the server, which writes the new value only if the
 * stored bytes are still exactly the ones the function saw. If another writer got in between, the server answers
 * CONFLICT with the value stored now, and the update applies its function to that and tries again (no extra read). An
 * uncontended update costs two round trips; every lost race one more. The function may run several times, as
 * {@link BaseKV#update} allows. Atomic with respect to every other write of the key: every write reaches the same map
 * on the server, and the compare and the swap act on one stored array.
 *
 * <h2>Threads, connections, failure</h2>
 * Thread-safe: calls from any number of threads spread over {@link NetSettings#connections()} connections, each
 * pipelining requests; a thread keeps to one connection, and a waiting caller reads its own answer
 * ({@link FrameConnection}). Parts of one call (the frames of a large batch, the retries of an update) stay on one
 * connection, so the server sees them in order. If the server dies or the network breaks, every pending and later
 * call fails promptly with {@link ConnectionLostException} (a request that waits longer than the response timeout
 * counts as lost); this client does not reconnect. After {@link #close()} every call throws
 * {@link IllegalStateException}.
 *
 * <h2>Values</h2>
 * The server's {@code max_value_bytes}, learnt from its HELLO, is this engine's {@link #maxValueBytes()}; values are
 * checked here before anything is sent, and checked again by the server. {@link #getView} hands out the value as a
 * read-only view of the answer's bytes, with no copy beyond the one out of the network buffer.
 */
public final class RpcKV implements BaseKV {
    public static final String ENGINE_TYPE = "rpc";

    /** Frames of one large batch or bulk load in flight at once on its connection. */
    private static final int PIPELINE_DEPTH = 4;
    /** Extra wait beyond the response timeout before a caller gives up on a future the connection should have failed. */
    private static final long AWAIT_GRACE_MILLIS = 1_000;

    private final String endpoint;
    private final NetSettings settings;
    private final List<FrameConnection<RpcFrameCodec.Hello>> connections;
    private final AtomicInteger nextConnection = new AtomicInteger();
    private final ThreadLocal<Integer> threadConnection;
    private final RpcCounters counters = new RpcCounters();
    private final int maxValueBytes;
    private final int maxFrameBytes;
    private final AtomicBoolean closed = new AtomicBoolean();

    /** What the rpc baseline tells the network layer about its server's HELLO. */
    private static final ClientProtocol<RpcFrameCodec.Hello> PROTOCOL = new ClientProtocol<>("rpc server",
            RpcFrameDescriptor.HELLO_LENGTH, RpcFrameCodec::decodeHello, RpcFrameCodec.Hello::maxFrameBytes, hello -> "");

    private RpcKV(String endpoint, NetSettings settings) {
        this.endpoint = endpoint;
        this.settings = settings;
        List<FrameConnection<RpcFrameCodec.Hello>> opened = new ArrayList<>(settings.connections());
        try {
            for (int i = 0; i < settings.connections(); i++) {
                opened.add(FrameConnection.open(endpoint, PROTOCOL, settings));
            }
        } catch (RuntimeException e) {
            opened.forEach(FrameConnection::close);
            throw e;
        }
        this.connections = List.copyOf(opened);
        this.threadConnection = ThreadLocal.withInitial(
                () -> Math.floorMod(nextConnection.getAndIncrement(), connections.size()));
        RpcFrameCodec.Hello hello = connections.getFirst().hello();
        this.maxValueBytes = hello.maxValueBytes();
        this.maxFrameBytes = hello.maxFrameBytes();
    }

    /** Connects to the server at {@code host:port} with the default settings. */
    public static RpcKV connect(String endpoint) {
        return connect(endpoint, NetSettings.DEFAULT);
    }

    /**
     * Connects to the server at {@code endpoint} ({@code host:port} or {@code [v6-address]:port}).
     *
     * @throws ConnectionLostException if no server answers there in time
     */
    public static RpcKV connect(String endpoint, NetSettings settings) {
        TcpEndpoint target = TcpEndpoint.parse(endpoint);
        if (target.port() < 1) {
            throw new IllegalArgumentException("endpoint=" + endpoint + " port=" + target.port() + " allowed=[1,65535]");
        }
        return new RpcKV(endpoint, settings);
    }

    /** The server this engine talks to, {@code host:port}. */
    public String endpoint() {
        return endpoint;
    }

    public NetSettings settings() {
        return settings;
    }

    /** This client's round trips and bytes, per operation. */
    public RpcCounters counters() {
        return counters;
    }

    /** The server's own figures (requests, bytes, CPU time), asked over one round trip. */
    public RpcServerStats serverStats() {
        checkOpen();
        counters.recordCall(RpcCounters.Operation.SERVER_STATS);
        FrameConnection<RpcFrameCodec.Hello> connection = pick();
        RpcFrameCodec.Response response = ok(connection, call(connection, RpcCounters.Operation.SERVER_STATS,
                RpcFrameCodec.encodeStats(connection.allocator())));
        return decode(connection, () -> RpcFrameCodec.decodeStats(response));
    }

    @Override
    public Optional<byte[]> get(long key) {
        checkOpen();
        counters.recordCall(RpcCounters.Operation.GET);
        FrameConnection<RpcFrameCodec.Hello> connection = pick();
        RpcFrameCodec.Response response = ok(connection, call(connection, RpcCounters.Operation.GET,
                RpcFrameCodec.encodeGet(connection.allocator(), key)));
        return decode(connection, () -> RpcFrameCodec.decodeValue(response));
    }

    /** The value as a read-only view of the answer's bytes: no copy beyond the one out of the network buffer. */
    @Override
    public Optional<MemorySegment> getView(long key) {
        checkOpen();
        counters.recordCall(RpcCounters.Operation.GET);
        FrameConnection<RpcFrameCodec.Hello> connection = pick();
        RpcFrameCodec.Response response = ok(connection, call(connection, RpcCounters.Operation.GET,
                RpcFrameCodec.encodeGet(connection.allocator(), key)));
        return decode(connection, () -> RpcFrameCodec.decodeValueView(response));
    }

    @Override
    public void put(long key, byte[] value) {
        checkOpen();
        KeyValueChecks.checkValue(value, maxValueBytes);
        counters.recordCall(RpcCounters.Operation.PUT);
        FrameConnection<RpcFrameCodec.Hello> connection = pick();
        RpcFrameCodec.Response response = ok(connection, call(connection, RpcCounters.Operation.PUT,
                RpcFrameCodec.encodePut(connection.allocator(), key, value)));
        decode(connection, () -> {
            RpcFrameCodec.decodeDone(response);
            return null;
        });
    }

    @Override
    public List<Optional<byte[]>> batchGet(long[] keys) {
        checkOpen();
        counters.recordCall(RpcCounters.Operation.BATCH_GET);
        List<Optional<byte[]>> values = new ArrayList<>(keys.length);
        FrameConnection<RpcFrameCodec.Hello> connection = pick();
        int keysPerFrame = (maxFrameBytes - HEADER_LENGTH - RpcFrameDescriptor.COUNT_BYTES) / Long.BYTES;
        int next = 0;
        while (next < keys.length) {
            int to = Math.min(keys.length, next + keysPerFrame);
            int asked = to - next;
            RpcFrameCodec.Response response = ok(connection, call(connection, RpcCounters.Operation.BATCH_GET,
                    RpcFrameCodec.encodeBatchGet(connection.allocator(), keys, next, to)));
            // The server answers the first keys that fit in one frame; ask again for the rest.
            next += decode(connection, () -> RpcFrameCodec.decodeBatchGet(response, asked, values));
        }
        return values;
    }

    @Override
    public void batchPut(long[] keys, List<byte[]> values) {
        checkOpen();
        KeyValueChecks.checkBatch(keys, values);
        for (byte[] value : values) {
            KeyValueChecks.checkValue(value, maxValueBytes);
        }
        counters.recordCall(RpcCounters.Operation.BATCH_PUT);
        FrameConnection<RpcFrameCodec.Hello> connection = pick();
        Pipeline pipeline = new Pipeline(connection, RpcCounters.Operation.BATCH_PUT);
        int next = 0;
        while (next < keys.length) {
            int to = pairsThatFit(values, next, BATCH_PUT_FIXED_LENGTH);
            pipeline.send(RpcFrameCodec.encodeBatchPut(connection.allocator(), keys, values, next, to));
            next = to;
        }
        pipeline.awaitAll();
    }

    @Override
    public boolean delete(long key) {
        checkOpen();
        counters.recordCall(RpcCounters.Operation.DELETE);
        FrameConnection<RpcFrameCodec.Hello> connection = pick();
        RpcFrameCodec.Response response = ok(connection, call(connection, RpcCounters.Operation.DELETE,
                RpcFrameCodec.encodeDelete(connection.allocator(), key)));
        return decode(connection, () -> RpcFrameCodec.decodeRemoved(response));
    }

    @Override
    public List<KeyValueBytes> scan(long fromKey, long toKey, int limit) {
        checkOpen();
        if (limit < 0) {
            throw new IllegalArgumentException("limit=" + limit + " must be >= 0");
        }
        counters.recordCall(RpcCounters.Operation.SCAN);
        List<KeyValueBytes> pairs = new ArrayList<>();
        if (limit == 0 || Long.compareUnsigned(fromKey, toKey) > 0) {
            return pairs;
        }
        FrameConnection<RpcFrameCodec.Hello> connection = pick();
        long from = fromKey;
        while (true) {
            int remaining = limit - pairs.size();
            long pageFrom = from;
            RpcFrameCodec.Response response = ok(connection, call(connection, RpcCounters.Operation.SCAN,
                    RpcFrameCodec.encodeScan(connection.allocator(), pageFrom, toKey, remaining)));
            boolean more = decode(connection, () -> RpcFrameCodec.decodeScan(response, remaining, pairs));
            if (!more || pairs.size() == limit) {
                return pairs;
            }
            // The page filled a frame before the range ended; continue after its last key (never the largest key,
            // since a page with more after it cannot end there).
            long lastKey = pairs.getLast().key();
            if (lastKey == -1L || Long.compareUnsigned(lastKey, toKey) >= 0) {
                connection.closeWith("bad_frame scan said more after last_key=" + Long.toUnsignedString(lastKey));
                throw connection.lost();
            }
            from = lastKey + 1;
        }
    }

    /**
     * {@inheritDoc}
     *
     * <p>Optimistic, as the class comment says: GET, apply {@code function} here, COMPARE_AND_SET on the server; on
     * CONFLICT apply it again to the value the server sent back. Two round trips without contention.
     */
    @Override
    public Optional<byte[]> update(long key, UnaryOperator<Optional<byte[]>> function) {
        checkOpen();
        counters.recordCall(RpcCounters.Operation.UPDATE);
        FrameConnection<RpcFrameCodec.Hello> connection = pick();
        RpcFrameCodec.Response read = ok(connection, call(connection, RpcCounters.Operation.UPDATE,
                RpcFrameCodec.encodeGet(connection.allocator(), key)));
        Optional<byte[]> current = decode(connection, () -> RpcFrameCodec.decodeValue(read));
        while (true) {
            Optional<byte[]> seen = current;
            Optional<byte[]> next = function.apply(seen.map(byte[]::clone));
            if (next == null) {
                throw new IllegalArgumentException("update function returned null for key=" + Long.toUnsignedString(key)
                        + "; return Optional.empty() to delete");
            }
            next.ifPresent(value -> KeyValueChecks.checkValue(value, maxValueBytes));
            RpcFrameCodec.Response swap = call(connection, RpcCounters.Operation.UPDATE,
                    RpcFrameCodec.encodeCompareAndSet(connection.allocator(), key, seen, next));
            if (swap.status() == STATUS_CONFLICT) {
                counters.recordConflict();
                current = decode(connection, () -> RpcFrameCodec.decodeValue(swap));
                continue;
            }
            ok(connection, swap);
            decode(connection, () -> {
                RpcFrameCodec.decodeDone(swap);
                return null;
            });
            return next.map(byte[]::clone);
        }
    }

    @Override
    public void bulkLoad(long[] sortedKeys, List<byte[]> values) {
        checkOpen();
        KeyValueChecks.checkBatch(sortedKeys, values);
        KeyValueChecks.checkStrictlyIncreasing(sortedKeys);
        for (byte[] value : values) {
            KeyValueChecks.checkValue(value, maxValueBytes);
        }
        counters.recordCall(RpcCounters.Operation.BULK_LOAD);
        FrameConnection<RpcFrameCodec.Hello> connection = pick();
        Pipeline pipeline = new Pipeline(connection, RpcCounters.Operation.BULK_LOAD);
        // The first frame replaces the store's contents (even with no pairs); the rest append, in key order.
        int next = 0;
        do {
            int to = pairsThatFit(values, next, BULK_LOAD_FIXED_LENGTH);
            pipeline.send(RpcFrameCodec.encodeBulkLoad(connection.allocator(), next == 0, sortedKeys, values, next, to));
            next = to;
        } while (next < sortedKeys.length);
        pipeline.awaitAll();
    }

    @Override
    public void clear() {
        checkOpen();
        counters.recordCall(RpcCounters.Operation.CLEAR);
        FrameConnection<RpcFrameCodec.Hello> connection = pick();
        RpcFrameCodec.Response response = ok(connection, call(connection, RpcCounters.Operation.CLEAR,
                RpcFrameCodec.encodeClear(connection.allocator())));
        decode(connection, () -> {
            RpcFrameCodec.decodeDone(response);
            return null;
        });
    }

    @Override
    public int maxValueBytes() {
        return maxValueBytes;
    }

    /** Closes every connection (pending calls fail with {@link ConnectionLostException}). Idempotent. */
    @Override
    public void close() {
        if (!closed.compareAndSet(false, true)) {
            return;
        }
        connections.forEach(FrameConnection::close);
    }

    @Override
    public String toString() {
        return "RpcKV[endpoint=" + endpoint + " connections=" + connections.size() + " closed=" + closed.get() + "]";
    }

    // ---------------------------------------------------------------------------------------------------------------
    // Plumbing
    // ---------------------------------------------------------------------------------------------------------------

    private void checkOpen() {
        if (closed.get()) {
            throw new IllegalStateException("engine " + ENGINE_TYPE + " is closed endpoint=" + endpoint);
        }
    }

    /**
     * The calling thread's connection: each thread keeps the one it was first given (round robin over the threads),
     * so with as many connections as threads each thread reads its own answers and no thread wakes another.
     */
    private FrameConnection<RpcFrameCodec.Hello> pick() {
        if (connections.size() == 1) {
            return connections.getFirst();
        }
        return connections.get(threadConnection.get());
    }

    /** The end of the run of pairs from {@code from} that fits in one frame; at least one pair always fits. */
    private int pairsThatFit(List<byte[]> values, int from, int fixedLength) {
        long frameBytes = fixedLength;
        int to = from;
        while (to < values.size()) {
            frameBytes += RpcFrameCodec.pairBytes(values.get(to));
            if (to > from && frameBytes > maxFrameBytes) {
                break;
            }
            to++;
        }
        return to;
    }

    private RpcFrameCodec.Response call(FrameConnection<RpcFrameCodec.Hello> connection, RpcCounters.Operation operation,
                                        ByteBuf frame) {
        return await(connection, send(connection, operation, frame));
    }

    /**
     * Sends an encoded request frame (this takes it over) and returns its answer's future; an answer of another type
     * than the request's means a broken server, which closes the connection.
     */
    private CompletableFuture<RpcFrameCodec.Response> send(FrameConnection<RpcFrameCodec.Hello> connection,
                                                           RpcCounters.Operation operation, ByteBuf frame) {
        RpcRequestType type = RpcRequestType.fromCode(frame.getByte(frame.readerIndex() + FrameHeader.TYPE_OFFSET));
        counters.recordRequest(operation, frame.readableBytes());
        return connection.send(frame, answer -> {
            RpcFrameCodec.Response response = RpcFrameCodec.readResponse(answer);
            if (response.type() != type) {
                throw new FrameFormatException("response type=" + response.type() + " to request_id="
                        + response.requestId() + " of type=" + type);
            }
            counters.recordResponse(operation, response.frame().length);
            return response;
        });
    }

    /**
     * Waits for an answer. The connection fails the future itself when it is lost or the response timeout passes;
     * the bounded wait here is only a backstop, so a caller can never hang.
     */
    private RpcFrameCodec.Response await(FrameConnection<RpcFrameCodec.Hello> connection, CompletableFuture<RpcFrameCodec.Response> answer) {
        try {
            RpcFrameCodec.Response response = answer.get(settings.responseTimeout().toMillis() + AWAIT_GRACE_MILLIS,
                    TimeUnit.MILLISECONDS);
            counters.recordReceivedByCallingThread(response.frame().length);
            return response;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new FabricException("interrupted while waiting for rpc server endpoint=" + endpoint, e);
        } catch (TimeoutException e) {
            connection.closeWith("response timeout (backstop) timeout_ms=" + settings.responseTimeout().toMillis());
            throw connection.lost();
        } catch (ExecutionException e) {
            if (e.getCause() instanceof ConnectionLostException lost) {
                // A fresh exception, so the stack trace shows this caller; the shared one is its cause.
                throw new ConnectionLostException(lost.getMessage(), lost);
            }
            throw new FabricException("rpc call failed endpoint=" + endpoint + ": " + e.getCause(), e.getCause());
        }
    }

    /** Passes an OK answer through; turns BAD_ARGUMENT and FAILED into the exceptions a caller expects. */
    private RpcFrameCodec.Response ok(FrameConnection<RpcFrameCodec.Hello> connection, RpcFrameCodec.Response response) {
        switch (response.status()) {
            case STATUS_OK -> {
                return response;
            }
            case STATUS_BAD_ARGUMENT -> throw new IllegalArgumentException(
                    decode(connection, () -> RpcFrameCodec.decodeErrorMessage(response)));
            case STATUS_FAILED -> throw new IllegalStateException("rpc server failed type=" + response.type()
                    + " endpoint=" + endpoint + ": " + decode(connection, () -> RpcFrameCodec.decodeErrorMessage(response)));
            default -> {
                connection.closeWith("bad_frame status=" + response.status() + " for type=" + response.type());
                throw connection.lost();
            }
        }
    }

    /** A decoder that may find the server's answer malformed. */
    @FunctionalInterface
    private interface Decoder<T> {
        T decode() throws FrameFormatException;
    }

    /** Runs {@code decoder}; a malformed answer means a broken server, so its connection is closed as lost. */
    private static <T> T decode(FrameConnection<RpcFrameCodec.Hello> connection, Decoder<T> decoder) {
        try {
            return decoder.decode();
        } catch (FrameFormatException e) {
            connection.closeWith("bad_frame " + e.getMessage());
            throw new ConnectionLostException(connection.lost().getMessage(), e);
        }
    }

    /**
     * The frames of one large batch or bulk load, sent on one connection with up to {@link #PIPELINE_DEPTH} in flight:
     * the server executes them in order, so the batch still behaves as if its pairs were applied in order.
     */
    private final class Pipeline {
        private final FrameConnection<RpcFrameCodec.Hello> connection;
        private final RpcCounters.Operation operation;
        private final ArrayDeque<CompletableFuture<RpcFrameCodec.Response>> inFlight = new ArrayDeque<>();

        Pipeline(FrameConnection<RpcFrameCodec.Hello> connection, RpcCounters.Operation operation) {
            this.connection = connection;
            this.operation = operation;
        }

        void send(ByteBuf frame) {
            if (inFlight.size() >= PIPELINE_DEPTH) {
                awaitOldest();
            }
            inFlight.add(RpcKV.this.send(connection, operation, frame));
        }

        void awaitAll() {
            while (!inFlight.isEmpty()) {
                awaitOldest();
            }
        }

        private void awaitOldest() {
            RpcFrameCodec.Response response = ok(connection, await(connection, inFlight.poll()));
            decode(connection, () -> {
                RpcFrameCodec.decodeDone(response);
                return null;
            });
        }
    }
}
