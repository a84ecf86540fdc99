package io.rolexkv.common.net;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The layer under many senders with no protocol of its own in the way: an echo server answers each request with its
 * body. Threads send bodies from a few bytes to 256 KiB on one connection, some without waiting (so requests are in
 * flight together and the socket fills: senders combine, the event loop writes, Netty's write path takes what a full
 * socket cannot), and every answer must be the body its request carried: no frame lost, torn or interleaved.
 */
@Timeout(120)
class FrameConnectionStressTest {
    private static final FrameHeader.Wire WIRE = new FrameHeader.Wire("echo", (byte) 0x3C, (byte) 1);
    private static final byte TYPE_HELLO = 1;
    private static final byte TYPE_ECHO = 2;
    private static final int MAX_FRAME_BYTES = 1 << 20;
    private static final int ROUNDS = 15;
    private static final ClientProtocol<Integer> PROTOCOL = new ClientProtocol<>("echo server", FrameHeader.HEADER_LENGTH
            + Integer.BYTES, frame -> {
                FrameHeader.check(frame, WIRE, TYPE_HELLO);
                return frame.getIntLE(frame.readerIndex() + FrameHeader.HEADER_LENGTH);
            }, maxFrameBytes -> maxFrameBytes, maxFrameBytes -> "");

    private FrameServer server;

    @BeforeEach
    void start() {
        server = FrameServer.start("echo", "127.0.0.1:0", 2, MAX_FRAME_BYTES, () -> new RequestHandler() {
            @Override
            public ByteBuf hello(ByteBufAllocator allocator) {
                ByteBuf hello = FrameHeader.start(allocator, WIRE, FrameHeader.HEADER_LENGTH + Integer.BYTES, TYPE_HELLO, 0);
                return FrameHeader.finish(hello.writeIntLE(MAX_FRAME_BYTES));
            }

            @Override
            public ByteBuf answer(ByteBufAllocator allocator, ByteBuf frame) throws FrameFormatException {
                FrameHeader.check(frame, WIRE, TYPE_ECHO);
                ByteBuf answer = FrameHeader.start(allocator, WIRE, frame.readableBytes(), TYPE_ECHO, FrameHeader.requestId(frame));
                answer.writeBytes(frame, frame.readerIndex() + FrameHeader.HEADER_LENGTH,
                        frame.readableBytes() - FrameHeader.HEADER_LENGTH);
                return FrameHeader.finish(answer);
            }
        });
    }

    @AfterEach
    void stop() {
        server.close();
    }

    private static CompletableFuture<byte[]> echo(FrameConnection<Integer> connection, byte[] body) {
        ByteBuf frame = FrameHeader.start(connection.allocator(), WIRE, FrameHeader.HEADER_LENGTH + body.length, TYPE_ECHO, 0);
        frame.writeBytes(body);
        return connection.send(FrameHeader.finish(frame), answer -> {
            FrameHeader.check(answer, WIRE, TYPE_ECHO);
            byte[] bytes = new byte[answer.readableBytes() - FrameHeader.HEADER_LENGTH];
            answer.getBytes(answer.readerIndex() + FrameHeader.HEADER_LENGTH, bytes);
            return bytes;
        });
    }

    @Test
    void everyAnswerIsTheBodyItsRequestCarriedUnderManySenders() throws Exception {
        FrameConnection<Integer> connection = FrameConnection.open(server.endpoint(), PROTOCOL, NetSettings.DEFAULT);
        int threads = 8;
        ExecutorService senders = Executors.newFixedThreadPool(threads);
        try {
            List<Future<Integer>> done = new ArrayList<>();
            for (int t = 0; t < threads; t++) {
                long seed = 20261203L + t;
                done.add(senders.submit(() -> {
                    Random random = new Random(seed);
                    int checked = 0;
                    for (int round = 0; round < ROUNDS; round++) {
                        int inFlight = 1 + random.nextInt(8);
                        List<byte[]> bodies = new ArrayList<>();
                        List<CompletableFuture<byte[]>> answers = new ArrayList<>();
                        for (int i = 0; i < inFlight; i++) {
                            byte[] body = new byte[random.nextInt(4) == 0 ? random.nextInt(256 * 1024) : random.nextInt(64)];
                            random.nextBytes(body);
                            bodies.add(body);
                            answers.add(echo(connection, body));
                        }
                        for (int i = 0; i < inFlight; i++) {
                            assertArrayEquals(bodies.get(i), answers.get(i).get(60, TimeUnit.SECONDS), "seed=" + seed);
                            checked++;
                        }
                    }
                    return checked;
                }));
            }
            int checked = 0;
            for (Future<Integer> future : done) {
                checked += future.get(100, TimeUnit.SECONDS);
            }
            assertTrue(checked >= threads * ROUNDS, "answers checked=" + checked);
            assertTrue(connection.isOpen(), "the connection survives");
            assertEquals(0, server.refusedConnections());
        } finally {
            senders.shutdownNow();
            connection.close();
        }
    }
}
