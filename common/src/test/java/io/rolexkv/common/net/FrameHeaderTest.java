package io.rolexkv.common.net;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.buffer.UnpooledByteBufAllocator;
import io.netty.channel.embedded.EmbeddedChannel;
import io.netty.handler.codec.DecoderException;
import org.junit.jupiter.api.Test;

import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The header and the splitter every protocol's frames go through, checked once here for all of them: sizes are
 * bounded from the length field alone, the request id sits where both ends read it, a header of another protocol is
 * refused, and the splitter hands on exactly the frames in a stream however the bytes are cut.
 */
class FrameHeaderTest {
    private static final FrameHeader.Wire WIRE = new FrameHeader.Wire("test", (byte) 0x5A, (byte) 1);
    private static final FrameHeader.Wire OTHER = new FrameHeader.Wire("other", (byte) 0x5B, (byte) 1);

    private static ByteBuf lengthOnly(int length) {
        return Unpooled.buffer().writeIntLE(length);
    }

    private static ByteBuf frame(int bodyBytes, long requestId) {
        ByteBuf frame = FrameHeader.start(UnpooledByteBufAllocator.DEFAULT, WIRE, FrameHeader.HEADER_LENGTH + bodyBytes,
                (byte) 7, requestId);
        for (int i = 0; i < bodyBytes; i++) {
            frame.writeByte(i);
        }
        return FrameHeader.finish(frame);
    }

    @Test
    void frameLengthsOutsideTheBoundsAreRefusedAsSoonAsTheLengthIsRead() throws Exception {
        int maxFrameBytes = 4096;
        int header = FrameHeader.HEADER_LENGTH;
        assertEquals(header, FrameHeader.frameBytes(lengthOnly(header - 4), maxFrameBytes));
        assertEquals(maxFrameBytes, FrameHeader.frameBytes(lengthOnly(maxFrameBytes - 4), maxFrameBytes));
        for (int length : new int[] {header - 5, 0, -1, Integer.MIN_VALUE, maxFrameBytes - 3, Integer.MAX_VALUE}) {
            FrameFormatException refused = assertThrows(FrameFormatException.class,
                    () -> FrameHeader.frameBytes(lengthOnly(length), maxFrameBytes), "length=" + length);
            assertTrue(refused.getMessage().contains("allowed=[" + header + "," + maxFrameBytes + "]"), refused.getMessage());
        }
    }

    @Test
    void theRequestIdIsStampedWhereTheServerReadsIt() throws Exception {
        ByteBuf frame = frame(3, 0);
        FrameHeader.stampRequestId(frame, 0x0102_0304_0506_0708L);
        assertEquals(0x0102_0304_0506_0708L, FrameHeader.requestId(frame));
        assertEquals(0x08, frame.getByte(FrameHeader.REQUEST_ID_OFFSET), "little-endian on the wire");
        assertEquals(7, FrameHeader.check(frame, WIRE));
        assertEquals(0, frame.readerIndex(), "checking reads nothing");
        frame.release();
    }

    @Test
    void aFrameOfAnotherProtocolOrVersionOrLengthIsRefused() {
        ByteBuf frame = frame(2, 9);
        FrameFormatException otherMagic = assertThrows(FrameFormatException.class, () -> FrameHeader.check(frame, OTHER));
        assertTrue(otherMagic.getMessage().contains("magic=0x5a expected=0x5b"), otherMagic.getMessage());
        frame.setByte(FrameHeader.VERSION_OFFSET, 2);
        assertTrue(assertThrows(FrameFormatException.class, () -> FrameHeader.check(frame, WIRE)).getMessage()
                .contains("version=2 supported=1"));
        frame.setByte(FrameHeader.VERSION_OFFSET, 1);
        assertTrue(assertThrows(FrameFormatException.class, () -> FrameHeader.check(frame, WIRE, (byte) 8)).getMessage()
                .contains("frame_type=7 expected=8"));
        frame.setIntLE(FrameHeader.LENGTH_OFFSET, frame.getIntLE(0) + 1);
        assertTrue(assertThrows(FrameFormatException.class, () -> FrameHeader.check(frame, WIRE)).getMessage()
                .contains("length field"));
        assertThrows(FrameFormatException.class, () -> FrameHeader.check(frame.slice(0, FrameHeader.HEADER_LENGTH - 1), WIRE));
        frame.release();
    }

    @Test
    void anEncoderThatWritesOtherThanItDeclaredIsCaught() {
        ByteBuf frame = FrameHeader.start(UnpooledByteBufAllocator.DEFAULT, WIRE, FrameHeader.HEADER_LENGTH + 4, (byte) 1, 0);
        frame.writeShortLE(1);
        assertThrows(IllegalStateException.class, () -> FrameHeader.finish(frame));
        assertEquals(0, frame.refCnt(), "the unfinished frame is released");
    }

    @Test
    void theSplitterHandsOnEveryFrameWholeHoweverTheStreamIsCut() {
        Random random = new Random(20261203L);
        for (int round = 0; round < 50; round++) {
            int frames = 1 + random.nextInt(20);
            ByteBuf stream = Unpooled.buffer();
            for (int i = 0; i < frames; i++) {
                ByteBuf frame = frame(random.nextInt(100), i);
                stream.writeBytes(frame);
                frame.release();
            }
            EmbeddedChannel channel = new EmbeddedChannel(new FrameSplitter(FrameHeader.HEADER_LENGTH + 100));
            while (stream.isReadable()) {
                channel.writeInbound(stream.readRetainedSlice(Math.min(stream.readableBytes(), 1 + random.nextInt(64))));
            }
            stream.release();
            for (int i = 0; i < frames; i++) {
                ByteBuf frame = channel.readInbound();
                assertEquals(i, FrameHeader.requestId(frame), "round=" + round);
                assertEquals(FrameHeader.LENGTH_FIELD_BYTES + frame.getIntLE(0), frame.readableBytes());
                frame.release();
            }
            assertNull(channel.readInbound());
            assertFalse(channel.finish());
        }
    }

    @Test
    void theSplitterRefusesAnOversizeFrameAtItsLengthAndDropsEverythingAfter() {
        EmbeddedChannel channel = new EmbeddedChannel(new FrameSplitter(64));
        ByteBuf good = frame(10, 1);
        ByteBuf stream = Unpooled.buffer().writeBytes(good).writeIntLE(1 << 30).writeBytes(new byte[32]);
        good.release();
        DecoderException refused = assertThrows(DecoderException.class, () -> channel.writeInbound(stream));
        assertInstanceOf(FrameFormatException.class, refused.getCause());
        ByteBuf first = channel.readInbound();
        assertEquals(1, FrameHeader.requestId(first), "the good frame before the bad one still gets through");
        first.release();
        ByteBuf more = frame(10, 2);
        channel.writeInbound(more);
        assertNull(channel.readInbound(), "nothing after a refusal");
        channel.finishAndReleaseAll();
    }
}
