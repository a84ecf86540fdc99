package io.rolexkv.common.net;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;

/**
 * The header every frame of every protocol on this layer starts with: the one place that says where its bytes live.
 * A protocol (the tcp fabric's verbs, the rpc baseline's operations) lays out only the body after it, in its own
 * descriptor, and tells its frames apart from another protocol's by its {@link Wire magic and version}.
 *
 * <pre>
 *   0                   1                   2                   3
 *   0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
 *  +---------------------------------------------------------------+
 *  |                     frame length (int32)                      |  bytes after this field
 *  +---------------+---------------+---------------+---------------+
 *  |  magic        |  version      |     type      |               |
 *  +---------------+---------------+---------------+               +
 *  |                       request id (int64)                      |
 *  +                                               +---------------+
 *  |                                               |  body ...     |
 *  +-----------------------------------------------+---------------+
 * </pre>
 * Every integer is little-endian. The length counts everything after itself: a frame is {@code 4 + length} bytes,
 * never fewer than {@link #HEADER_LENGTH} and never more than the receiver's largest frame; {@link FrameSplitter}
 * refuses either as soon as it has read the length. The request id is the client's own, unique per connection
 * ({@link FrameConnection} stamps it); the server only echoes it in the answer. A HELLO, which the server sends
 * unasked, carries request id 0.
 */
public final class FrameHeader {
    public static final int LENGTH_OFFSET = 0;
    public static final int LENGTH_FIELD_BYTES = Integer.BYTES;
    public static final int MAGIC_OFFSET = LENGTH_OFFSET + LENGTH_FIELD_BYTES;
    public static final int VERSION_OFFSET = MAGIC_OFFSET + 1;
    public static final int TYPE_OFFSET = VERSION_OFFSET + 1;
    public static final int REQUEST_ID_OFFSET = TYPE_OFFSET + 1;
    /** Bytes before any body: length, magic, version, type, request id. */
    public static final int HEADER_LENGTH = REQUEST_ID_OFFSET + Long.BYTES;

    /** A protocol's first two header bytes; a peer refuses frames with others. */
    public record Wire(String name, byte magic, byte version) {
    }

    private FrameHeader() {
    }

    /**
     * The whole size (length field included) of the frame whose length field starts at {@code in}'s reader index,
     * which must have at least {@link #LENGTH_FIELD_BYTES} readable bytes. Reads nothing.
     *
     * @throws FrameFormatException if the frame is shorter than a header or longer than {@code maxFrameBytes}
     */
    public static int frameBytes(ByteBuf in, int maxFrameBytes) throws FrameFormatException {
        long frameBytes = LENGTH_FIELD_BYTES + (long) in.getIntLE(in.readerIndex());
        if (frameBytes < HEADER_LENGTH || frameBytes > maxFrameBytes) {
            throw new FrameFormatException("frame_bytes=" + frameBytes + " allowed=[" + HEADER_LENGTH + "," + maxFrameBytes + "]");
        }
        return (int) frameBytes;
    }

    /**
     * A buffer of exactly {@code frameBytes} from {@code allocator} (direct where the channel's is), with the header
     * written and the writer index at the body.
     *
     * @throws IllegalArgumentException if no frame can be that large
     */
    public static ByteBuf start(ByteBufAllocator allocator, Wire wire, long frameBytes, byte type, long requestId) {
        if (frameBytes < HEADER_LENGTH || frameBytes > Integer.MAX_VALUE) {
            throw new IllegalArgumentException("frame_bytes=" + frameBytes + " allowed=[" + HEADER_LENGTH + ","
                    + Integer.MAX_VALUE + "]");
        }
        ByteBuf frame = allocator.ioBuffer((int) frameBytes, (int) frameBytes);
        frame.writeIntLE((int) frameBytes - LENGTH_FIELD_BYTES);
        frame.writeByte(wire.magic());
        frame.writeByte(wire.version());
        frame.writeByte(type);
        frame.writeLongLE(requestId);
        return frame;
    }

    /**
     * Checks an encoder wrote exactly the bytes the frame's length field declares, and returns the frame.
     *
     * @throws IllegalStateException (after releasing the frame) if it did not: a bug in the encoder
     */
    public static ByteBuf finish(ByteBuf frame) {
        int written = frame.readableBytes();
        int declared = LENGTH_FIELD_BYTES + frame.getIntLE(frame.readerIndex());
        if (written != declared) {
            frame.release();
            throw new IllegalStateException("encoder wrote bytes=" + written + " declared frame_bytes=" + declared);
        }
        return frame;
    }

    /**
     * Checks the header of the whole frame {@code frame} (length field included) against {@code wire}, without moving
     * its indices, and returns its type byte.
     *
     * @throws FrameFormatException if the frame is shorter than a header, its length field disagrees with its bytes,
     *                              or its magic or version is not {@code wire}'s
     */
    public static byte check(ByteBuf frame, Wire wire) throws FrameFormatException {
        int readable = frame.readableBytes();
        if (readable < HEADER_LENGTH) {
            throw new FrameFormatException("frame_bytes=" + readable + " shorter than header_bytes=" + HEADER_LENGTH);
        }
        int start = frame.readerIndex();
        long declared = LENGTH_FIELD_BYTES + (long) frame.getIntLE(start + LENGTH_OFFSET);
        if (declared != readable) {
            throw new FrameFormatException("length field says frame_bytes=" + declared + " but frame has bytes=" + readable);
        }
        byte magic = frame.getByte(start + MAGIC_OFFSET);
        if (magic != wire.magic()) {
            throw new FrameFormatException("magic=" + hex(magic) + " expected=" + hex(wire.magic()) + " protocol=" + wire.name());
        }
        byte version = frame.getByte(start + VERSION_OFFSET);
        if (version != wire.version()) {
            throw new FrameFormatException("version=" + version + " supported=" + wire.version() + " protocol=" + wire.name());
        }
        return frame.getByte(start + TYPE_OFFSET);
    }

    /** Checks the header as {@link #check} does and that the type is {@code expectedType}. */
    public static void check(ByteBuf frame, Wire wire, byte expectedType) throws FrameFormatException {
        byte type = check(frame, wire);
        if (type != expectedType) {
            throw new FrameFormatException("frame_type=" + type + " expected=" + expectedType);
        }
    }

    /** The request id of a frame at least {@link #HEADER_LENGTH} long. Reads nothing. */
    public static long requestId(ByteBuf frame) {
        return frame.getLongLE(frame.readerIndex() + REQUEST_ID_OFFSET);
    }

    /** Writes {@code requestId} into an encoded frame's header. */
    public static void stampRequestId(ByteBuf frame, long requestId) {
        frame.setLongLE(frame.readerIndex() + REQUEST_ID_OFFSET, requestId);
    }

    /** {@code 0xd7} for a byte. */
    public static String hex(byte value) {
        return String.format("0x%02x", value & 0xFF);
    }
}
