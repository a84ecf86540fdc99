package io.rolexkv.common.fabric.tcp;

/**
 * A tcp transport frame breaks {@link FrameDescriptor}'s layout: bad magic or version, a type the receiver does not
 * expect, a length that disagrees with the bytes, an unknown verb kind, nonzero reserved operands, trailing bytes.
 * The only exception {@link FrameCodec}'s decoders throw for bad input. The receiver's answer is always the same:
 * close that connection (a peer that sends such a frame is broken or hostile) and go on serving the others.
 */
public final class FrameFormatException extends Exception {
    private static final long serialVersionUID = 1L;

    /** @param message key=value text naming what is wrong, e.g. {@code magic=0x00 expected=0xd7} */
    public FrameFormatException(String message) {
        super(message);
    }
}
