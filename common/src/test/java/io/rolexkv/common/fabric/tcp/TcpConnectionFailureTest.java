package io.rolexkv.common.fabric.tcp;

import io.rolexkv.common.net.NetSettings;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import io.netty.buffer.ByteBufUtil;
import io.rolexkv.common.fabric.BatchResult;
import io.rolexkv.common.fabric.ConnectionLostException;
import io.rolexkv.common.fabric.DoorbellBatch;
import io.rolexkv.common.fabric.FabricConnection;
import io.rolexkv.common.fabric.FabricLimits;
import io.rolexkv.common.fabric.FabricServer;
import io.rolexkv.common.fabric.GlobalAddress;
import io.rolexkv.common.fabric.RegionInfo;
import io.rolexkv.common.fabric.RegisteredMemory;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Queue;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Every way a connection can go wrong ends the same way: each pending and each later batch fails promptly with a
 * {@link ConnectionLostException} naming the memory node and endpoint. Nothing hangs: each test has a timeout, and
 * waits on futures are bounded far above what a prompt failure needs.
 */
@Timeout(60)
class TcpConnectionFailureTest {
    /** Far above what a prompt failure takes; only a hang reaches it. */
    private static final long BOUND_SECONDS = 20;

    @Test
    void nodeDeathFailsEveryPendingBatchAndEveryLaterPost() throws Exception {
        RegisteredMemory memory = TcpTestSupport.newMemory();
        try (TcpTransport transport = new TcpTransport()) {
            FabricServer server = transport.serve(memory, TcpTestSupport.LOCALHOST_ANY_PORT);
            List<FabricConnection> connections = List.of(transport.connect(server.endpoint(), null),
                    transport.connect(server.endpoint(), null), transport.connect(server.endpoint(), null));
            Queue<CompletableFuture<BatchResult>> posted = new ConcurrentLinkedQueue<>();
            CountDownLatch warmedUp = new CountDownLatch(300);
            List<Thread> posters = new ArrayList<>();
            for (int t = 0; t < 6; t++) {
                FabricConnection connection = connections.get(t % connections.size());
                long word = GlobalAddress.of(TcpTestSupport.MEMORY_NODE, 0, 8L * t);
                posters.add(Thread.ofVirtual().start(() -> postUntilRefused(connection, word, posted, warmedUp)));
            }
            assertTrue(warmedUp.await(BOUND_SECONDS, TimeUnit.SECONDS), "batches were not being served");

            server.close();

            for (Thread poster : posters) {
                assertTrue(poster.join(Duration.ofSeconds(BOUND_SECONDS)), "a poster hung after the node died");
            }
            CompletableFuture.allOf(posted.toArray(CompletableFuture[]::new))
                    .handle((ignored, failure) -> null).get(BOUND_SECONDS, TimeUnit.SECONDS);
            int lost = 0;
            for (CompletableFuture<BatchResult> completion : posted) {
                if (completion.isCompletedExceptionally()) {
                    assertNamesNodeAndEndpoint(assertLost(completion), server.endpoint());
                    lost++;
                }
            }
            assertTrue(lost >= posters.size(), "each poster stops at its first lost batch; lost=" + lost);
            for (FabricConnection connection : connections) {
                assertFalse(connection.isOpen());
                CompletableFuture<BatchResult> later = connection.post(oneRead());
                assertTrue(later.isDone(), "a post on a dead connection must fail at once");
                assertNamesNodeAndEndpoint(assertLost(later), server.endpoint());
            }
        } finally {
            memory.close();
        }
    }

    /** Posts small batches, keeping several in flight, until one fails. */
    private static void postUntilRefused(FabricConnection connection, long word, Queue<CompletableFuture<BatchResult>> posted,
                                         CountDownLatch served) {
        List<CompletableFuture<BatchResult>> window = new ArrayList<>();
        while (true) {
            for (int i = 0; i < 4; i++) {
                DoorbellBatch batch = new DoorbellBatch();
                batch.fetchAndAdd(word, 1);
                batch.read(word, 8);
                CompletableFuture<BatchResult> completion = connection.post(batch);
                posted.add(completion);
                window.add(completion);
            }
            for (CompletableFuture<BatchResult> completion : window) {
                try {
                    completion.get();
                    served.countDown();
                } catch (InterruptedException | ExecutionException e) {
                    return;
                }
            }
            window.clear();
        }
    }

    @Test
    void unreachableEndpointFailsNamingIt() throws IOException {
        int freePort;
        try (ServerSocket probe = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            freePort = probe.getLocalPort();
        }
        String endpoint = "127.0.0.1:" + freePort;
        try (TcpTransport transport = new TcpTransport()) {
            ConnectionLostException e = assertThrows(ConnectionLostException.class, () -> transport.connect(endpoint, null));
            assertTrue(e.getMessage().contains("endpoint=" + endpoint), e.getMessage());
        }
    }

    @Test
    void nodeThatNeverSaysHelloFailsTheConnectWithinTheTimeout() throws Exception {
        try (FakeNode node = new FakeNode(false, FakeNode.Answer.NOTHING);
             TcpTransport transport = new TcpTransport(FabricLimits.DEFAULT,
                     NetSettings.DEFAULT.withConnectTimeout(Duration.ofMillis(300)))) {
            ConnectionLostException e = assertThrows(ConnectionLostException.class, () -> transport.connect(node.endpoint(), null));
            assertTrue(e.getMessage().contains("no hello") && e.getMessage().contains("endpoint=" + node.endpoint()), e.getMessage());
        }
    }

