package io.rolexkv.common.fabric;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.Executor;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;

/**
 * A connection to one memory node that survives the node's restart: when the transport's connection breaks, it opens a
 * new one to the same endpoint (with the transport's handshake, the cluster secret included) with bounded, jittered
 * exponential backoff, and marks the node down if that does not succeed within {@link Policy#deadlineMillis()}. It is
 * the one place compute nodes reconnect, whatever the transport, so no caller handles it on its own.
 *
 * <h2>What a caller sees</h2>
 * <ul>
 *   <li>A batch in flight when the connection breaks: a pure READ batch is posted again on the new connection (reading
 *       twice changes nothing); a batch with any WRITE, CAS or FAA fails with {@link ConnectionLostException}, outcome
 *       unknown, since some of its verbs may have run before the break.</li>
 *   <li>A batch posted while the node is being reconnected waits for the new connection (at most until the deadline)
 *       and is then sent as usual: nothing of it reached the node before, so sending it later is the same as sending it
 *       late. So {@link #post} may block while a reconnect is under way, and callers do not spin on failures.</li>
 *   <li>Once the node is marked down (deadline passed, another node answers at the endpoint, or the node came back
 *       without its data), every batch fails at once with {@link MemoryNodeDownException} naming the node, the
 *       endpoint and why; the node stays down for this connection.</li>
 * </ul>
 * The new connection must reach the same node: the same memory node id and the same regions (names, ids, sizes) as
 * the first HELLO said; anything else marks the node down, since the caller's addresses would point elsewhere. And it
 * must reach the same memory: a node that came back without its data (restarted without {@code --data-dir}, or
 * another process of the same config on the port) answers with another {@link FabricConnection#incarnation()}, and is
 * marked down with {@link MemoryNodeDataLostException} rather than served from: what the caller cached (models, value
 * addresses) would point into empty memory and read as absent keys, not as an error. A node that kept its memory
 * keeps its incarnation; locks it held stay held.
 *
 * <p>Costs: {@link #counters()} are this connection's across every reconnect (each transport connection records on a
 * child of them), and so add to the {@code totals} given.
 */
public final class ReconnectingConnection implements FabricConnection {
    private static final Logger LOG = LoggerFactory.getLogger(ReconnectingConnection.class);
    /** Times a batch is posted again after a lost connection before it fails: a batch that breaks every connection. */
    static final int MAX_READ_RETRIES = 3;
    private static final Executor RETRIES = command -> Thread.ofVirtual().name("rolexkv-read-retry").start(command);

    /**
     * How a broken connection is replaced.
     *
     * @param deadlineMillis       how long the node may stay unreachable before it is marked down; 0: down at the
     *                             first failed attempt
     * @param initialBackoffMillis the first wait between attempts, doubled after each failed one
     * @param maxBackoffMillis     the longest wait between attempts; each wait is drawn between half of it and all
     */
    public record Policy(long deadlineMillis, long initialBackoffMillis, long maxBackoffMillis) {
        public static final long DEADLINE_MILLIS_DEFAULT = 30_000;
        public static final Policy DEFAULT = withDeadline(DEADLINE_MILLIS_DEFAULT);

        public Policy {
            if (deadlineMillis < 0 || initialBackoffMillis < 1 || maxBackoffMillis < initialBackoffMillis) {
                throw new IllegalArgumentException("deadline_ms=" + deadlineMillis + " initial_backoff_ms="
                        + initialBackoffMillis + " max_backoff_ms=" + maxBackoffMillis
                        + " need deadline>=0 and 1<=initial<=max");
            }
        }

        /** The default backoff (20 ms doubling up to 1 s: a restarted node is found within about a second). */
        public static Policy withDeadline(long deadlineMillis) {
            return new Policy(deadlineMillis, 20, 1_000);
        }
    }

