package io.rolexkv.bench.baseline.rpc;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import io.netty.buffer.Unpooled;
import io.rolexkv.common.kv.KeyValueBytes;
import io.rolexkv.common.net.FrameFormatException;
import io.rolexkv.common.net.FrameHeader;

import java.lang.foreign.MemorySegment;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

import static io.rolexkv.bench.baseline.rpc.RpcFrameDescriptor.*;

/**
 * The one codec of the rpc baseline's frames, for both ends: the client encodes requests and decodes responses, the
 * server decodes requests and encodes responses. Layouts are {@link RpcFrameDescriptor}'s.
 *
 * <p>Decoders trust nothing: every count and length is checked against the bytes that are really there before
 * anything is allocated, and a frame must decode to exactly its length; a frame that does not is a
 * {@link FrameFormatException} naming what was wrong. Encoders compute each frame's exact size first, allocate it once,
 * and check they wrote exactly that much.
 */
final class RpcFrameCodec {
    /** Longest error message sent in a BAD_ARGUMENT or FAILED answer, in characters; longer ones are cut. */
    static final int MAX_MESSAGE_CHARS = 2000;

    private RpcFrameCodec() {
    }

    private static ByteBuf start(ByteBufAllocator allocator, long frameBytes, byte type, long requestId) {
        return FrameHeader.start(allocator, WIRE, frameBytes, type, requestId);
    }

    private static ByteBuf finish(ByteBuf frame) {
        return FrameHeader.finish(frame);
    }

    // ---------------------------------------------------------------------------------------------------------------
    // HELLO
    // ---------------------------------------------------------------------------------------------------------------

    /** What a server told a client when it connected. */
    record Hello(int maxValueBytes, int maxFrameBytes) {
    }

    static ByteBuf encodeHello(ByteBufAllocator allocator, int maxValueBytes, int maxFrameBytes) {
        ByteBuf frame = start(allocator, HELLO_LENGTH, TYPE_HELLO, 0);
        frame.writeIntLE(maxValueBytes);
        frame.writeIntLE(maxFrameBytes);
        return finish(frame);
    }

    static Hello decodeHello(ByteBuf frame) throws FrameFormatException {
        byte type = FrameHeader.check(frame, WIRE);
        if (type != TYPE_HELLO) {
            throw new FrameFormatException("expected a hello, got type=" + type);
        }
        if (frame.readableBytes() != HELLO_LENGTH) {
            throw new FrameFormatException("hello frame_bytes=" + frame.readableBytes() + " expected=" + HELLO_LENGTH);
        }
        int start = frame.readerIndex();
        int maxValueBytes = frame.getIntLE(start + HELLO_MAX_VALUE_BYTES_OFFSET);
        int maxFrameBytes = frame.getIntLE(start + HELLO_MAX_FRAME_BYTES_OFFSET);
        if (maxValueBytes < 0 || maxFrameBytes < minMaxFrameBytes(maxValueBytes)) {
            throw new FrameFormatException("hello max_value_bytes=" + maxValueBytes + " max_frame_bytes=" + maxFrameBytes
                    + " needs max_frame_bytes >= " + minMaxFrameBytes(Math.max(0, maxValueBytes)));
        }
        return new Hello(maxValueBytes, maxFrameBytes);
    }

    // ---------------------------------------------------------------------------------------------------------------
    // Requests: encoded by the client (request id 0 until stamped), decoded by the server
    // ---------------------------------------------------------------------------------------------------------------

    static ByteBuf encodeGet(ByteBufAllocator allocator, long key) {
        ByteBuf frame = start(allocator, GET_REQUEST_LENGTH, RpcRequestType.GET.code(), 0);
        frame.writeLongLE(key);
        return finish(frame);
    }

    static ByteBuf encodePut(ByteBufAllocator allocator, long key, byte[] value) {
        ByteBuf frame = start(allocator, putRequestLength(value.length), RpcRequestType.PUT.code(), 0);
        writePair(frame, key, value);
        return finish(frame);
    }

