package io.rolexkv.common.fabric.tcp;

import io.rolexkv.common.net.FrameFormatException;
import io.rolexkv.common.net.FrameHeader;
import io.rolexkv.common.net.TcpEndpoint;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import io.netty.buffer.ByteBufUtil;
import io.netty.buffer.Unpooled;
import io.rolexkv.common.fabric.BatchResult;
import io.rolexkv.common.fabric.DoorbellBatch;
import io.rolexkv.common.fabric.FabricConnection;
import io.rolexkv.common.fabric.FabricLimits;
import io.rolexkv.common.fabric.FabricServer;
import io.rolexkv.common.fabric.GlobalAddress;
import io.rolexkv.common.fabric.RegisteredMemory;
import io.rolexkv.common.fabric.VerbExecutor;
import io.rolexkv.common.fabric.VerbRejectedException;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.io.DataInputStream;
import java.io.EOFException;
import java.io.IOException;
import java.io.InputStream;
import java.net.Socket;
import java.net.SocketException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

/**
 * A memory node under a hostile network: raw sockets send seeded random garbage, truncated frames, oversized frames
 * and mutated valid frames. A model built on the same codec predicts what the node must do with each byte string:
 * run (and answer) every whole valid frame at its start, then close the connection at the first bad one, or wait
 * for the rest of a truncated one. The raw socket checks the answers byte for byte and the close; a twin memory
 * follows every verb the node ran; and after every round a well-behaved client on its own connection still gets
 * correct answers and the memory equals the twin.
 */
@Timeout(60)
class TcpFrameFuzzTest {
    private static final FabricLimits LIMITS = new FabricLimits(32, 2048);
    private static final int MAX_FRAME_BYTES = FrameDescriptor.maxFrameBytes(LIMITS);
    private static final int ROUNDS = 250;

    private RegisteredMemory memory;
    private RegisteredMemory twin;
    private TcpTransport transport;
    private FabricServer server;
    private TcpEndpoint endpoint;

    @BeforeEach
    void start() {
        memory = TcpTestSupport.newMemory();
        twin = TcpTestSupport.newMemory();
        TcpTestSupport.fillAlike(5, memory, twin);
        transport = new TcpTransport(LIMITS);
        server = transport.serve(memory, TcpTestSupport.LOCALHOST_ANY_PORT);
        endpoint = TcpEndpoint.parse(server.endpoint());
    }

    @AfterEach
    void stop() {
        transport.close();
        memory.close();
        twin.close();
    }

    /** What the node must do with a byte string: the completions it sends, and whether it then closes. */
    private record Expected(List<byte[]> completions, boolean closes) {
    }

    @Test
    void garbageTruncatedOversizedAndMutatedFramesCloseOnlyTheirConnection() throws IOException {
        Random random = new Random(0xF0225EEDL);
        List<Socket> leftHanging = new ArrayList<>();
        int closes = 0;
        int answered = 0;
        try (FabricConnection wellBehaved = transport.connect(server.endpoint(), null)) {
            for (int round = 0; round < ROUNDS; round++) {
                byte[] sent = hostileBytes(random);
                Expected expected = model(sent);
                Socket socket = new Socket(endpoint.host(), endpoint.port());
                socket.setSoTimeout(10_000);
                DataInputStream in = new DataInputStream(socket.getInputStream());
                readHello(in);
                socket.getOutputStream().write(sent);
                socket.getOutputStream().flush();
                for (byte[] completion : expected.completions()) {
                    assertArrayEquals(completion, readFrame(in), "round=" + round);
                    answered++;
                }
                if (expected.closes()) {
                    assertClosedByPeer(in, "round=" + round);
                    socket.close();
                    closes++;
                } else if (random.nextBoolean()) {
                    // A peer stuck in the middle of a frame must not hold anyone else up: keep some open to the end.
                    leftHanging.add(socket);
                } else {
                    socket.close();
                }
                assertWellBehavedClientIsServed(wellBehaved, random, "round=" + round);
                TcpTestSupport.assertSameMemory(twin, memory, "round=" + round);
            }
            assertTrue(wellBehaved.isOpen());
        } finally {
            for (Socket socket : leftHanging) {
                socket.close();
            }
        }
        // The seed must exercise both outcomes, or this test proves less than it claims.
        assertTrue(closes > ROUNDS / 4, "closes=" + closes);
        assertTrue(answered > ROUNDS / 4, "answered=" + answered);
    }

