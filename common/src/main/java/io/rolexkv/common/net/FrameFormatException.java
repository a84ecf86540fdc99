package io.rolexkv.common.net;

/**
 * A frame breaks its protocol's layout: bad magic or version, a type the receiver does not expect, a length that
 * disagrees with the bytes, a field out of range, trailing bytes. The only exception a frame decoder throws for bad
 * input, in every protocol on {@link FrameConnection} and {@link FrameServer}. The receiver's answer is always the
 * same: close that connection (a peer that sends such a frame is broken or hostile) and go on serving the others.
 * Checked, so no decoder can forget it.
 */
public final class FrameFormatException extends Exception {
    private static final long serialVersionUID = 1L;

    /** @param message key=value text naming what is wrong, e.g. {@code magic=0x00 expected=0xd7} */
    public FrameFormatException(String message) {
        super(message);
    }
}