    static ByteBuf encodeDelete(ByteBufAllocator allocator, long key) {
        ByteBuf frame = start(allocator, DELETE_REQUEST_LENGTH, RpcRequestType.DELETE.code(), 0);
        frame.writeLongLE(key);
        return finish(frame);
    }

    /** Asks the keys {@code keys[from..to)}. */
    static ByteBuf encodeBatchGet(ByteBufAllocator allocator, long[] keys, int from, int to) {
        ByteBuf frame = start(allocator, batchGetRequestLength(to - from), RpcRequestType.BATCH_GET.code(), 0);
        frame.writeIntLE(to - from);
        for (int i = from; i < to; i++) {
            frame.writeLongLE(keys[i]);
        }
        return finish(frame);
    }

    /** Bytes a pair takes in a BATCH_PUT or BULK_LOAD frame. */
    static long pairBytes(byte[] value) {
        return PAIR_HEADER_BYTES + (long) value.length;
    }

    /** Puts the pairs {@code [from..to)}. */
    static ByteBuf encodeBatchPut(ByteBufAllocator allocator, long[] keys, List<byte[]> values, int from, int to) {
        ByteBuf frame = start(allocator, BATCH_PUT_FIXED_LENGTH + pairsBytes(values, from, to),
                RpcRequestType.BATCH_PUT.code(), 0);
        frame.writeIntLE(to - from);
        for (int i = from; i < to; i++) {
            writePair(frame, keys[i], values.get(i));
        }
        return finish(frame);
    }

    static ByteBuf encodeScan(ByteBufAllocator allocator, long fromKey, long toKey, int limit) {
        ByteBuf frame = start(allocator, SCAN_REQUEST_LENGTH, RpcRequestType.SCAN.code(), 0);
        frame.writeLongLE(fromKey);
        frame.writeLongLE(toKey);
        frame.writeIntLE(limit);
        return finish(frame);
    }

    static ByteBuf encodeCompareAndSet(ByteBufAllocator allocator, long key, Optional<byte[]> expected,
                                       Optional<byte[]> desired) {
        byte[] expectedBytes = expected.orElse(null);
        byte[] desiredBytes = desired.orElse(null);
        ByteBuf frame = start(allocator, compareAndSetRequestLength(expectedBytes, desiredBytes),
                RpcRequestType.COMPARE_AND_SET.code(), 0);
        frame.writeLongLE(key);
        writeOptionalValue(frame, expectedBytes);
        writeOptionalValue(frame, desiredBytes);
        return finish(frame);
    }

    /** Loads the pairs {@code [from..to)}; {@code replace} empties the store first. */
    static ByteBuf encodeBulkLoad(ByteBufAllocator allocator, boolean replace, long[] keys, List<byte[]> values,
                                  int from, int to) {
        ByteBuf frame = start(allocator, BULK_LOAD_FIXED_LENGTH + pairsBytes(values, from, to),
                RpcRequestType.BULK_LOAD.code(), 0);
        frame.writeByte(replace ? 1 : 0);
        frame.writeIntLE(to - from);
        for (int i = from; i < to; i++) {
            writePair(frame, keys[i], values.get(i));
        }
        return finish(frame);
    }

    static ByteBuf encodeClear(ByteBufAllocator allocator) {
        return finish(start(allocator, HEADER_LENGTH, RpcRequestType.CLEAR.code(), 0));
    }

    static ByteBuf encodeStats(ByteBufAllocator allocator) {
        return finish(start(allocator, HEADER_LENGTH, RpcRequestType.STATS.code(), 0));
    }

    private static long pairsBytes(List<byte[]> values, int from, int to) {
        long bytes = 0;
        for (int i = from; i < to; i++) {
            bytes += pairBytes(values.get(i));
        }
        return bytes;
    }

