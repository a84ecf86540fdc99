package io.rolexkv.common.net;

import io.netty.buffer.ByteBuf;

/**
 * Turns one whole frame (length field included) into what its reader waits for: a protocol's HELLO, or the answer to
 * one request. On a {@link FrameConnection} it runs in the thread that reads the answer, once, and must not keep the frame
 * (the connection releases it afterwards).
 *
 * <p>A {@link FrameFormatException} means the server is broken: the connection closes and every pending request
 * fails. An unchecked exception from an answer's decoder is that request's own answer (a refusal the protocol carries
 * back): it fails that request alone and the connection stays open.
 *
 * @param <R> what the reader gets
 */
@FunctionalInterface
public interface FrameDecoder<R> {
    R decode(ByteBuf frame) throws FrameFormatException;
}
