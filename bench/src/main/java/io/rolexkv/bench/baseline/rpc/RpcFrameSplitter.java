package io.rolexkv.bench.baseline.rpc;

import io.netty.buffer.ByteBuf;
import io.netty.channel.ChannelHandlerContext;
import io.netty.handler.codec.ByteToMessageDecoder;

import java.util.List;

/**
 * Cuts the byte stream into whole frames (length field included) for the handler behind it, refusing a frame as soon
 * as its length field is read if it is shorter than a header or longer than the largest frame this end accepts, so a
 * bad peer never makes this end buffer more than that. After a refusal it drops every later byte: the handler is
 * closing the connection. Each frame is a retained slice of the received bytes, not a copy. Used by both ends.
 */
final class RpcFrameSplitter extends ByteToMessageDecoder {
    private int maxFrameBytes;
    private boolean refused;

    RpcFrameSplitter(int maxFrameBytes) {
        this.maxFrameBytes = maxFrameBytes;
    }

    /** Changes the largest frame accepted from now on; call in the channel's event loop (the client does after HELLO). */
    void maxFrameBytes(int maxFrameBytes) {
        this.maxFrameBytes = maxFrameBytes;
    }

    @Override
    protected void decode(ChannelHandlerContext context, ByteBuf in, List<Object> out) throws RpcFrameException {
        if (refused) {
            in.skipBytes(in.readableBytes());
            return;
        }
        while (in.readableBytes() >= RpcFrameDescriptor.LENGTH_FIELD_BYTES) {
            int frameBytes;
            try {
                frameBytes = RpcFrameCodec.frameBytes(in, maxFrameBytes);
            } catch (RpcFrameException e) {
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