    private static void writePair(ByteBuf frame, long key, byte[] value) {
        frame.writeLongLE(key);
        frame.writeIntLE(value.length);
        frame.writeBytes(value);
    }

    private static void writeOptionalValue(ByteBuf frame, byte[] value) {
        if (value == null) {
            frame.writeIntLE(ABSENT_LENGTH);
        } else {
            frame.writeIntLE(value.length);
            frame.writeBytes(value);
        }
    }

    /** Decodes a whole REQUEST frame (length field included) without moving {@code frame}'s indices. */
    static RpcRequest decodeRequest(ByteBuf frame) throws FrameFormatException {
        byte code = FrameHeader.check(frame, WIRE);
        RpcRequestType type = RpcRequestType.fromCode(code);
        if (type == null) {
            throw new FrameFormatException("unknown request type=" + code);
        }
        ByteBuf in = frame.duplicate();
        in.skipBytes(HEADER_LENGTH);
        RpcRequest request = switch (type) {
            case GET -> new RpcRequest.Get(readLong(in, "get key"));
            case PUT -> {
                long key = readLong(in, "put key");
                yield new RpcRequest.Put(key, readValue(in, "put value"));
            }
            case DELETE -> new RpcRequest.Delete(readLong(in, "delete key"));
            case BATCH_GET -> {
                int count = readCount(in, Long.BYTES, "batch_get");
                long[] keys = new long[count];
                for (int i = 0; i < count; i++) {
                    keys[i] = in.readLongLE();
                }
                yield new RpcRequest.BatchGet(keys);
            }
            case BATCH_PUT -> {
                int count = readCount(in, PAIR_HEADER_BYTES, "batch_put");
                long[] keys = new long[count];
                List<byte[]> values = readPairs(in, keys, "batch_put");
                yield new RpcRequest.BatchPut(keys, values);
            }
            case SCAN -> {
                long fromKey = readLong(in, "scan from key");
                long toKey = readLong(in, "scan to key");
                yield new RpcRequest.Scan(fromKey, toKey, readInt(in, "scan limit"));
            }
            case COMPARE_AND_SET -> {
                long key = readLong(in, "compare_and_set key");
                byte[] expected = readOptionalValue(in, "compare_and_set expected");
                yield new RpcRequest.CompareAndSet(key, expected, readOptionalValue(in, "compare_and_set desired"));
            }
            case BULK_LOAD -> {
                need(in, 1, "bulk_load replace");
                byte replace = in.readByte();
                if (replace != 0 && replace != 1) {
                    throw new FrameFormatException("bulk_load replace=" + replace + " allowed=[0,1]");
                }
                int count = readCount(in, PAIR_HEADER_BYTES, "bulk_load");
                long[] keys = new long[count];
                List<byte[]> values = readPairs(in, keys, "bulk_load");
                yield new RpcRequest.BulkLoad(replace == 1, keys, values);
            }
            case CLEAR -> new RpcRequest.Clear();
            case STATS -> new RpcRequest.Stats();
        };
        if (in.isReadable()) {
            throw new FrameFormatException(type + " request has trailing_bytes=" + in.readableBytes());
        }
        return request;
    }

    private static List<byte[]> readPairs(ByteBuf in, long[] keys, String what) throws FrameFormatException {
        List<byte[]> values = new ArrayList<>(keys.length);
        for (int i = 0; i < keys.length; i++) {
            keys[i] = readLong(in, what + " key");
            values.add(readValue(in, what + " value"));
        }
        return values;
    }

    // ---------------------------------------------------------------------------------------------------------------
    // Responses: encoded by the server, decoded by the client
    // ---------------------------------------------------------------------------------------------------------------

