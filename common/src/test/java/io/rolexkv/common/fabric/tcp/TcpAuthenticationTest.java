package io.rolexkv.common.fabric.tcp;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import io.netty.buffer.ByteBufUtil;
import io.netty.buffer.Unpooled;
import io.rolexkv.common.fabric.BatchResult;
import io.rolexkv.common.fabric.DoorbellBatch;
import io.rolexkv.common.fabric.FabricConnection;
import io.rolexkv.common.fabric.FabricLimits;
import io.rolexkv.common.fabric.GlobalAddress;
import io.rolexkv.common.fabric.RegisteredMemory;
import io.rolexkv.common.net.AuthHandshake;
import io.rolexkv.common.net.AuthenticationFailedException;
import io.rolexkv.common.net.ClusterSecret;
import io.rolexkv.common.net.FrameHeader;
import io.rolexkv.common.net.NetSettings;
import io.rolexkv.common.net.TcpEndpoint;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

import java.io.DataInputStream;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Who may connect to a memory node: with a cluster secret only clients that prove it read or write its memory, a
 * client refuses a node that cannot prove it, a refused client harms no one else, and a recorded handshake proves
 * nothing on another connection.
 */
@Timeout(60)
class TcpAuthenticationTest {
    private static final ClusterSecret SECRET = secret("the cluster's own secret, 1");
    private static final ClusterSecret OTHER_SECRET = secret("some other cluster's secret");
    private static final long WORD = GlobalAddress.of(TcpTestSupport.MEMORY_NODE, 0, 64);

    @TempDir
    Path directory;

    private static ClusterSecret secret(String text) {
        return ClusterSecret.of(text.getBytes(StandardCharsets.UTF_8), "test");
    }

    private static TcpFabricServer serve(RegisteredMemory memory, NetSettings settings) {
        return TcpFabricServer.start(memory, FabricLimits.DEFAULT, TcpTestSupport.LOCALHOST_ANY_PORT, settings);
    }

    @Test
    void aClientWithTheSecretReadsAndWrites() throws Exception {
        NetSettings settings = NetSettings.DEFAULT.withSecret(SECRET);
        try (TcpFabricServer server = serve(TcpTestSupport.newMemory(), settings);
             TcpTransport transport = new TcpTransport(FabricLimits.DEFAULT, settings)) {
            FabricConnection connection = transport.connect(server.endpoint(), null);
            DoorbellBatch write = new DoorbellBatch();
            write.writeLong(WORD, 0x1234_5678_9abcL);
            connection.post(write).get(10, TimeUnit.SECONDS);
            DoorbellBatch read = new DoorbellBatch();
            read.read(WORD, 8);
            BatchResult result = connection.post(read).get(10, TimeUnit.SECONDS);
            assertEquals(0x1234_5678_9abcL, result.readLong(0, 0));
            assertEquals(0, server.authFailures());
        }
    }

    @Test
    void wrongOrMissingSecretIsRefusedWhileAGoodClientKeepsBeingServed() throws Exception {
        NetSettings settings = NetSettings.DEFAULT.withSecret(SECRET);
        try (TcpFabricServer server = serve(TcpTestSupport.newMemory(), settings);
             TcpTransport good = new TcpTransport(FabricLimits.DEFAULT, settings);
             TcpTransport wrong = new TcpTransport(FabricLimits.DEFAULT, NetSettings.DEFAULT.withSecret(OTHER_SECRET));
             TcpTransport none = new TcpTransport(FabricLimits.DEFAULT, NetSettings.DEFAULT)) {
            FabricConnection connection = good.connect(server.endpoint(), null);
            AtomicBoolean stop = new AtomicBoolean();
            AtomicLong served = new AtomicLong();
            AtomicReference<Throwable> failure = new AtomicReference<>();
            Thread poster = Thread.ofVirtual().start(() -> {
                try {
                    for (long i = 1; !stop.get(); i++) {
                        DoorbellBatch batch = new DoorbellBatch();
                        batch.writeLong(WORD, i);
                        batch.read(WORD, 8);
                        assertEquals(i, connection.post(batch).get(10, TimeUnit.SECONDS).readLong(1, 0));
                        served.incrementAndGet();
                    }
                } catch (Throwable e) {
                    failure.set(e);
                }
            });
            for (int attempt = 0; attempt < 5; attempt++) {
                assertAuthenticationFailed(() -> wrong.connect(server.endpoint(), null), server.endpoint());
                assertAuthenticationFailed(() -> none.connect(server.endpoint(), null), server.endpoint());
            }
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
            while (server.authFailures() < 10 && System.nanoTime() < deadline) {
                Thread.sleep(10);
            }
            long before = served.get();
            while (served.get() < before + 100 && failure.get() == null && System.nanoTime() < deadline) {
                Thread.sleep(1);
            }
            stop.set(true);
            poster.join();
            assertNull(failure.get(), () -> "the good client failed: " + failure.get());
            assertTrue(served.get() >= before + 100, "the good client stopped being served");
            assertEquals(10, server.authFailures());
            assertEquals(10, server.refusedConnections());
            assertTrue(connection.isOpen());
        }
    }