    @Test
    void peerThatFloodsRequestsAndNeverReadsIsHeldBackAndDoesNotHoldUpOthers() throws Exception {
        DoorbellBatch bigRead = new DoorbellBatch();
        bigRead.read(GlobalAddress.of(TcpTestSupport.MEMORY_NODE, 0, 0), 2048);
        byte[] request = FrameCodecTest.encodeRequest(1, bigRead);
        int requestsPerWrite = 1024;
        byte[] chunk = new byte[request.length * requestsPerWrite];
        for (int i = 0; i < requestsPerWrite; i++) {
            System.arraycopy(request, 0, chunk, i * request.length, request.length);
        }
        // 64 MiB of requests, asking for 43 times as many bytes of completions: more than every socket buffer on the
        // way can hold, so the flooder's writes block unless the node takes in requests it cannot answer.
        long writes = (64L << 20) / chunk.length;
        Socket flooder = new Socket(endpoint.host(), endpoint.port());
        Thread writer = Thread.ofVirtual().start(() -> {
            try {
                for (long i = 0; i < writes; i++) {
                    flooder.getOutputStream().write(chunk);
                }
            } catch (IOException closedUnderUs) {
                // Expected: the test closes the socket while this write is held up by back-pressure.
            }
        });
        try (FabricConnection wellBehaved = transport.connect(server.endpoint(), null)) {
            Random random = new Random(0xF100DL);
            for (int i = 0; i < 50; i++) {
                assertWellBehavedClientIsServed(wellBehaved, random, "batch=" + i);
            }
            TcpTestSupport.assertSameMemory(twin, memory, "after the flood");
            assertFalse(writer.join(Duration.ofSeconds(2)), "the flooder's writes should be held up by back-pressure");
        } finally {
            flooder.close();
            writer.join();
        }
    }

    private byte[] hostileBytes(Random random) {
        return switch (random.nextInt(7)) {
            case 0 -> randomBytes(random, 1 + random.nextInt(512));
            case 1 -> {
                // A plausible header, then garbage.
                byte[] body = randomBytes(random, random.nextInt(256));
                ByteBuf frame = Unpooled.buffer().writeIntLE(FrameHeader.HEADER_LENGTH - FrameHeader.LENGTH_FIELD_BYTES + body.length)
                        .writeByte(FrameDescriptor.WIRE.magic()).writeByte(FrameDescriptor.WIRE.version())
                        .writeByte(FrameDescriptor.TYPE_REQUEST).writeLongLE(random.nextLong()).writeBytes(body);
                yield ByteBufUtil.getBytes(frame);
            }
            case 2 -> {
                byte[] valid = validRequest(random);
                yield Arrays.copyOf(valid, random.nextInt(valid.length));
            }
            case 3 -> {
                // Claims more than the node accepts; the node must not wait for (or buffer) the rest.
                int claimed = MAX_FRAME_BYTES - FrameHeader.LENGTH_FIELD_BYTES + 1 + random.nextInt(1 << 20);
                ByteBuf frame = Unpooled.buffer().writeIntLE(claimed).writeByte(FrameDescriptor.WIRE.magic())
                        .writeByte(FrameDescriptor.WIRE.version()).writeByte(FrameDescriptor.TYPE_REQUEST)
                        .writeLongLE(random.nextLong())
                        .writeBytes(randomBytes(random, random.nextInt(1024)));
                yield ByteBufUtil.getBytes(frame);
            }
            case 4 -> mutate(random, validRequest(random));
            case 5 -> concat(validRequest(random), randomBytes(random, 1 + random.nextInt(64)));
            default -> concat(concat(validRequest(random), validRequest(random)), mutate(random, validRequest(random)));
        };
    }