    private final FabricTransport transport;
    private final String endpoint;
    private final Policy policy;
    private final FabricCounters counters;
    private final int memoryNodeId;
    private final long incarnation;
    private final List<RegionInfo> regions;
    private final AtomicLong connectAttempts = new AtomicLong();
    private final AtomicLong reconnects = new AtomicLong();
    private final Object lock = new Object();
    private volatile FabricConnection current;
    /** The reconnect under way, or null; guarded by {@link #lock}. */
    private volatile CompletableFuture<FabricConnection> reconnecting;
    private Thread reconnector;
    private volatile MemoryNodeDownException down;
    private volatile boolean closed;

    /**
     * Connects to {@code endpoint} now; a node that cannot be reached at open fails as
     * {@link FabricTransport#connect} does (no retries: a wrong endpoint should say so at once).
     */
    public ReconnectingConnection(FabricTransport transport, String endpoint, FabricCounters totals, Policy policy) {
        this.transport = transport;
        this.endpoint = endpoint;
        this.policy = policy;
        this.counters = new FabricCounters(totals);
        connectAttempts.incrementAndGet();
        FabricConnection first = transport.connect(endpoint, counters);
        this.current = first;
        this.memoryNodeId = first.memoryNodeId();
        this.incarnation = first.incarnation();
        this.regions = List.copyOf(first.regions());
    }

    @Override
    public int memoryNodeId() {
        return memoryNodeId;
    }

    /** The incarnation of the first connection's HELLO; every reconnect must find the same one. */
    @Override
    public long incarnation() {
        return incarnation;
    }

    @Override
    public List<RegionInfo> regions() {
        return regions;
    }

    /** The {@code host:port} (or loopback name) this connection reaches. */
    public String endpoint() {
        return endpoint;
    }

    /** Connections tried so far, the first one included: what shows that a reconnect backs off instead of spinning. */
    public long connectAttempts() {
        return connectAttempts.get();
    }

    /** Times a broken connection was replaced. */
    public long reconnects() {
        return reconnects.get();
    }

    /**
     * Whether a connection is up now: not being replaced, not down, not closed. For work that should not wait for a
     * node that is away, such as what an engine does on close.
     */
    public boolean isConnected() {
        return !closed && down == null && reconnecting == null && current.isOpen();
    }

    /** Whether the node is marked down. */
    public boolean isDown() {
        return down != null;
    }

    @Override
    public CompletableFuture<BatchResult> post(DoorbellBatch batch) {
        return post(batch, 0);
    }

    private CompletableFuture<BatchResult> post(DoorbellBatch batch, int retries) {
        FabricConnection connection;
        try {
            connection = usableConnection();
        } catch (FabricException e) {
            return CompletableFuture.failedFuture(e);
        }
        return connection.post(batch).exceptionallyCompose(failure -> afterFailure(batch, retries, connection, failure));
    }

    private CompletableFuture<BatchResult> afterFailure(DoorbellBatch batch, int retries, FabricConnection broken,
                                                        Throwable failure) {
        Throwable cause = failure instanceof CompletionException && failure.getCause() != null ? failure.getCause() : failure;
        if (!(cause instanceof ConnectionLostException) || closed) {
            return CompletableFuture.failedFuture(cause);
        }
        startReconnect(broken, cause);
        if (postsAgain(batch, retries)) {
            // Not on this thread: it may be the one reading completions, which must not block.
            return CompletableFuture.supplyAsync(() -> post(batch, retries + 1), RETRIES).thenCompose(next -> next);
        }
        return CompletableFuture.failedFuture(lostInFlight(batch, retries, cause));
    }

    /**
     * {@link #post}'s semantics on the caller's thread: a pure READ batch that finds the connection broken is executed
     * again on the next one, anything else fails with its outcome unknown. The caller waits on the transport's own
     * completion, with no stage attached to it, so over tcp it reads its answer itself rather than being handed it by
     * another thread.
     */
    @Override
    public BatchResult execute(DoorbellBatch batch) {
        for (int retries = 0; ; retries++) {
            FabricConnection connection = usableConnection();
            try {
                return connection.execute(batch);
            } catch (ConnectionLostException lost) {
                afterLost(batch, retries, connection, lost);
            }
        }
    }