    @Test
    void aClientWithASecretRefusesANodeWithout() {
        try (TcpFabricServer server = serve(TcpTestSupport.newMemory(), NetSettings.DEFAULT);
             TcpTransport transport = new TcpTransport(FabricLimits.DEFAULT, NetSettings.DEFAULT.withSecret(SECRET))) {
            AuthenticationFailedException e = assertAuthenticationFailed(() -> transport.connect(server.endpoint(), null),
                    server.endpoint());
            assertTrue(e.getMessage().contains("cannot prove"), e.getMessage());
        }
    }

    @Test
    void aRecordedResponseDoesNotAuthenticateAnotherConnection() throws Exception {
        try (TcpFabricServer server = serve(TcpTestSupport.newMemory(), NetSettings.DEFAULT.withSecret(SECRET))) {
            byte[] recorded;
            try (Socket first = connect(server)) {
                byte[] serverNonce = AuthHandshake.decodeChallenge(readFrame(first));
                byte[] clientNonce = AuthHandshake.newNonce();
                recorded = bytes(AuthHandshake.encodeResponse(ByteBufAllocator.DEFAULT, clientNonce,
                        AuthHandshake.clientProof(SECRET, serverNonce, clientNonce)));
                first.getOutputStream().write(recorded);
                byte[] proof = AuthHandshake.decodeProof(readFrame(first));
                assertArrayEquals(AuthHandshake.serverProof(SECRET, serverNonce, clientNonce), proof,
                        "the node proves the secret on a good response");
            }
            try (Socket replay = connect(server)) {
                AuthHandshake.decodeChallenge(readFrame(replay));
                replay.getOutputStream().write(recorded);
                assertEquals(-1, replay.getInputStream().read(), "a replayed response must get no answer but a close");
            }
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
            while (server.authFailures() < 1 && System.nanoTime() < deadline) {
                Thread.sleep(10);
            }
            assertEquals(1, server.authFailures());
        }
    }

    @Test
    void aClientRefusesANodeWhoseProofIsWrong() throws Exception {
        try (ServerSocket impostor = new ServerSocket(0, 1, InetAddress.getLoopbackAddress());
             TcpTransport transport = new TcpTransport(FabricLimits.DEFAULT, NetSettings.DEFAULT.withSecret(SECRET))) {
            Thread fake = Thread.ofVirtual().start(() -> {
                try (Socket client = impostor.accept()) {
                    client.setSoTimeout(10_000);
                    byte[] serverNonce = AuthHandshake.newNonce();
                    client.getOutputStream().write(bytes(AuthHandshake.encodeChallenge(ByteBufAllocator.DEFAULT, serverNonce)));
                    byte[][] response = AuthHandshake.decodeResponse(readFrame(client));
                    // It does not hold the secret: the best it can send is a proof under another one.
                    client.getOutputStream().write(bytes(AuthHandshake.encodeProof(ByteBufAllocator.DEFAULT,
                            AuthHandshake.serverProof(OTHER_SECRET, serverNonce, response[0]))));
                    client.getInputStream().read();
                } catch (Exception ignored) {
                    // The client closing on us is the point.
                }
            });
            String endpoint = "127.0.0.1:" + impostor.getLocalPort();
            AuthenticationFailedException e = assertAuthenticationFailed(() -> transport.connect(endpoint, null), endpoint);
            assertTrue(e.getMessage().contains("proof of the cluster secret is wrong"), e.getMessage());
            fake.join();
        }
    }

    @Test
    void anOversizedFrameBeforeAuthenticatingCountsAsAFailure() throws Exception {
        try (TcpFabricServer server = serve(TcpTestSupport.newMemory(), NetSettings.DEFAULT.withSecret(SECRET));
             Socket socket = connect(server)) {
            AuthHandshake.decodeChallenge(readFrame(socket));
            socket.getOutputStream().write(new byte[] {(byte) 0xff, (byte) 0xff, (byte) 0xff, 0x7f, 0, 0, 0, 0});
            assertEquals(-1, socket.getInputStream().read());
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
            while (server.authFailures() < 1 && System.nanoTime() < deadline) {
                Thread.sleep(10);
            }
            assertEquals(1, server.authFailures());
        }
    }