    private byte[] validRequest(Random random) {
        DoorbellBatch batch = TcpTestSupport.randomBatch(random, twin, 8, true);
        return FrameCodecTest.encodeRequest(random.nextLong(), batch);
    }

    private static byte[] mutate(Random random, byte[] frame) {
        byte[] mutated = frame.clone();
        int flips = 1 + random.nextInt(4);
        for (int i = 0; i < flips; i++) {
            mutated[random.nextInt(mutated.length)] = (byte) random.nextInt(256);
        }
        return mutated;
    }

    private static byte[] randomBytes(Random random, int length) {
        byte[] bytes = new byte[length];
        random.nextBytes(bytes);
        return bytes;
    }

    private static byte[] concat(byte[] first, byte[] second) {
        byte[] both = Arrays.copyOf(first, first.length + second.length);
        System.arraycopy(second, 0, both, first.length, second.length);
        return both;
    }

    /** Splits {@code sent} as the node does, runs every whole valid frame on the twin and returns its answers. */
    private Expected model(byte[] sent) {
        ByteBuf in = Unpooled.wrappedBuffer(sent);
        List<byte[]> completions = new ArrayList<>();
        while (in.readableBytes() >= FrameHeader.LENGTH_FIELD_BYTES) {
            int frameBytes;
            try {
                frameBytes = FrameHeader.frameBytes(in, MAX_FRAME_BYTES);
            } catch (FrameFormatException e) {
                return new Expected(completions, true);
            }
            if (in.readableBytes() < frameBytes) {
                break;
            }
            FrameCodec.Request request;
            try {
                request = FrameCodec.decodeRequest(in.readSlice(frameBytes));
            } catch (FrameFormatException e) {
                return new Expected(completions, true);
            }
            ByteBuf completion;
            try {
                BatchResult result = VerbExecutor.execute(twin, LIMITS, request.batch());
                completion = FrameCodec.encodeDone(ByteBufAllocator.DEFAULT, request.batchId(), request.batch(), result);
            } catch (VerbRejectedException rejected) {
                completion = FrameCodec.encodeRefused(ByteBufAllocator.DEFAULT, request.batchId(), rejected);
            }
            completions.add(ByteBufUtil.getBytes(completion));
            completion.release();
        }
        return new Expected(completions, false);
    }

    private static void readHello(DataInputStream in) throws IOException {
        byte[] hello = readFrame(in);
        try {
            assertEquals(TcpTestSupport.MEMORY_NODE, FrameCodec.decodeHello(Unpooled.wrappedBuffer(hello)).memoryNodeId());
        } catch (FrameFormatException e) {
            fail("the node's own hello does not decode: " + e.getMessage());
        }
    }

    private static byte[] readFrame(DataInputStream in) throws IOException {
        byte[] lengthField = new byte[FrameHeader.LENGTH_FIELD_BYTES];
        in.readFully(lengthField);
        int length = Unpooled.wrappedBuffer(lengthField).getIntLE(0);
        assertTrue(length >= FrameHeader.HEADER_LENGTH - FrameHeader.LENGTH_FIELD_BYTES && length <= MAX_FRAME_BYTES, "frame_length=" + length);
        byte[] frame = Arrays.copyOf(lengthField, FrameHeader.LENGTH_FIELD_BYTES + length);
        in.readFully(frame, FrameHeader.LENGTH_FIELD_BYTES, length);
        return frame;
    }

    /** The node closed: end of stream, or a reset when it closed with our bytes still unread. */
    private static void assertClosedByPeer(InputStream in, String context) throws IOException {
        try {
            int next = in.read();
            assertEquals(-1, next, context + " expected the node to close the connection, got a byte");
        } catch (SocketException | EOFException reset) {
            // Closed with unread input: the kernel resets the connection. Closed all the same.
        }
    }

    private void assertWellBehavedClientIsServed(FabricConnection connection, Random random, String context) {
        DoorbellBatch batch = TcpTestSupport.randomBatch(random, twin, 8, false);
        BatchResult expected = VerbExecutor.execute(twin, LIMITS, batch);
        BatchResult actual = connection.execute(batch);
        TcpTestSupport.assertSameResult(batch, expected, actual, context);
    }
}
