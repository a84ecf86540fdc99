package io.rolexkv.bench.baseline.rpc;

import io.rolexkv.common.net.FrameHeader;
import io.rolexkv.common.net.NetSettings;
import io.netty.buffer.UnpooledByteBufAllocator;
import io.rolexkv.common.fabric.ConnectionLostException;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.function.Executable;

import java.net.InetAddress;
import java.net.ServerSocket;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Random;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Supplier;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The rpc client when the server dies, goes silent, sends garbage or is not there: every pending and later call fails
 * promptly with {@link ConnectionLostException} naming the endpoint, and nothing hangs. "Promptly" is held by the
 * class timeout and by waits far shorter than the default response timeout, never by measuring wall time.
 */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class RpcKVFailureTest {
    /** Far below the default response timeout: a call that fails within it failed because the connection died. */
    private static final long PROMPT_SECONDS = 10;
    private static final int MAX_VALUE_BYTES = 4096;
    private static final int MAX_FRAME_BYTES = 1 << 20;
    /** A scripted server accepts one connection. */
    private static final NetSettings ONE_CONNECTION = NetSettings.DEFAULT.withConnections(1);

    @Test
    void serverClosedMidLoadFailsEveryCallerPromptlyAndEveryLaterCall() throws Exception {
        RpcKVServer server = RpcKVServer.start(RpcKVServerSettings.forMaxValueBytes(MAX_VALUE_BYTES));
        try (RpcKV client = RpcKV.connect(server.endpoint(), NetSettings.DEFAULT.withConnections(2))) {
            AtomicLong completed = new AtomicLong();
            List<Future<Throwable>> workers = new ArrayList<>();
            try (ExecutorService threads = Executors.newVirtualThreadPerTaskExecutor()) {
                for (int t = 0; t < 8; t++) {
                    long seed = t;
                    workers.add(threads.submit(() -> loadUntilFailure(client, seed, completed)));
                }
                while (completed.get() < 500) {
                    Thread.sleep(1);
                    for (Future<Throwable> worker : workers) {
                        if (worker.isDone()) {
                            throw new AssertionError("a worker stopped before the server died", worker.get());
                        }
                    }
                }
                server.close();
                for (Future<Throwable> worker : workers) {
                    Throwable failure = worker.get(PROMPT_SECONDS, TimeUnit.SECONDS);
                    assertInstanceOf(ConnectionLostException.class, failure, "every caller sees the loss: " + failure);
                    assertTrue(failure.getMessage().contains(server.endpoint()), failure.getMessage());
                }
            }
            assertEveryCallFailsWithConnectionLost(client);
        } finally {
            server.close();
        }
    }

    /** Runs mixed calls until one throws; returns what it threw. */
    private static Throwable loadUntilFailure(RpcKV client, long seed, AtomicLong completed) {
        Random random = new Random(seed);
        try {
            while (true) {
                long key = random.nextInt(64);
                switch (random.nextInt(4)) {
                    case 0 -> client.put(key, new byte[random.nextInt(MAX_VALUE_BYTES)]);
                    case 1 -> client.get(key);
                    case 2 -> client.update(key, current -> Optional.of(new byte[8]));
                    default -> client.batchPut(new long[] {key, key + 1}, List.of(new byte[100], new byte[200]));
                }
                completed.incrementAndGet();
            }
        } catch (RuntimeException e) {
            return e;
        }
    }

    @Test
    void aPendingCallFailsWhenTheServerDiesWithoutAnswering() throws Exception {
        try (ScriptedServer server = new ScriptedServer(MAX_VALUE_BYTES, MAX_FRAME_BYTES)) {
            try (RpcKV client = RpcKV.connect(server.endpoint(), ONE_CONNECTION)) {
                CompletableFuture<Optional<byte[]>> pending = inVirtualThread(() -> client.get(7));
                byte[] request = server.readFrame();
                assertEquals(RpcRequestType.GET.code(), request[FrameHeader.TYPE_OFFSET],
                        "the get reached the server and waits for its answer");
                server.die();
                ExecutionException failure = assertThrows(ExecutionException.class,
                        () -> pending.get(PROMPT_SECONDS, TimeUnit.SECONDS));
                assertInstanceOf(ConnectionLostException.class, failure.getCause());
                assertTrue(failure.getCause().getMessage().contains(server.endpoint()), failure.getCause().getMessage());
                assertEveryCallFailsWithConnectionLost(client);
            }
        }
    }

    @Test
    void aSilentServerFailsTheCallAfterTheResponseTimeout() throws Exception {
        try (ScriptedServer server = new ScriptedServer(MAX_VALUE_BYTES, MAX_FRAME_BYTES)) {
            NetSettings settings = ONE_CONNECTION.withResponseTimeout(Duration.ofMillis(200));
            try (RpcKV client = RpcKV.connect(server.endpoint(), settings)) {
                ConnectionLostException lost = assertThrows(ConnectionLostException.class, () -> client.put(1, new byte[3]));
                assertTrue(lost.getMessage().contains("response timeout"), lost.getMessage());
                assertEveryCallFailsWithConnectionLost(client);
            }
        }
    }

    @Test
    void aGarbageAnswerClosesTheConnectionAndFailsTheCall() throws Exception {
        try (ScriptedServer server = new ScriptedServer(MAX_VALUE_BYTES, MAX_FRAME_BYTES)) {
            try (RpcKV client = RpcKV.connect(server.endpoint(), ONE_CONNECTION)) {
                CompletableFuture<Boolean> pending = inVirtualThread(() -> client.delete(7));
                server.readFrame();
                // A frame with a good length and a bad magic, as a confused server might send.
                server.send(new byte[] {12, 0, 0, 0, 0x13, 1, (byte) 0x83, 1, 0, 0, 0, 0, 0, 0, 0, 0});
                ExecutionException failure = assertThrows(ExecutionException.class,
                        () -> pending.get(PROMPT_SECONDS, TimeUnit.SECONDS));
                assertInstanceOf(ConnectionLostException.class, failure.getCause());
                assertTrue(failure.getCause().getMessage().contains("bad_frame"), failure.getCause().getMessage());
                assertEveryCallFailsWithConnectionLost(client);
            }
        }
    }

    @Test
    void anAnswerToARequestNeverSentClosesTheConnection() throws Exception {
        try (ScriptedServer server = new ScriptedServer(MAX_VALUE_BYTES, MAX_FRAME_BYTES)) {
            try (RpcKV client = RpcKV.connect(server.endpoint(), ONE_CONNECTION)) {
                CompletableFuture<Optional<byte[]>> pending = inVirtualThread(() -> client.get(7));
                server.readFrame();
                // A well-formed GET answer, but to request id 999 999, which this client never sent.
                server.send(ByteBufs.drain(RpcFrameCodec.encodeReply(UnpooledByteBufAllocator.DEFAULT, 999_999,
                        RpcRequestType.GET, new RpcReply.Value(null))));
                ExecutionException failure = assertThrows(ExecutionException.class,
                        () -> pending.get(PROMPT_SECONDS, TimeUnit.SECONDS));
                assertTrue(failure.getCause().getMessage().contains("unknown request_id=999999"),
                        failure.getCause().getMessage());
            }
        }
    }

    @Test
    void closingTheClientFailsItsPendingCallsAndRefusesLaterOnes() throws Exception {
        try (ScriptedServer server = new ScriptedServer(MAX_VALUE_BYTES, MAX_FRAME_BYTES)) {
            RpcKV client = RpcKV.connect(server.endpoint(), ONE_CONNECTION);
            CompletableFuture<Optional<byte[]>> pending = inVirtualThread(() -> client.get(7));
            server.readFrame();
            client.close();
            ExecutionException failure = assertThrows(ExecutionException.class,
                    () -> pending.get(PROMPT_SECONDS, TimeUnit.SECONDS));
            assertInstanceOf(ConnectionLostException.class, failure.getCause());
            assertTrue(failure.getCause().getMessage().contains("closed by client"), failure.getCause().getMessage());
            assertThrows(IllegalStateException.class, () -> client.get(7));
            client.close();
        }
    }

    @Test
    void connectingWhereNoServerListensFailsWithConnectionLost() throws Exception {
        int port;
        try (ServerSocket probe = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            port = probe.getLocalPort();
        }
        ConnectionLostException lost = assertThrows(ConnectionLostException.class,
                () -> RpcKV.connect("127.0.0.1:" + port));
        assertTrue(lost.getMessage().contains("127.0.0.1:" + port), lost.getMessage());
    }

    @Test
    void aServerThatNeverSaysHelloFailsTheConnect() throws Exception {
        try (ScriptedServer server = new ScriptedServer()) {
            NetSettings settings = ONE_CONNECTION.withConnectTimeout(Duration.ofMillis(300));
            ConnectionLostException lost = assertThrows(ConnectionLostException.class,
                    () -> RpcKV.connect(server.endpoint(), settings));
            assertTrue(lost.getMessage().contains("no hello"), lost.getMessage());
        }
    }

    @Test
    void aHelloWithImpossibleLimitsIsRefused() throws Exception {
        // A max frame too small for two values of the max size: the client could not even send one update.
        try (ScriptedServer server = new ScriptedServer(MAX_VALUE_BYTES, MAX_VALUE_BYTES)) {
            ConnectionLostException lost = assertThrows(ConnectionLostException.class,
                    () -> RpcKV.connect(server.endpoint(), ONE_CONNECTION));
            assertTrue(lost.getMessage().contains("max_frame_bytes"), lost.getMessage());
        }
    }

    /** Runs {@code call} on a virtual thread of its own. */
    private static <T> CompletableFuture<T> inVirtualThread(Supplier<T> call) {
        CompletableFuture<T> result = new CompletableFuture<>();
        Thread.ofVirtual().start(() -> {
            try {
                result.complete(call.get());
            } catch (Throwable e) {
                result.completeExceptionally(e);
            }
        });
        return result;
    }

    private static void assertEveryCallFailsWithConnectionLost(RpcKV client) {
        Map<String, Executable> calls = new LinkedHashMap<>();
        calls.put("get", () -> client.get(1));
        calls.put("getView", () -> client.getView(1));
        calls.put("put", () -> client.put(1, new byte[1]));
        calls.put("delete", () -> client.delete(1));
        calls.put("batchGet", () -> client.batchGet(new long[] {1, 2}));
        calls.put("batchPut", () -> client.batchPut(new long[] {1}, List.of(new byte[1])));
        calls.put("scan", () -> client.scan(0, 10));
        calls.put("update", () -> client.update(1, current -> current));
        calls.put("bulkLoad", () -> client.bulkLoad(new long[] {1}, List.of(new byte[1])));
        calls.put("clear", client::clear);
        calls.put("serverStats", client::serverStats);
        for (Map.Entry<String, Executable> call : calls.entrySet()) {
            assertThrows(ConnectionLostException.class, call.getValue(), call.getKey() + " after the loss");
        }
    }
}
