package io.rolexkv.bench.baseline.rpc;

import io.rolexkv.bench.baseline.rpc.RpcCounters.Operation;
import io.rolexkv.bench.baseline.rpc.RpcCounters.OperationCounts;
import io.rolexkv.common.kv.KeyValueBytes;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Supplier;

import static io.rolexkv.bench.baseline.rpc.RpcFrameDescriptor.GET_REQUEST_LENGTH;
import static io.rolexkv.bench.baseline.rpc.RpcFrameDescriptor.RESPONSE_HEADER_LENGTH;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The rpc baseline's costs, exactly: round trips and frame bytes per operation as the client counts them (the figures
 * the benchmark report compares with the one-sided engines' doorbells and bytes), the same requests and bytes as the
 * server counts them, the extra round trip an update pays per lost race, and the extra round trips of batches and
 * scans larger than a frame.
 */
@Timeout(value = 30, unit = TimeUnit.SECONDS)
class RpcKVCostTest {
    private final List<AutoCloseable> opened = new ArrayList<>();

    @AfterEach
    void closeAll() throws Exception {
        for (AutoCloseable closeable : opened.reversed()) {
            closeable.close();
        }
    }

    private RpcKV connect(RpcKVServerSettings settings) {
        RpcKVServer server = RpcKVServer.start(settings);
        opened.add(server);
        return open(server);
    }

    private RpcKV open(RpcKVServer server) {
        RpcKV client = RpcKV.connect(server.endpoint());
        opened.add(client);
        return client;
    }

    /** What {@code call} cost, for the one operation it is counted under. */
    private static <T> OperationCounts cost(RpcKV client, Operation operation, Supplier<T> call) {
        RpcCounters.Snapshot before = client.counters().snapshot();
        call.get();
        RpcCounters.Snapshot spent = client.counters().snapshot().minus(before);
        assertEquals(spent.of(operation), spent.total(), "everything was counted under " + operation);
        return spent.of(operation);
    }

    @Test
    void everyOperationIsOneRoundTripWithTheDescribedBytes() {
        RpcKV client = connect(RpcKVServerSettings.forMaxValueBytes(4096));
        byte[] hundred = new byte[100];

        assertEquals(new OperationCounts(1, 1, RpcFrameDescriptor.putRequestLength(100), RESPONSE_HEADER_LENGTH),
                cost(client, Operation.PUT, () -> {
                    client.put(1, hundred);
                    return null;
                }), "put of 100 bytes");
        assertEquals(new OperationCounts(1, 1, GET_REQUEST_LENGTH, RpcFrameDescriptor.valueResponseLength(hundred)),
                cost(client, Operation.GET, () -> client.get(1)), "get of 100 bytes");
        assertEquals(new OperationCounts(1, 1, GET_REQUEST_LENGTH, RpcFrameDescriptor.valueResponseLength(null)),
                cost(client, Operation.GET, () -> client.get(2)), "get of a missing key");
        assertEquals(new OperationCounts(1, 1, GET_REQUEST_LENGTH, RpcFrameDescriptor.valueResponseLength(hundred)),
                cost(client, Operation.GET, () -> client.getView(1)), "getView counts as a get");
        assertEquals(new OperationCounts(1, 1, RpcFrameDescriptor.DELETE_REQUEST_LENGTH,
                RpcFrameDescriptor.DELETE_RESPONSE_LENGTH), cost(client, Operation.DELETE, () -> client.delete(1)));

        assertEquals(1, cost(client, Operation.BATCH_PUT, () -> {
            client.batchPut(new long[] {1, 2, 3}, List.of(hundred, hundred, hundred));
            return null;
        }).roundTrips());
        assertEquals(new OperationCounts(1, 1, RpcFrameDescriptor.batchGetRequestLength(4),
                        RpcFrameDescriptor.BATCH_GET_RESPONSE_FIXED_LENGTH + 3L * (4 + 100) + 4),
                cost(client, Operation.BATCH_GET, () -> client.batchGet(new long[] {1, 2, 3, 4})));
        assertEquals(new OperationCounts(1, 1, RpcFrameDescriptor.SCAN_REQUEST_LENGTH,
                        RpcFrameDescriptor.SCAN_RESPONSE_FIXED_LENGTH + 3L * (RpcFrameDescriptor.PAIR_HEADER_BYTES + 100)),
                cost(client, Operation.SCAN, () -> client.scan(0, 10)));
        assertEquals(1, cost(client, Operation.BULK_LOAD, () -> {
            client.bulkLoad(new long[] {1, 2}, List.of(hundred, hundred));
            return null;
        }).roundTrips());
        assertEquals(new OperationCounts(1, 1, RpcFrameDescriptor.HEADER_LENGTH, RESPONSE_HEADER_LENGTH),
                cost(client, Operation.CLEAR, () -> {
                    client.clear();
                    return null;
                }));
    }

    @Test
    void callsThatNeedNoServerWorkCostNoRoundTrip() {
        RpcKV client = connect(RpcKVServerSettings.forMaxValueBytes(4096));
        assertEquals(new OperationCounts(1, 0, 0, 0), cost(client, Operation.BATCH_GET, () -> client.batchGet(new long[0])));
        assertEquals(new OperationCounts(1, 0, 0, 0), cost(client, Operation.BATCH_PUT, () -> {
            client.batchPut(new long[0], List.of());
            return null;
        }));
        assertEquals(new OperationCounts(1, 0, 0, 0), cost(client, Operation.SCAN, () -> client.scan(0, -1L, 0)));
        assertEquals(new OperationCounts(1, 0, 0, 0), cost(client, Operation.SCAN, () -> client.scan(9, 3, 10)));
    }

