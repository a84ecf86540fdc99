package io.rolexkv.common.net;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;

/**
 * What a protocol plugs into {@link FrameServer}: one per connection (so it may keep reusable state, such as a batch
 * to decode into), called only from that connection's event loop.
 */
public interface RequestHandler {

    /** The HELLO the server sends as soon as a client connects. */
    ByteBuf hello(ByteBufAllocator allocator);

    /**
     * Decodes the whole request frame {@code frame} (length field included), executes it and returns its answer,
     * whose header carries the request's id ({@link FrameHeader#requestId}). Must neither keep nor release
     * {@code frame}: the server releases it after this returns.
     *
     * @throws FrameFormatException if the frame breaks the protocol's layout; the connection is then closed after
     *                              the answers before it are flushed
     */
    ByteBuf answer(ByteBufAllocator allocator, ByteBuf frame) throws FrameFormatException;
}
