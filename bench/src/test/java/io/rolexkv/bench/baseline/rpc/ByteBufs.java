package io.rolexkv.bench.baseline.rpc;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;

/** Test conversions between Netty buffers and plain arrays. */
final class ByteBufs {
    private ByteBufs() {
    }

    /** The readable bytes of {@code buffer}, copied; the buffer is left as it was (the caller still owns it). */
    static byte[] bytes(ByteBuf buffer) {
        byte[] bytes = new byte[buffer.readableBytes()];
        buffer.getBytes(buffer.readerIndex(), bytes);
        return bytes;
    }

    /** The readable bytes of {@code buffer}, copied, and the buffer released: for a buffer made only to be read. */
    static byte[] drain(ByteBuf buffer) {
        try {
            return bytes(buffer);
        } finally {
            buffer.release();
        }
    }

    /** A frame buffer over {@code bytes}, as the splitter would hand it to a decoder. */
    static ByteBuf frame(byte[] bytes) {
        return Unpooled.wrappedBuffer(bytes);
    }
}
