package io.rolexkv.common.fabric.tcp;

import io.rolexkv.common.net.FrameFormatException;
import com.code_intelligence.jazzer.junit.FuzzTest;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import io.netty.buffer.ByteBufUtil;
import io.netty.buffer.Unpooled;
import io.rolexkv.common.fabric.BatchResult;
import io.rolexkv.common.fabric.DoorbellBatch;
import io.rolexkv.common.fabric.GlobalAddress;
import io.rolexkv.common.fabric.VerbRejectedException;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The decoders against arbitrary bytes: each either returns a well-formed frame or throws
 * {@link FrameFormatException}; any other exception (an index out of bounds, a negative allocation, an
 * IllegalArgumentException from a builder) fails the test. A decoded REQUEST or HELLO must re-encode to exactly the
 * bytes it came from, so the codec cannot accept a frame it would not itself write.
 *
 * <p>In the default run Jazzer replays the seeds under {@code FrameCodecFuzzTestInputs/} (valid and broken frames);
 * {@code JAZZER_FUZZ=1} with {@code -Dtest=FrameCodecFuzzTest} fuzzes for real.
 */
class FrameCodecFuzzTest {
    /** The batch every fuzzed COMPLETION claims to complete: READ 16, WRITE 4, CAS, FAA, READ 0. */
    private static final DoorbellBatch POSTED = posted();

    private static DoorbellBatch posted() {
        DoorbellBatch batch = new DoorbellBatch();
        batch.read(GlobalAddress.of(3, 0, 0), 16);
        batch.write(GlobalAddress.of(3, 0, 8), new byte[] {1, 2, 3, 4});
        batch.compareAndSwap(GlobalAddress.of(3, 0, 16), 5, 6);
        batch.fetchAndAdd(GlobalAddress.of(3, 0, 24), 7);
        batch.read(GlobalAddress.of(3, 1, 0), 0);
        return batch;
    }

    @FuzzTest(maxDuration = "60s")
    void requestDecoderDecodesOrRefuses(byte[] data) {
        FrameCodec.Request request;
        try {
            request = FrameCodec.decodeRequest(Unpooled.wrappedBuffer(data));
        } catch (FrameFormatException refused) {
            return;
        }
        assertArrayEquals(data, FrameCodecTest.encodeRequest(request.batchId(), request.batch()));
    }

    @FuzzTest(maxDuration = "60s")
    void completionDecoderDecodesOrRefuses(byte[] data) {
        FrameCodec.Completion completion;
        try {
            completion = FrameCodec.decodeCompletion(Unpooled.wrappedBuffer(data), POSTED);
        } catch (FrameFormatException refused) {
            return;
        }
        switch (completion) {
            case FrameCodec.Done done -> {
                BatchResult result = done.result();
                assertEquals(16, result.readBytes(0).length);
                assertEquals(0, result.readBytes(4).length);
                result.oldValue(2);
                result.oldValue(3);
            }
            case FrameCodec.Refused refused -> {
                VerbRejectedException rejection = refused.rejection();
                assertTrue(rejection.verbIndex() >= -1 && rejection.verbIndex() < POSTED.size());
                assertTrue(rejection.getMessage().startsWith(rejection.reason().name() + ": "));
            }
        }
    }

    @FuzzTest(maxDuration = "60s")
    void helloDecoderDecodesOrRefuses(byte[] data) {
        FrameCodec.Hello hello;
        try {
            hello = FrameCodec.decodeHello(Unpooled.wrappedBuffer(data));
        } catch (FrameFormatException refused) {
            return;
        }
        ByteBuf again = FrameCodec.encodeHello(ByteBufAllocator.DEFAULT, hello.memoryNodeId(), hello.incarnation(),
                hello.limits(), hello.regions());
        try {
            // Names that were not valid UTF-8 come back replaced, so compare what they decode to.
            assertEquals(hello, FrameCodec.decodeHello(Unpooled.wrappedBuffer(ByteBufUtil.getBytes(again))));
        } catch (FrameFormatException e) {
            throw new AssertionError("a decoded hello does not re-encode: " + e.getMessage(), e);
        } finally {
            again.release();
        }
    }
}
