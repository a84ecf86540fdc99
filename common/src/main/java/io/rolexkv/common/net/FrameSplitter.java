package io.rolexkv.common.net;

import io.netty.buffer.ByteBuf;
import io.netty.channel.ChannelHandlerContext;
import io.netty.handler.codec.ByteToMessageDecoder;

import java.util.List;

/**
 * Cuts the byte stream into whole frames (length field included, {@link FrameHeader}) for the handler behind it,
 * refusing a frame as soon as its length field is read if the frame is shorter than a header or longer than the
 * largest frame this end accepts, so a bad peer never makes this end buffer more than that. After a refusal it drops
 * every later byte: the handler is closing the connection. Each frame is a retained slice of the received bytes, not
 * a copy. Used by both ends of every protocol.
 */
public final class FrameSplitter extends ByteToMessageDecoder {
    private int maxFrameBytes;
    private boolean refused;

    public FrameSplitter(int maxFrameBytes) {
        this.maxFrameBytes = maxFrameBytes;
    }

    /** Changes the largest frame accepted from now on; call in the channel's event loop (the client does after HELLO). */
    public void maxFrameBytes(int maxFrameBytes) {
        this.maxFrameBytes = maxFrameBytes;
    }

    @Override
    protected void decode(ChannelHandlerContext context, ByteBuf in, List<Object> out) throws FrameFormatException {
        if (refused) {
            in.skipBytes(in.readableBytes());
            return;
        }
        while (in.readableBytes() >= FrameHeader.LENGTH_FIELD_BYTES) {
            int frameBytes;
            try {
                frameBytes = FrameHeader.frameBytes(in, maxFrameBytes);
            } catch (FrameFormatException e) {
                refused = true;
                in.skipBytes(in.readableBytes());
                throw e;
            }
            if (in.readableBytes() < frameBytes) {
                return;
            }
            out.add(in.readRetainedSlice(frameBytes));
        }
    }
}