    static ByteBuf encodeReply(ByteBufAllocator allocator, long requestId, RpcRequestType type, RpcReply reply) {
        byte responseType = type.responseCode();
        return switch (reply) {
            case RpcReply.Done done -> {
                ByteBuf frame = start(allocator, RESPONSE_HEADER_LENGTH, responseType, requestId);
                frame.writeByte(STATUS_OK);
                yield finish(frame);
            }
            case RpcReply.Value value -> {
                ByteBuf frame = start(allocator, valueResponseLength(value.value()), responseType, requestId);
                frame.writeByte(STATUS_OK);
                writeOptionalValue(frame, value.value());
                yield finish(frame);
            }
            case RpcReply.Removed removed -> {
                ByteBuf frame = start(allocator, DELETE_RESPONSE_LENGTH, responseType, requestId);
                frame.writeByte(STATUS_OK);
                frame.writeByte(removed.removed() ? 1 : 0);
                yield finish(frame);
            }
            case RpcReply.Values values -> {
                long frameBytes = BATCH_GET_RESPONSE_FIXED_LENGTH;
                for (byte[] value : values.values()) {
                    frameBytes += optionalValueLength(value);
                }
                ByteBuf frame = start(allocator, frameBytes, responseType, requestId);
                frame.writeByte(STATUS_OK);
                frame.writeIntLE(values.values().length);
                for (byte[] value : values.values()) {
                    writeOptionalValue(frame, value);
                }
                yield finish(frame);
            }
            case RpcReply.ScanPage page -> {
                long frameBytes = SCAN_RESPONSE_FIXED_LENGTH;
                for (KeyValueBytes pair : page.pairs()) {
                    frameBytes += pairBytes(pair.value());
                }
                ByteBuf frame = start(allocator, frameBytes, responseType, requestId);
                frame.writeByte(STATUS_OK);
                frame.writeIntLE(page.pairs().size());
                frame.writeByte(page.more() ? 1 : 0);
                for (KeyValueBytes pair : page.pairs()) {
                    writePair(frame, pair.key(), pair.value());
                }
                yield finish(frame);
            }
            case RpcReply.Conflict conflict -> {
                ByteBuf frame = start(allocator, valueResponseLength(conflict.current()), responseType, requestId);
                frame.writeByte(STATUS_CONFLICT);
                writeOptionalValue(frame, conflict.current());
                yield finish(frame);
            }
            case RpcReply.Stats stats -> {
                ByteBuf frame = start(allocator, STATS_RESPONSE_LENGTH, responseType, requestId);
                frame.writeByte(STATUS_OK);
                RpcServerStats figures = stats.stats();
                frame.writeLongLE(figures.requests());
                frame.writeLongLE(figures.bytesReceived());
                frame.writeLongLE(figures.bytesSent());
                frame.writeLongLE(figures.ioThreadCpuNanos());
                frame.writeLongLE(figures.processCpuNanos());
                yield finish(frame);
            }
            case RpcReply.Refused refused -> encodeError(allocator, requestId, responseType, STATUS_BAD_ARGUMENT,
                    refused.message());
            case RpcReply.Failed failed -> encodeError(allocator, requestId, responseType, STATUS_FAILED,
                    failed.message());
        };
    }

    private static ByteBuf encodeError(ByteBufAllocator allocator, long requestId, byte responseType, byte status,
                                       String message) {
        String cut = message.length() > MAX_MESSAGE_CHARS ? message.substring(0, MAX_MESSAGE_CHARS) : message;
        byte[] bytes = cut.getBytes(StandardCharsets.UTF_8);
        ByteBuf frame = start(allocator, errorResponseLength(bytes.length), responseType, requestId);
        frame.writeByte(status);
        frame.writeIntLE(bytes.length);
        frame.writeBytes(bytes);
        return finish(frame);
    }

    /**
     * A RESPONSE frame as the client holds it: its bytes copied out of the network buffer (so values can be handed
     * out as views of them, without a second copy), and its header already checked.
     */
    record Response(RpcRequestType type, long requestId, byte status, byte[] frame) {
        /** The whole frame as a little-endian buffer positioned at the body. */
        ByteBuf body() {
            return Unpooled.wrappedBuffer(frame).readerIndex(RESPONSE_HEADER_LENGTH);
        }
    }

