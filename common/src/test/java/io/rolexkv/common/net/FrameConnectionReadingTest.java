package io.rolexkv.common.net;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Who reads a connection's answers: the thread that waits for one reads it itself; an answer nobody waits for (a
 * future with dependent stages, or one forgotten) is read by the connection's backstop thread; a stage that waits for
 * another request of the connection it runs on is refused rather than left to hang. The server echoes each request,
 * in order, after sleeping as many milliseconds as its one body byte says; the client's decoder answers with the name
 * of the thread that read the answer.
 */
@Timeout(60)
class FrameConnectionReadingTest {
    private static final FrameHeader.Wire WIRE = new FrameHeader.Wire("delay-echo", (byte) 0x3D, (byte) 1);
    private static final byte TYPE_HELLO = 1;
    private static final byte TYPE_ECHO = 2;
    private static final int MAX_FRAME_BYTES = 1 << 16;
    private static final ClientProtocol<Integer> PROTOCOL = new ClientProtocol<>("echo server", FrameHeader.HEADER_LENGTH
            + Integer.BYTES, frame -> {
                FrameHeader.check(frame, WIRE, TYPE_HELLO);
                return frame.getIntLE(frame.readerIndex() + FrameHeader.HEADER_LENGTH);
            }, maxFrameBytes -> maxFrameBytes, maxFrameBytes -> "");

    private FrameServer server;
    private FrameConnection<Integer> connection;

    @BeforeEach
    void start() {
        server = FrameServer.start("delay-echo", "127.0.0.1:0", 1, MAX_FRAME_BYTES, () -> new RequestHandler() {
            @Override
            public ByteBuf hello(ByteBufAllocator allocator) {
                ByteBuf hello = FrameHeader.start(allocator, WIRE, FrameHeader.HEADER_LENGTH + Integer.BYTES, TYPE_HELLO, 0);
                return FrameHeader.finish(hello.writeIntLE(MAX_FRAME_BYTES));
            }

            @Override
            public ByteBuf answer(ByteBufAllocator allocator, ByteBuf frame) throws FrameFormatException {
                FrameHeader.check(frame, WIRE, TYPE_ECHO);
                int delayMillis = frame.getUnsignedByte(frame.readerIndex() + FrameHeader.HEADER_LENGTH);
                try {
                    Thread.sleep(delayMillis);
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
                ByteBuf answer = FrameHeader.start(allocator, WIRE, frame.readableBytes(), TYPE_ECHO, FrameHeader.requestId(frame));
                answer.writeBytes(frame, frame.readerIndex() + FrameHeader.HEADER_LENGTH,
                        frame.readableBytes() - FrameHeader.HEADER_LENGTH);
                return FrameHeader.finish(answer);
            }
        });
        // A response timeout of 2 s sweeps every 250 ms, so a forgotten answer is read well before it times out.
        connection = FrameConnection.open(server.endpoint(), PROTOCOL,
                NetSettings.DEFAULT.withResponseTimeout(Duration.ofSeconds(2)));
    }

    @AfterEach
    void stop() {
        connection.close();
        server.close();
    }

    /** Sends a request answered after {@code delayMillis}; the answer is the name of the thread that read it. */
    private CompletableFuture<String> request(int delayMillis) {
        ByteBuf frame = FrameHeader.start(connection.allocator(), WIRE, FrameHeader.HEADER_LENGTH + 1, TYPE_ECHO, 0);
        frame.writeByte(delayMillis);
        return connection.send(FrameHeader.finish(frame), answer -> {
            FrameHeader.check(answer, WIRE, TYPE_ECHO);
            return Thread.currentThread().getName();
        });
    }

    @Test
    void aWaitingThreadReadsItsOwnAnswer() throws Exception {
        assertEquals(Thread.currentThread().getName(), request(20).get(30, TimeUnit.SECONDS));
        assertEquals(Thread.currentThread().getName(), request(0).join());
    }

    @Test
    void theBackstopReadsAnAnswerWhoseFutureHasDependentStages() throws Exception {
        CompletableFuture<String> reader = request(50).thenApply(name -> name);
        String name = reader.get(30, TimeUnit.SECONDS);
        assertTrue(name.startsWith("rolexkv-net-backstop"), "read by thread=" + name);
    }

    @Test
    void theBackstopReadsAForgottenAnswerBeforeItTimesOut() throws Exception {
        CompletableFuture<String> forgotten = request(0);
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
        while (!forgotten.isDone() && System.nanoTime() < deadline) {
            Thread.sleep(10);
        }
        assertTrue(forgotten.isDone(), "a request nobody waits for is read by the sweep's backstop");
        assertTrue(forgotten.resultNow().startsWith("rolexkv-net-backstop"), "read by thread=" + forgotten.resultNow());
        assertTrue(connection.isOpen(), "and the connection stays open");
    }

    @Test
    void aStageThatWaitsForAnotherRequestOnItsReadersConnectionIsRefused() throws Exception {
        AtomicReference<CompletableFuture<String>> later = new AtomicReference<>();
        // Answered first (the server answers in order), so its stage runs while the later one is still due.
        CompletableFuture<Object> stage = request(50).thenApply(name -> {
            try {
                return later.get().get();
            } catch (Exception e) {
                return e;
            }
        });
        later.set(request(200));
        Object outcome = stage.get(30, TimeUnit.SECONDS);
        assertInstanceOf(IllegalStateException.class, outcome, String.valueOf(outcome));
        assertTrue(later.get().get(30, TimeUnit.SECONDS).length() > 0, "the other request is still answered");
        assertTrue(connection.isOpen());
    }

    @Test
    void anInterruptedWaiterGivesUpWhileAnotherReadsAndEveryAnswerStillArrives() throws Exception {
        CompletableFuture<String> first = request(300);
        CompletableFuture<String> second = request(100);
        AtomicReference<Object> firstOutcome = new AtomicReference<>();
        AtomicReference<Object> secondOutcome = new AtomicReference<>();
        Thread one = Thread.ofPlatform().start(() -> firstOutcome.set(outcome(first)));
        Thread two = Thread.ofPlatform().start(() -> secondOutcome.set(outcome(second)));
        // Whichever reads, the other parks as a follower (WAITING); that one is interrupted.
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(20);
        while (one.getState() != Thread.State.WAITING && two.getState() != Thread.State.WAITING
                && System.nanoTime() < deadline) {
            Thread.sleep(1);
        }
        boolean twoFollows = two.getState() == Thread.State.WAITING;
        Thread follower = twoFollows ? two : one;
        follower.interrupt();
        one.join(TimeUnit.SECONDS.toMillis(30));
        two.join(TimeUnit.SECONDS.toMillis(30));
        Object followerOutcome = (twoFollows ? secondOutcome : firstOutcome).get();
        Object readerOutcome = (twoFollows ? firstOutcome : secondOutcome).get();
        assertInstanceOf(InterruptedException.class, followerOutcome, String.valueOf(followerOutcome));
        assertInstanceOf(String.class, readerOutcome, String.valueOf(readerOutcome));
        assertTrue(first.get(30, TimeUnit.SECONDS).length() > 0, "every answer still arrives");
        assertTrue(second.get(30, TimeUnit.SECONDS).length() > 0, "the interrupted waiter's answer still arrives");
        assertTrue(connection.isOpen());
    }

    private static Object outcome(CompletableFuture<String> future) {
        try {
            return future.get();
        } catch (InterruptedException | ExecutionException e) {
            return e;
        }
    }
}
