package io.rolexkv.bench.baseline.rpc;

import java.util.Collections;
import java.util.EnumMap;
import java.util.Map;
import java.util.concurrent.atomic.LongAdder;

/**
 * The rpc client's cost counters, per {@link io.rolexkv.common.kv.BaseKV} operation: calls, round trips (request
 * frames sent, each answered by one response), and frame bytes sent and received, length fields included. Round
 * trips are what the benchmark report puts next to the one-sided engines' doorbells; bytes next to their bytes read
 * and written. Connection set-up (the server's HELLO) is not counted. Safe for concurrent use.
 *
 * <p>An operation that needs several frames counts each: an update is a GET plus one COMPARE_AND_SET per attempt, a
 * batch or scan larger than one frame is several round trips.
 */
public final class RpcCounters {

    /** What the counters are kept per: the BaseKV calls, and the client's request for server statistics. */
    public enum Operation {
        /** {@code get} and {@code getView}. */
        GET,
        PUT,
        DELETE,
        BATCH_GET,
        BATCH_PUT,
        SCAN,
        UPDATE,
        BULK_LOAD,
        CLEAR,
        SERVER_STATS
    }

    private static final Operation[] OPERATIONS = Operation.values();

    private final LongAdder[] calls = adders();
    private final LongAdder[] roundTrips = adders();
    private final LongAdder[] bytesSent = adders();
    private final LongAdder[] bytesReceived = adders();
    private final LongAdder compareAndSetConflicts = new LongAdder();
    /** Per calling thread: requests sent, bytes sent, bytes received; see {@link #callingThreadTotals()}. */
    private final ThreadLocal<long[]> callingThread = ThreadLocal.withInitial(() -> new long[3]);

    private static LongAdder[] adders() {
        LongAdder[] adders = new LongAdder[OPERATIONS.length];
        for (int i = 0; i < adders.length; i++) {
            adders[i] = new LongAdder();
        }
        return adders;
    }

    void recordCall(Operation operation) {
        calls[operation.ordinal()].increment();
    }

    /** One request frame of {@code bytes} sent: one round trip. */
    void recordRequest(Operation operation, long bytes) {
        roundTrips[operation.ordinal()].increment();
        bytesSent[operation.ordinal()].add(bytes);
        long[] mine = callingThread.get(); // requests are sent from the caller's thread
        mine[0]++;
        mine[1] += bytes;
    }

    /** An answer of {@code bytes} the calling thread waited for and took (it may have been read by another thread). */
    void recordReceivedByCallingThread(long bytes) {
        callingThread.get()[2] += bytes;
    }

    /**
     * What the calling thread's own calls have cost so far, in the fabric's terms: round trips as doorbells, bytes
     * received as read, bytes sent as written. A benchmark subtracts two of these around one operation.
     */
    public io.rolexkv.common.fabric.FabricCounters.Snapshot callingThreadTotals() {
        long[] mine = callingThread.get();
        return new io.rolexkv.common.fabric.FabricCounters.Snapshot(mine[0], 0, 0, 0, 0, mine[2], mine[1]);
    }

    void recordResponse(Operation operation, long bytes) {
        bytesReceived[operation.ordinal()].add(bytes);
    }

    /** An update's COMPARE_AND_SET lost to another writer and the update went round again. */
    void recordConflict() {
        compareAndSetConflicts.increment();
    }

    /** A copy for reporting (each field read once; concurrent calls may straddle it). */
    public Snapshot snapshot() {
        Map<Operation, OperationCounts> byOperation = new EnumMap<>(Operation.class);
        for (Operation operation : OPERATIONS) {
            int i = operation.ordinal();
            byOperation.put(operation, new OperationCounts(calls[i].sum(), roundTrips[i].sum(), bytesSent[i].sum(),
                    bytesReceived[i].sum()));
        }
        return new Snapshot(Collections.unmodifiableMap(byOperation), compareAndSetConflicts.sum());
    }

    /** The costs of one operation kind. */
    public record OperationCounts(long calls, long roundTrips, long bytesSent, long bytesReceived) {
        public static final OperationCounts ZERO = new OperationCounts(0, 0, 0, 0);

        public OperationCounts minus(OperationCounts earlier) {
            return new OperationCounts(calls - earlier.calls, roundTrips - earlier.roundTrips,
                    bytesSent - earlier.bytesSent, bytesReceived - earlier.bytesReceived);
        }

        public OperationCounts plus(OperationCounts other) {
            return new OperationCounts(calls + other.calls, roundTrips + other.roundTrips,
                    bytesSent + other.bytesSent, bytesReceived + other.bytesReceived);
        }

        /** Round trips per call, 0 when there were no calls. */
        public double roundTripsPerCall() {
            return calls == 0 ? 0 : (double) roundTrips / calls;
        }
    }

    /**
     * The counters at one moment. Subtract two snapshots to get the cost of what ran between them.
     *
     * @param byOperation            every {@link Operation}, zero where nothing ran
     * @param compareAndSetConflicts update attempts that lost their COMPARE_AND_SET and retried
     */
    public record Snapshot(Map<Operation, OperationCounts> byOperation, long compareAndSetConflicts) {
        public OperationCounts of(Operation operation) {
            return byOperation.getOrDefault(operation, OperationCounts.ZERO);
        }

        /** Everything summed over the operations. */
        public OperationCounts total() {
            OperationCounts total = OperationCounts.ZERO;
            for (OperationCounts counts : byOperation.values()) {
                total = total.plus(counts);
            }
            return total;
        }

        public Snapshot minus(Snapshot earlier) {
            Map<Operation, OperationCounts> difference = new EnumMap<>(Operation.class);
            for (Operation operation : OPERATIONS) {
                difference.put(operation, of(operation).minus(earlier.of(operation)));
            }
            return new Snapshot(Collections.unmodifiableMap(difference),
                    compareAndSetConflicts - earlier.compareAndSetConflicts);
        }
    }
}