    /** Copies a whole RESPONSE frame and checks its header: magic, version, a response type, a known status. */
    static Response readResponse(ByteBuf frame) throws FrameFormatException {
        byte code = FrameHeader.check(frame, WIRE);
        if ((code & RESPONSE_TYPE_BIT) == 0) {
            throw new FrameFormatException("expected a response, got type=" + code);
        }
        RpcRequestType type = RpcRequestType.fromCode((byte) (code & ~RESPONSE_TYPE_BIT));
        if (type == null) {
            throw new FrameFormatException("response to unknown request type=" + (code & ~RESPONSE_TYPE_BIT));
        }
        if (frame.readableBytes() < RESPONSE_HEADER_LENGTH) {
            throw new FrameFormatException("response frame_bytes=" + frame.readableBytes() + " has no status");
        }
        byte status = frame.getByte(frame.readerIndex() + STATUS_OFFSET);
        if (status < STATUS_OK || status > STATUS_FAILED) {
            throw new FrameFormatException("unknown status=" + status);
        }
        byte[] bytes = new byte[frame.readableBytes()];
        frame.getBytes(frame.readerIndex(), bytes);
        return new Response(type, FrameHeader.requestId(frame), status, bytes);
    }

    /** OK with no body. */
    static void decodeDone(Response response) throws FrameFormatException {
        end(response.body(), response.type() + " response");
    }

    /** A GET answer's or a CONFLICT answer's value, copied. */
    static Optional<byte[]> decodeValue(Response response) throws FrameFormatException {
        ByteBuf body = response.body();
        byte[] value = readOptionalValue(body, response.type() + " value");
        end(body, response.type() + " response");
        return Optional.ofNullable(value);
    }

    /** A GET answer's value as a read-only view of the response frame: no copy. */
    static Optional<MemorySegment> decodeValueView(Response response) throws FrameFormatException {
        ByteBuf body = response.body();
        int length = readInt(body, "get value length");
        if (length == ABSENT_LENGTH) {
            end(body, "get response");
            return Optional.empty();
        }
        if (length < 0 || length != body.readableBytes()) {
            throw new FrameFormatException("get value length=" + length + " remaining=" + body.readableBytes());
        }
        return Optional.of(MemorySegment.ofArray(response.frame()).asSlice(body.readerIndex(), length).asReadOnly());
    }

    static boolean decodeRemoved(Response response) throws FrameFormatException {
        ByteBuf body = response.body();
        need(body, 1, "delete removed");
        byte removed = body.readByte();
        if (removed != 0 && removed != 1) {
            throw new FrameFormatException("delete removed=" + removed + " allowed=[0,1]");
        }
        end(body, "delete response");
        return removed == 1;
    }

    /**
     * Appends the values a BATCH_GET answered to {@code out} and returns how many: at least 1, at most {@code asked}.
     */
    static int decodeBatchGet(Response response, int asked, List<Optional<byte[]>> out) throws FrameFormatException {
        ByteBuf body = response.body();
        int answered = readCount(body, VALUE_LENGTH_BYTES, "batch_get answer");
        if (answered < 1 || answered > asked) {
            throw new FrameFormatException("batch_get answered=" + answered + " asked=" + asked);
        }
        for (int i = 0; i < answered; i++) {
            out.add(Optional.ofNullable(readOptionalValue(body, "batch_get value")));
        }
        end(body, "batch_get response");
        return answered;
    }