    /**
     * As {@link #execute(DoorbellBatch)}, the completion written into {@code into} by the connection underneath (so a
     * transport that fills it in place allocates nothing here either).
     */
    @Override
    public void execute(DoorbellBatch batch, CompletionBuffer into) {
        for (int retries = 0; ; retries++) {
            FabricConnection connection = usableConnection();
            try {
                connection.execute(batch, into);
                return;
            } catch (ConnectionLostException lost) {
                afterLost(batch, retries, connection, lost);
            }
        }
    }

    /** After {@code batch} was lost in flight on {@code broken}: reconnects, and returns to retry it or throws why not. */
    private void afterLost(DoorbellBatch batch, int retries, FabricConnection broken, ConnectionLostException lost) {
        if (closed) {
            throw lost;
        }
        startReconnect(broken, lost);
        if (!postsAgain(batch, retries)) {
            throw lostInFlight(batch, retries, lost);
        }
    }

    /** Whether a batch that was in flight on a broken connection {@code retries} times is posted once more. */
    private static boolean postsAgain(DoorbellBatch batch, int retries) {
        return isReadOnly(batch) && retries < MAX_READ_RETRIES;
    }

    /** What a batch in flight on a broken connection fails with when it is not posted again. */
    private ConnectionLostException lostInFlight(DoorbellBatch batch, int retries, Throwable cause) {
        String what = isReadOnly(batch) ? "READs only, after " + retries + " reconnects" : "not all READs";
        return new ConnectionLostException("memory node " + memoryNodeId + " at endpoint=" + endpoint
                + ": the connection broke with a doorbell of " + batch.size() + " verbs in flight (" + what
                + "): outcome unknown (reconnecting); " + cause.getMessage(), cause);
    }

    private static boolean isReadOnly(DoorbellBatch batch) {
        for (int i = 0; i < batch.size(); i++) {
            if (batch.kind(i) != VerbKind.READ) {
                return false;
            }
        }
        return true;
    }

    /** An open connection: the current one, or the next one once a reconnect has made it. */
    private FabricConnection usableConnection() {
        FabricConnection connection = current;
        if (connection.isOpen() && down == null && !closed) {
            return connection;
        }
        CompletableFuture<FabricConnection> next = startReconnect(connection, null);
        try {
            return next.get();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new FabricException("interrupted while waiting to reconnect to memory node " + memoryNodeId
                    + " at endpoint=" + endpoint, e);
        } catch (ExecutionException e) {
            throw switch (e.getCause()) {
                case MemoryNodeDownException nodeDown -> nodeDown.copy();
                case FabricException other -> new ConnectionLostException(other.getMessage(), other);
                default -> new FabricException("reconnect to endpoint=" + endpoint + " failed: " + e.getCause(), e.getCause());
            };
        }
    }

    /**
     * The reconnect that replaces {@code broken}: the one under way, a fresh one, or a completed future if {@code broken}
     * was already replaced (or a failed one if the node is down or this is closed).
     */
    private CompletableFuture<FabricConnection> startReconnect(FabricConnection broken, Throwable cause) {
        synchronized (lock) {
            if (down != null) {
                return CompletableFuture.failedFuture(down);
            }
            if (closed) {
                return CompletableFuture.failedFuture(closedException());
            }
            if (current != broken && current.isOpen()) {
                return CompletableFuture.completedFuture(current);
            }
            if (reconnecting == null) {
                CompletableFuture<FabricConnection> next = new CompletableFuture<>();
                reconnecting = next;
                String why = cause != null ? cause.getMessage() : broken.toString() + " closed";
                LOG.warn("lost memory_node={} endpoint={}: {}; reconnecting (deadline {} ms)", memoryNodeId, endpoint,
                        why, policy.deadlineMillis());
                broken.close();
                reconnector = Thread.ofPlatform().daemon().name("rolexkv-reconnect-" + endpoint)
                        .start(() -> reconnect(next, cause));
            }
            return reconnecting;
        }
    }

