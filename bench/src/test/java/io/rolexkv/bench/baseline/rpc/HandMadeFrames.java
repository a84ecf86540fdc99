package io.rolexkv.bench.baseline.rpc;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.Arrays;

import static io.rolexkv.bench.baseline.rpc.RpcFrameDescriptor.HEADER_LENGTH;

/** Frames built byte by byte, as a hostile or broken peer would, without the codec under test. */
final class HandMadeFrames {
    private HandMadeFrames() {
    }

    /** A frame with a correct header (request id 1) around {@code body}, whatever the body is. */
    static byte[] frame(byte type, byte[] body) {
        return frame(type, 1, body);
    }

    static byte[] frame(byte type, long requestId, byte[] body) {
        ByteBuffer frame = ByteBuffer.allocate(HEADER_LENGTH + body.length).order(ByteOrder.LITTLE_ENDIAN);
        frame.putInt(HEADER_LENGTH - 4 + body.length).put(RpcFrameDescriptor.WIRE.magic()).put(RpcFrameDescriptor.WIRE.version()).put(type).putLong(requestId).put(body);
        return frame.array();
    }

    static byte[] withByte(byte[] frame, int offset, int value) {
        byte[] changed = frame.clone();
        changed[offset] = (byte) value;
        return changed;
    }

    static byte[] intBytes(int value) {
        return ByteBuffer.allocate(4).order(ByteOrder.LITTLE_ENDIAN).putInt(0, value).array();
    }

    static byte[] longBytes(long value) {
        return ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN).putLong(0, value).array();
    }

    static byte[] concat(byte[]... parts) {
        int length = Arrays.stream(parts).mapToInt(part -> part.length).sum();
        byte[] joined = new byte[length];
        int at = 0;
        for (byte[] part : parts) {
            System.arraycopy(part, 0, joined, at, part.length);
            at += part.length;
        }
        return joined;
    }
}