    /**
     * Appends a SCAN answer's pairs to {@code out} after checking there are at most {@code limit}, in strictly
     * increasing key order, each above the pairs already in {@code out} (earlier pages of the same scan); returns the
     * answer's {@code more} flag.
     */
    static boolean decodeScan(Response response, int limit, List<KeyValueBytes> out) throws FrameFormatException {
        ByteBuf body = response.body();
        int count = readCount(body, PAIR_HEADER_BYTES, "scan answer");
        if (count > limit) {
            throw new FrameFormatException("scan answered count=" + count + " limit=" + limit);
        }
        need(body, 1, "scan more");
        byte more = body.readByte();
        if (more != 0 && more != 1) {
            throw new FrameFormatException("scan more=" + more + " allowed=[0,1]");
        }
        for (int i = 0; i < count; i++) {
            long key = readLong(body, "scan key");
            if (!out.isEmpty() && Long.compareUnsigned(out.getLast().key(), key) >= 0) {
                throw new FrameFormatException("scan keys out of order: " + Long.toUnsignedString(out.getLast().key())
                        + " then " + Long.toUnsignedString(key));
            }
            out.add(new KeyValueBytes(key, readValue(body, "scan value")));
        }
        end(body, "scan response");
        if (more == 1 && count == 0) {
            throw new FrameFormatException("scan answered no pair but more=1");
        }
        return more == 1;
    }

    static RpcServerStats decodeStats(Response response) throws FrameFormatException {
        ByteBuf body = response.body();
        need(body, 5L * Long.BYTES, "stats");
        RpcServerStats stats = new RpcServerStats(body.readLongLE(), body.readLongLE(), body.readLongLE(),
                body.readLongLE(), body.readLongLE());
        end(body, "stats response");
        return stats;
    }

    /** The message of a BAD_ARGUMENT or FAILED answer. */
    static String decodeErrorMessage(Response response) throws FrameFormatException {
        ByteBuf body = response.body();
        int length = readCount(body, 1, "error message");
        byte[] bytes = new byte[length];
        body.readBytes(bytes);
        end(body, "error response");
        return new String(bytes, StandardCharsets.UTF_8);
    }

    // ---------------------------------------------------------------------------------------------------------------
    // Checked reads
    // ---------------------------------------------------------------------------------------------------------------

    private static void need(ByteBuf in, long bytes, String what) throws FrameFormatException {
        if (in.readableBytes() < bytes) {
            throw new FrameFormatException("truncated " + what + ": needs bytes=" + bytes + " remaining=" + in.readableBytes());
        }
    }

    private static void end(ByteBuf in, String what) throws FrameFormatException {
        if (in.isReadable()) {
            throw new FrameFormatException(what + " has trailing_bytes=" + in.readableBytes());
        }
    }

    private static long readLong(ByteBuf in, String what) throws FrameFormatException {
        need(in, Long.BYTES, what);
        return in.readLongLE();
    }

    private static int readInt(ByteBuf in, String what) throws FrameFormatException {
        need(in, Integer.BYTES, what);
        return in.readIntLE();
    }

    /** A count of elements at least {@code minimumElementBytes} each, which must all fit in what is left. */
    private static int readCount(ByteBuf in, int minimumElementBytes, String what) throws FrameFormatException {
        int count = readInt(in, what + " count");
        if (count < 0 || (long) count * minimumElementBytes > in.readableBytes()) {
            throw new FrameFormatException(what + " count=" + count + " does not fit remaining=" + in.readableBytes());
        }
        return count;
    }

    /** A value that must be present: length (never -1) and bytes. */
    private static byte[] readValue(ByteBuf in, String what) throws FrameFormatException {
        byte[] value = readOptionalValue(in, what);
        if (value == null) {
            throw new FrameFormatException(what + " is absent where a value is required");
        }
        return value;
    }

    private static byte[] readOptionalValue(ByteBuf in, String what) throws FrameFormatException {
        int length = readInt(in, what + " length");
        if (length == ABSENT_LENGTH) {
            return null;
        }
        if (length < 0) {
            throw new FrameFormatException(what + " length=" + length);
        }
        need(in, length, what);
        byte[] value = new byte[length];
        in.readBytes(value);
        return value;
    }
}