    /** Tries to connect until it works or the deadline passes; completes {@code next} either way. */
    private void reconnect(CompletableFuture<FabricConnection> next, Throwable lostCause) {
        long start = System.nanoTime();
        long deadline = start + TimeUnit.MILLISECONDS.toNanos(policy.deadlineMillis());
        long backoffMillis = policy.initialBackoffMillis();
        Throwable last = lostCause;
        while (!closed) {
            connectAttempts.incrementAndGet();
            FabricConnection fresh = null;
            try {
                fresh = transport.connect(endpoint, counters);
            } catch (io.rolexkv.common.net.AuthenticationFailedException e) {
                markDown(next, down("it refused this compute node's cluster secret after a restart", e));
                return;
            } catch (IllegalStateException e) {
                // The transport itself is closed: no attempt can succeed.
                markDown(next, down("cannot reconnect: " + e.getMessage(), e));
                return;
            } catch (RuntimeException e) {
                last = e;
            }
            if (fresh != null) {
                MemoryNodeDownException mismatch = sameMemory(fresh);
                if (mismatch != null) {
                    fresh.close();
                    markDown(next, mismatch);
                    return;
                }
                synchronized (lock) {
                    if (closed) {
                        fresh.close();
                        break;
                    }
                    current = fresh;
                    reconnecting = null;
                    reconnector = null;
                }
                reconnects.incrementAndGet();
                LOG.info("reconnected to memory_node={} endpoint={} after {} ms", memoryNodeId, endpoint,
                        TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - start));
                next.complete(fresh);
                return;
            }
            long left = deadline - System.nanoTime();
            if (left <= 0) {
                markDown(next, down("no reconnect succeeded within reconnect_deadline_ms=" + policy.deadlineMillis()
                        + "; last error: " + (last == null ? "none" : last.getMessage()), last));
                return;
            }
            long waitMillis = backoffMillis / 2 + ThreadLocalRandom.current().nextLong(backoffMillis / 2 + 1);
            try {
                Thread.sleep(Math.min(TimeUnit.MILLISECONDS.toNanos(waitMillis), left) / 1_000_000L + 1);
            } catch (InterruptedException e) {
                break; // closed
            }
            backoffMillis = Math.min(backoffMillis * 2, policy.maxBackoffMillis());
        }
        next.completeExceptionally(closedException());
    }

    /**
     * Why {@code fresh} does not reach the memory this connection was opened to (another node, other regions, or the
     * same node without its data), or null if it does.
     */
    private MemoryNodeDownException sameMemory(FabricConnection fresh) {
        if (fresh.memoryNodeId() != memoryNodeId) {
            return down("another memory node answers there now: memory_node=" + fresh.memoryNodeId(), null);
        }
        if (!fresh.regions().equals(regions)) {
            return down("it came back with other regions: " + fresh.regions() + " (was " + regions + ")", null);
        }
        if (fresh.incarnation() != incarnation) {
            return new MemoryNodeDataLostException(memoryNodeId, endpoint, fresh.incarnation(), incarnation);
        }
        return null;
    }

    private MemoryNodeDownException down(String reason, Throwable cause) {
        return new MemoryNodeDownException(memoryNodeId, endpoint, reason, cause);
    }

    private void markDown(CompletableFuture<FabricConnection> next, MemoryNodeDownException nodeDown) {
        synchronized (lock) {
            down = nodeDown;
            reconnecting = null;
            reconnector = null;
        }
        LOG.error("{}", nodeDown.getMessage());
        next.completeExceptionally(nodeDown);
    }

    private ConnectionLostException closedException() {
        return new ConnectionLostException("connection to memory node " + memoryNodeId + " at endpoint=" + endpoint
                + " is closed");
    }

    @Override
    public FabricCounters counters() {
        return counters;
    }

    /** True until closed or marked down; a connection being reconnected is open. */
    @Override
    public boolean isOpen() {
        return !closed && down == null;
    }

    @Override
    public void close() {
        Thread waiting;
        synchronized (lock) {
            if (closed) {
                return;
            }
            closed = true;
            waiting = reconnector;
        }
        if (waiting != null) {
            waiting.interrupt();
        }
        current.close();
    }

    @Override
    public String toString() {
        return "ReconnectingConnection[memoryNode=" + memoryNodeId + " endpoint=" + endpoint + " open=" + isOpen()
                + " reconnects=" + reconnects() + "]";
    }
}
