package io.rolexkv.bench.baseline.rpc;

import io.rolexkv.common.net.FrameHeader;
import io.netty.buffer.ByteBuf;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.Socket;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.List;
import java.util.Random;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

import static io.rolexkv.bench.baseline.rpc.HandMadeFrames.concat;
import static io.rolexkv.bench.baseline.rpc.HandMadeFrames.frame;
import static io.rolexkv.bench.baseline.rpc.HandMadeFrames.intBytes;
import static io.rolexkv.bench.baseline.rpc.HandMadeFrames.longBytes;
import static io.rolexkv.bench.baseline.rpc.HandMadeFrames.withByte;
import static io.rolexkv.bench.baseline.rpc.RpcFrameDescriptor.HELLO_LENGTH;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Hostile and broken clients against a real server over raw sockets: every malformed frame closes that one connection
 * (after the answers to the good frames before it), requests that are well formed but wrong are answered with
 * BAD_ARGUMENT and the connection stays, random garbage never takes the server down, and through all of it a
 * well-behaved client on another connection keeps being served.
 */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class RpcKVServerBadInputTest {
    private static final int MAX_VALUE_BYTES = 1000;
    private static final int MAX_FRAME_BYTES = 64 * 1024;

    private RpcKVServer server;
    private RpcKV healthy;

    @BeforeEach
    void start() {
        server = RpcKVServer.start(new RpcKVServerSettings(MAX_VALUE_BYTES, MAX_FRAME_BYTES, 1));
        healthy = RpcKV.connect(server.endpoint());
        healthy.put(42, new byte[] {4, 2});
    }

    @AfterEach
    void stop() {
        try {
            healthy.close();
        } finally {
            server.close();
        }
    }

    static Stream<Arguments> malformedFrames() {
        byte get = RpcRequestType.GET.code();
        byte put = RpcRequestType.PUT.code();
        return Stream.of(
                Arguments.of("bad magic", withByte(frame(get, longBytes(1)), FrameHeader.MAGIC_OFFSET, 0x00)),
                Arguments.of("bad version", withByte(frame(get, longBytes(1)), FrameHeader.VERSION_OFFSET, 3)),
                Arguments.of("unknown type", frame((byte) 0x3F, longBytes(1))),
                Arguments.of("a hello sent to the server", frame(RpcFrameDescriptor.TYPE_HELLO, new byte[8])),
                Arguments.of("a response sent to the server", frame(RpcRequestType.GET.responseCode(), new byte[5])),
                Arguments.of("length below a header", intBytes(3)),
                Arguments.of("negative length", intBytes(-5)),
                Arguments.of("length over the max frame", intBytes(MAX_FRAME_BYTES)),
                Arguments.of("get without its key", frame(get, new byte[0])),
                Arguments.of("get with a trailing byte", frame(get, new byte[9])),
                Arguments.of("put value longer than the frame", frame(put, concat(longBytes(1), intBytes(100), new byte[10]))),
                Arguments.of("put with an absent value", frame(put, concat(longBytes(1), intBytes(-1)))),
                Arguments.of("compare_and_set value length -2", frame(RpcRequestType.COMPARE_AND_SET.code(),
                        concat(longBytes(1), intBytes(-2), intBytes(-1)))),
                Arguments.of("batch_get count beyond the frame", frame(RpcRequestType.BATCH_GET.code(),
                        concat(intBytes(1_000_000), longBytes(1)))),
                Arguments.of("negative batch_put count", frame(RpcRequestType.BATCH_PUT.code(), intBytes(-1))),
                Arguments.of("bulk_load replace=2", frame(RpcRequestType.BULK_LOAD.code(), concat(new byte[] {2}, intBytes(0)))),
                Arguments.of("scan without its bounds", frame(RpcRequestType.SCAN.code(), longBytes(1))),
                Arguments.of("clear with a body", frame(RpcRequestType.CLEAR.code(), new byte[1])));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("malformedFrames")
    void aMalformedFrameClosesOnlyItsConnection(String what, byte[] frame) throws Exception {
        try (Socket socket = rawConnection()) {
            socket.getOutputStream().write(frame);
            socket.getOutputStream().flush();
            assertEquals(-1, socket.getInputStream().read(), what + ": the server must close the connection, not answer");
        }
        assertHealthyClientIsServed();
        assertArrayEquals(new byte[] {4, 2}, healthy.get(42).orElseThrow(), what + " changed the store");
    }

    @Test
    void answersToGoodFramesBeforeABadOneAreStillSent() throws Exception {
        try (Socket socket = rawConnection()) {
            byte[] good = concat(
                    frame(RpcRequestType.PUT.code(), 1, concat(longBytes(7), intBytes(3), new byte[] {1, 2, 3})),
                    frame(RpcRequestType.GET.code(), 2, longBytes(7)));
            byte[] bad = withByte(frame(RpcRequestType.GET.code(), 3, longBytes(7)), FrameHeader.MAGIC_OFFSET, 0);
            OutputStream out = socket.getOutputStream();
            out.write(concat(good, bad));
            out.flush();
            InputStream in = socket.getInputStream();
            RpcFrameCodec.Response putAnswer = readResponse(in);
            assertEquals(1, putAnswer.requestId());
            assertEquals(RpcFrameDescriptor.STATUS_OK, putAnswer.status());
            RpcFrameCodec.Response getAnswer = readResponse(in);
            assertEquals(2, getAnswer.requestId());
            assertArrayEquals(new byte[] {1, 2, 3}, RpcFrameCodec.decodeValue(getAnswer).orElseThrow());
            assertEquals(-1, in.read(), "then the connection closes");
        }
        assertArrayEquals(new byte[] {1, 2, 3}, healthy.get(7).orElseThrow());
    }

    @Test
    void wrongButWellFormedRequestsAreRefusedAndTheConnectionStays() throws Exception {
        try (Socket socket = rawConnection()) {
            OutputStream out = socket.getOutputStream();
            InputStream in = socket.getInputStream();

            out.write(frame(RpcRequestType.PUT.code(), 1, concat(longBytes(5), intBytes(MAX_VALUE_BYTES + 1),
                    new byte[MAX_VALUE_BYTES + 1])));
            assertRefused(readResponse(in), 1, "bytes=" + (MAX_VALUE_BYTES + 1), "max_value_bytes=" + MAX_VALUE_BYTES);

            out.write(frame(RpcRequestType.BULK_LOAD.code(), 2, concat(new byte[] {1}, intBytes(2),
                    longBytes(9), intBytes(0), longBytes(8), intBytes(0))));
            assertRefused(readResponse(in), 2, "unsorted", "keys[0]=9", "keys[1]=8");

            out.write(frame(RpcRequestType.SCAN.code(), 3, concat(longBytes(0), longBytes(-1), intBytes(-1))));
            assertRefused(readResponse(in), 3, "limit=-1");

            out.write(frame(RpcRequestType.BATCH_PUT.code(), 4, concat(intBytes(2), longBytes(5), intBytes(1),
                    new byte[] {5}, longBytes(6), intBytes(MAX_VALUE_BYTES + 1), new byte[MAX_VALUE_BYTES + 1])));
            assertRefused(readResponse(in), 4, "bytes=" + (MAX_VALUE_BYTES + 1));

            out.write(frame(RpcRequestType.GET.code(), 5, longBytes(42)));
            RpcFrameCodec.Response stillServed = readResponse(in);
            assertEquals(5, stillServed.requestId());
            assertArrayEquals(new byte[] {4, 2}, RpcFrameCodec.decodeValue(stillServed).orElseThrow(),
                    "the same connection is served after the refusals, and the bulk load changed nothing");
        }
        assertEquals(List.of(42L), healthy.scan(0, 100).stream().map(pair -> pair.key()).toList(),
                "no refused request stored anything");
    }

    @Test
    void randomGarbageNeverTakesTheServerDown() throws Exception {
        Random random = new Random(99);
        for (int round = 0; round < 300; round++) {
            byte[] input;
            if (round % 2 == 0) {
                input = new byte[random.nextInt(64)];
                random.nextBytes(input);
            } else {
                // A valid header for a random type, then a random body: reaches every request decoder.
                byte[] body = new byte[random.nextInt(48)];
                random.nextBytes(body);
                if (random.nextBoolean() && body.length >= 4) {
                    // A small count or length up front, so decoders get past their first check now and then.
                    body[0] = (byte) random.nextInt(4);
                    body[1] = body[2] = body[3] = 0;
                }
                input = frame((byte) (1 + random.nextInt(11)), round, body);
            }
            try (Socket socket = rawConnection()) {
                socket.getOutputStream().write(input);
                socket.shutdownOutput();
                // Whatever the server answers, it must end the exchange: drain to the end.
                socket.getInputStream().readAllBytes();
            }
        }
        assertHealthyClientIsServed();
        assertTrue(server.stats().requests() > 0);
    }

    private void assertHealthyClientIsServed() {
        healthy.put(43, new byte[] {4, 3});
        assertArrayEquals(new byte[] {4, 3}, healthy.get(43).orElseThrow(), "the well-behaved client is still served");
    }

    private static void assertRefused(RpcFrameCodec.Response response, long requestId, String... parts) throws Exception {
        assertEquals(requestId, response.requestId());
        assertEquals(RpcFrameDescriptor.STATUS_BAD_ARGUMENT, response.status(), "request " + requestId);
        String message = RpcFrameCodec.decodeErrorMessage(response);
        for (String part : parts) {
            assertTrue(message.contains(part), "message should name " + part + ": " + message);
        }
    }

    /** A raw connection whose server HELLO has been read. */
    private Socket rawConnection() throws IOException {
        Socket socket = new Socket(InetAddress.getLoopbackAddress(), server.port());
        socket.setSoTimeout(10_000);
        byte[] hello = socket.getInputStream().readNBytes(HELLO_LENGTH);
        assertEquals(HELLO_LENGTH, hello.length, "the server greets every connection");
        return socket;
    }

    private static RpcFrameCodec.Response readResponse(InputStream in) throws Exception {
        byte[] lengthField = in.readNBytes(4);
        assertEquals(4, lengthField.length, "a response, not the end of the stream");
        int length = ByteBuffer.wrap(lengthField).order(ByteOrder.LITTLE_ENDIAN).getInt();
        byte[] frame = concat(lengthField, in.readNBytes(length));
        ByteBuf buffer = ByteBufs.frame(frame);
        return RpcFrameCodec.readResponse(buffer);
    }
}