    @Test
    void nodeThatStopsAnsweringFailsTheBatchAfterTheCompletionTimeoutAndClosesTheConnection() throws Exception {
        try (FakeNode node = new FakeNode(true, FakeNode.Answer.NOTHING);
             TcpTransport transport = new TcpTransport(FabricLimits.DEFAULT,
                     NetSettings.DEFAULT.withResponseTimeout(Duration.ofMillis(200)))) {
            FabricConnection connection = transport.connect(node.endpoint(), null);
            CompletableFuture<BatchResult> first = connection.post(oneRead());
            CompletableFuture<BatchResult> second = connection.post(oneRead());
            ConnectionLostException e = assertLost(first);
            assertTrue(e.getMessage().contains("response timeout"), e.getMessage());
            assertNamesNodeAndEndpoint(e, node.endpoint());
            assertLost(second);
            assertFalse(connection.isOpen());
            assertTrue(connection.post(oneRead()).isCompletedExceptionally());
        }
    }

    @Test
    void clientCloseFailsPendingBatches() throws Exception {
        try (FakeNode node = new FakeNode(true, FakeNode.Answer.NOTHING);
             TcpTransport transport = new TcpTransport()) {
            FabricConnection connection = transport.connect(node.endpoint(), null);
            CompletableFuture<BatchResult> pending = connection.post(oneRead());
            connection.close();
            assertTrue(assertLost(pending).getMessage().contains("closed by client"));
            assertTrue(connection.post(oneRead()).isCompletedExceptionally());
            connection.close();
        }
    }

    @Test
    void nodeThatAnswersGarbageLosesTheConnection() throws Exception {
        try (FakeNode node = new FakeNode(true, FakeNode.Answer.GARBAGE);
             TcpTransport transport = new TcpTransport()) {
            FabricConnection connection = transport.connect(node.endpoint(), null);
            ConnectionLostException e = assertLost(connection.post(oneRead()));
            assertTrue(e.getMessage().contains("bad_frame"), e.getMessage());
            assertFalse(connection.isOpen());
        }
    }

    @Test
    void closingTheTransportClosesItsConnectionsAndServers() {
        RegisteredMemory memory = TcpTestSupport.newMemory();
        try {
            TcpTransport transport = new TcpTransport();
            FabricServer server = transport.serve(memory, TcpTestSupport.LOCALHOST_ANY_PORT);
            FabricConnection connection = transport.connect(server.endpoint(), null);
            connection.execute(oneRead());
            transport.close();
            assertFalse(connection.isOpen());
            assertLost(connection.post(oneRead()));
            try (TcpTransport other = new TcpTransport()) {
                assertThrows(ConnectionLostException.class, () -> other.connect(server.endpoint(), null));
            }
        } finally {
            memory.close();
        }
    }

    private static DoorbellBatch oneRead() {
        DoorbellBatch batch = new DoorbellBatch();
        batch.read(GlobalAddress.of(TcpTestSupport.MEMORY_NODE, 0, 0), 8);
        return batch;
    }

    private static ConnectionLostException assertLost(CompletableFuture<BatchResult> completion) {
        ExecutionException e = assertThrows(ExecutionException.class, () -> completion.get(BOUND_SECONDS, TimeUnit.SECONDS));
        return assertInstanceOf(ConnectionLostException.class, e.getCause());
    }

    private static void assertNamesNodeAndEndpoint(ConnectionLostException e, String endpoint) {
        assertTrue(e.getMessage().contains("memory_node=" + TcpTestSupport.MEMORY_NODE), e.getMessage());
        assertTrue(e.getMessage().contains("endpoint=" + endpoint), e.getMessage());
    }

    /** A misbehaving memory node on a plain server socket: says hello or not, then answers nothing or garbage. */
    private static final class FakeNode implements AutoCloseable {
        enum Answer { NOTHING, GARBAGE }

        private final ServerSocket serverSocket;
        private final List<Socket> accepted = new ArrayList<>();
        private final Thread acceptor;
        private final AtomicInteger requestsSeen = new AtomicInteger();

        FakeNode(boolean sayHello, Answer answer) throws IOException {
            serverSocket = new ServerSocket(0, 8, InetAddress.getLoopbackAddress());
            acceptor = Thread.ofVirtual().start(() -> serve(sayHello, answer));
        }

        String endpoint() {
            return "127.0.0.1:" + serverSocket.getLocalPort();
        }

        private void serve(boolean sayHello, Answer answer) {
            try {
                while (true) {
                    Socket socket = serverSocket.accept();
                    synchronized (accepted) {
                        accepted.add(socket);
                    }
                    Thread.ofVirtual().start(() -> talk(socket, sayHello, answer));
                }
            } catch (IOException closed) {
                // The test is over.
            }
        }

        private void talk(Socket socket, boolean sayHello, Answer answer) {
            try (InputStream in = socket.getInputStream(); OutputStream out = socket.getOutputStream()) {
                if (sayHello) {
                    ByteBuf hello = FrameCodec.encodeHello(ByteBufAllocator.DEFAULT, TcpTestSupport.MEMORY_NODE,
                            1, FabricLimits.DEFAULT, List.of(new RegionInfo(0, "alpha", 4096)));
                    out.write(ByteBufUtil.getBytes(hello));
                    hello.release();
                    out.flush();
                }
                byte[] buffer = new byte[4096];
                while (in.read(buffer) >= 0) {
                    requestsSeen.incrementAndGet();
                    if (answer == Answer.GARBAGE) {
                        out.write(new byte[] {20, 0, 0, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20});
                        out.flush();
                    }
                }
            } catch (IOException closed) {
                // The client went away.
            }
        }

        @Override
        public void close() throws IOException {
            serverSocket.close();
            synchronized (accepted) {
                for (Socket socket : accepted) {
                    socket.close();
                }
            }
            try {
                acceptor.join(Duration.ofSeconds(BOUND_SECONDS));
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
    }
}