    @Test
    void anUncontendedUpdateIsAGetAndOneCompareAndSet() {
        RpcKV client = connect(RpcKVServerSettings.forMaxValueBytes(4096));
        byte[] counter = new byte[8];
        OperationCounts update = cost(client, Operation.UPDATE, () -> client.update(5, current -> Optional.of(counter)));
        assertEquals(new OperationCounts(1, 2,
                GET_REQUEST_LENGTH + RpcFrameDescriptor.compareAndSetRequestLength(null, counter),
                RpcFrameDescriptor.valueResponseLength(null) + RESPONSE_HEADER_LENGTH), update, "update of a missing key");
        assertEquals(0, client.counters().snapshot().compareAndSetConflicts());
    }

    @Test
    void aWriteBetweenReadAndSwapCostsOneMoreRoundTripAndTheUpdateSeesIt() throws Exception {
        RpcKVServer server = RpcKVServer.start(RpcKVServerSettings.forMaxValueBytes(4096));
        opened.add(server);
        RpcKV updater = open(server);
        RpcKV other = open(server);
        updater.put(5, new byte[] {1});
        AtomicInteger runs = new AtomicInteger();
        List<byte[]> seen = new ArrayList<>();
        OperationCounts update = cost(updater, Operation.UPDATE, () -> updater.update(5, current -> {
            seen.add(current.orElseThrow());
            if (runs.incrementAndGet() == 1) {
                // Another client writes after the update read the value and before it swaps: the swap must lose.
                other.put(5, new byte[] {2});
            }
            byte[] next = current.orElseThrow().clone();
            next[0] += 10;
            return Optional.of(next);
        }));
        assertEquals(2, runs.get(), "the function ran again after the lost race");
        assertArrayEquals(new byte[] {1}, seen.get(0));
        assertArrayEquals(new byte[] {2}, seen.get(1), "the retry saw the other client's write, sent with the conflict");
        assertArrayEquals(new byte[] {12}, updater.get(5).orElseThrow(), "the other write was not lost");
        assertEquals(3, update.roundTrips(), "get, lost compare-and-set, won compare-and-set: no second get");
        assertEquals(1, updater.counters().snapshot().compareAndSetConflicts());
    }

    @Test
    void batchesAndScansLargerThanAFrameTakeSeveralRoundTrips() {
        int maxValueBytes = 1000;
        RpcKV client = connect(new RpcKVServerSettings(maxValueBytes,
                (int) RpcFrameDescriptor.minMaxFrameBytes(maxValueBytes), 1));
        // The smallest frame for 1000-byte values holds two of them with their headers, not three.
        long[] keys = new long[10];
        List<byte[]> values = new ArrayList<>();
        for (int i = 0; i < keys.length; i++) {
            keys[i] = i * 7L;
            byte[] value = new byte[maxValueBytes];
            value[0] = (byte) i;
            values.add(value);
        }
        assertEquals(5, cost(client, Operation.BATCH_PUT, () -> {
            client.batchPut(keys, values);
            return null;
        }).roundTrips(), "ten pairs, two per frame");

        List<Optional<byte[]>> read = new ArrayList<>();
        assertEquals(5, cost(client, Operation.BATCH_GET, () -> read.addAll(client.batchGet(keys))).roundTrips(),
                "ten values, two per answer: the server answers part and the client asks again");
        for (int i = 0; i < keys.length; i++) {
            assertArrayEquals(values.get(i), read.get(i).orElseThrow(), "value " + i);
        }

        List<KeyValueBytes> scanned = new ArrayList<>();
        assertEquals(5, cost(client, Operation.SCAN, () -> scanned.addAll(client.scan(0, 100))).roundTrips(),
                "ten pairs, two per page");
        assertEquals(10, scanned.size());
        for (int i = 0; i < keys.length; i++) {
            assertEquals(new KeyValueBytes(keys[i], values.get(i)), scanned.get(i));
        }
        assertEquals(3, cost(client, Operation.SCAN, () -> client.scan(0, 5)).roundTrips(),
                "a limit of five stops after the third page");

        assertEquals(5, cost(client, Operation.BULK_LOAD, () -> {
            client.bulkLoad(keys, values);
            return null;
        }).roundTrips(), "ten pairs, two per frame, the first frame replacing");
        assertEquals(10, client.scan(0, 100).size(), "the appending frames did not wipe the first");
    }

    @Test
    void theServerCountsTheSameRequestsAndBytesAndReportsItsCpu() {
        RpcKV client = connect(RpcKVServerSettings.forMaxValueBytes(4096));
        RpcServerStats before = client.serverStats();
        RpcCounters.Snapshot clientBefore = client.counters().snapshot();
        for (int i = 0; i < 200; i++) {
            client.put(i, new byte[i]);
            client.get(i);
            client.update(i, current -> Optional.of(new byte[1]));
        }
        client.scan(0, 1000);
        RpcServerStats after = client.serverStats();
        RpcServerStats server = after.minus(before);
        OperationCounts spent = client.counters().snapshot().minus(clientBefore).total();

        // Both sides count the second stats request: the server before it answers, the client as it sends it.
        assertEquals(spent.roundTrips(), server.requests(), "one server request per client round trip");
        assertEquals(spent.bytesSent(), server.bytesReceived());
        // The server counts a stats answer only after it is built, so the first one falls in this window and the
        // second one does not; the client counts both sides the other way round. Equal sizes: the totals agree.
        assertEquals(spent.bytesReceived(), server.bytesSent());
        assertTrue(server.ioThreadCpuNanos() > 0, "the server's threads did work: " + server);
        assertTrue(after.processCpuNanos() > 0, "the process reports its cpu: " + after);
    }
}