    @Test
    void aRequestBeforeAuthenticatingIsRefused() throws Exception {
        try (TcpFabricServer server = serve(TcpTestSupport.newMemory(), NetSettings.DEFAULT.withSecret(SECRET));
             Socket socket = connect(server)) {
            AuthHandshake.decodeChallenge(readFrame(socket));
            ByteBuf request = FrameHeader.start(ByteBufAllocator.DEFAULT, FrameDescriptor.WIRE,
                    AuthHandshake.RESPONSE_FRAME_BYTES, (byte) 1, 1);
            request.writeZero(AuthHandshake.RESPONSE_FRAME_BYTES - FrameHeader.HEADER_LENGTH);
            socket.getOutputStream().write(bytes(request));
            assertEquals(-1, socket.getInputStream().read());
        }
    }

    @Test
    void aSecretFileIsItsBytesWithoutTheTrailingNewline() throws Exception {
        Path file = ownerOnly(directory.resolve("secret"), "the cluster's own secret, 1\n");
        NetSettings serverSettings = NetSettings.DEFAULT.withSecret(ClusterSecret.fromFile(file, "auth_secret_file"));
        try (TcpFabricServer server = serve(TcpTestSupport.newMemory(), serverSettings);
             TcpTransport transport = new TcpTransport(FabricLimits.DEFAULT, NetSettings.DEFAULT.withSecret(SECRET))) {
            assertTrue(transport.connect(server.endpoint(), null).isOpen());
        }
    }

    @Test
    void badSecretFilesAreOneLineNamingTheOption() throws Exception {
        Path empty = ownerOnly(directory.resolve("empty"), "\n");
        assertOneLine(assertThrows(IllegalArgumentException.class,
                () -> ClusterSecret.fromFile(empty, "auth_secret_file")), "auth_secret_file=" + empty, "empty");
        Path missing = directory.resolve("missing");
        assertOneLine(assertThrows(IllegalArgumentException.class,
                () -> ClusterSecret.fromFile(missing, "--auth-secret-file")), "--auth-secret-file=" + missing, "cannot be read");
        Path shared = ownerOnly(directory.resolve("shared"), "the cluster's own secret, 1");
        Files.setPosixFilePermissions(shared, PosixFilePermissions.fromString("rw-r--r--"));
        assertOneLine(assertThrows(IllegalArgumentException.class,
                () -> ClusterSecret.fromFile(shared, "auth_secret_file")), "auth_secret_file=" + shared, "readable by group");
        Path tooShort = ownerOnly(directory.resolve("short"), "abc");
        assertOneLine(assertThrows(IllegalArgumentException.class,
                () -> ClusterSecret.fromFile(tooShort, "auth_secret_file")), "auth_secret_file=" + tooShort, "bytes=3");
        ClusterSecret good = ClusterSecret.fromFile(ownerOnly(directory.resolve("good"), "the cluster's own secret, 1"), "x");
        assertTrue(!good.toString().contains("own secret"), "toString must not show the secret: " + good);
    }

    private static void assertOneLine(IllegalArgumentException e, String... parts) {
        assertTrue(!e.getMessage().contains("\n"), e.getMessage());
        for (String part : parts) {
            assertTrue(e.getMessage().contains(part), () -> "'" + e.getMessage() + "' does not say " + part);
        }
    }

    private static Path ownerOnly(Path file, String content) throws Exception {
        Files.writeString(file, content);
        Files.setPosixFilePermissions(file, PosixFilePermissions.fromString("rw-------"));
        return file;
    }

    private static AuthenticationFailedException assertAuthenticationFailed(Runnable connect, String endpoint) {
        AuthenticationFailedException e = assertThrows(AuthenticationFailedException.class, connect::run);
        assertTrue(e.getMessage().contains("authentication failed"), e.getMessage());
        assertTrue(e.getMessage().contains("endpoint=" + endpoint), e.getMessage());
        return e;
    }

    private static Socket connect(TcpFabricServer server) throws Exception {
        Socket socket = new Socket("127.0.0.1", TcpEndpoint.parse(server.endpoint()).port());
        socket.setSoTimeout(10_000);
        return socket;
    }

    private static ByteBuf readFrame(Socket socket) throws Exception {
        DataInputStream in = new DataInputStream(socket.getInputStream());
        byte[] length = new byte[4];
        in.readFully(length);
        int rest = (length[0] & 0xFF) | (length[1] & 0xFF) << 8 | (length[2] & 0xFF) << 16 | (length[3] & 0xFF) << 24;
        byte[] frame = new byte[4 + rest];
        System.arraycopy(length, 0, frame, 0, 4);
        in.readFully(frame, 4, rest);
        return Unpooled.wrappedBuffer(frame);
    }

    private static byte[] bytes(ByteBuf frame) {
        try {
            return ByteBufUtil.getBytes(frame);
        } finally {
            frame.release();
        }
    }
}
