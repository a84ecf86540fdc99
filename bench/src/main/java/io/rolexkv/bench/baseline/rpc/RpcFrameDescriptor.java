package io.rolexkv.bench.baseline.rpc;

import io.rolexkv.common.net.FrameHeader;

/**
 * Where every byte of an rpc baseline frame lives: the one place that says it. {@link RpcFrameCodec} reads and writes
 * frames with these offsets and sizes, and nothing else does.
 *
 * <p>The rpc baseline is the traditional design the one-sided engines are compared against: the client sends an
 * operation, the server's CPU executes it on its own map and answers. Over one tcp connection the server first sends a
 * HELLO; then the client sends REQUEST frames and the server answers each with one RESPONSE frame carrying the same
 * request id. A client may pipeline (send more requests before the answers come); the server executes the requests of
 * one connection in the order they arrive and answers in that order, but a client matches answers by request id.
 * Every integer is little-endian.
 *
 * <h2>Every frame</h2>
 * Every frame starts with the network layer's header ({@link FrameHeader}: length, magic, version, type, request id)
 * with this protocol's {@link #WIRE} magic and version. A frame is never more than the server's max frame bytes (sent
 * in its HELLO). A receiver closes the connection on a frame out of bounds, a wrong magic or version, an unknown
 * type, or a body that does not decode to exactly its length: no well-behaved peer sends such a frame.
 *
 * <h2>HELLO (type 0x40, server to client, once, first; request id 0)</h2>
 * <pre>
 *  +-------------------------+-------------------------+
 *  | max value bytes (i32)   | max frame bytes (i32)   |
 *  +-------------------------+-------------------------+
 * </pre>
 *
 * <h2>REQUEST (type = the {@link RpcRequestType} code, 1..10, client to server)</h2>
 * Two encodings recur. An <em>optional value</em> is a length (i32) then that many bytes; length -1 means absent and
 * has no bytes. A <em>pair</em> is a key (i64), a length (i32, never -1) and the value bytes.
 * <pre>
 *  GET              | key (i64) |
 *  PUT              | key (i64) | value length (i32) | value |
 *  DELETE           | key (i64) |
 *  BATCH_GET        | count (i32) | count keys (i64) |
 *  BATCH_PUT        | count (i32) | count pairs |                 applied in order: a later pair wins
 *  SCAN             | from key (i64) | to key (i64) | limit (i32) |      both bounds inclusive, unsigned
 *  COMPARE_AND_SET  | key (i64) | expected (optional value) | desired (optional value) |
 *  BULK_LOAD        | replace (u8, 0 or 1) | count (i32) | count pairs, strictly increasing keys |
 *  CLEAR            | (no body) |
 *  STATS            | (no body) |
 * </pre>
 * COMPARE_AND_SET writes {@code desired} (absent: deletes the key) only if the stored value is byte for byte
 * {@code expected} (absent: the key is absent). BULK_LOAD with replace 1 empties the store first; a client splits a
 * large load into one replacing frame and further appending ones.
 *
 * <h2>RESPONSE (type = 0x80 | the request's type, server to client, one per request)</h2>
 * <pre>
 *  +---------------------------------------------------------------+
 *  |  frame header as above, request id of the request             |
 *  +---------------+-----------------------------------------------+
 *  |  status (u8)  |  body, by request type and status ...         |
 *  +---------------+-----------------------------------------------+
 *
 *  status OK (0):
 *  GET              | value (optional value) |
 *  DELETE           | removed (u8, 0 or 1) |
 *  BATCH_GET        | answered (i32) | answered optional values |  the first `answered` keys asked, in order
 *  SCAN             | count (i32) | more (u8) | count pairs |        more 1: the frame filled before the range ended
 *  STATS            | requests (i64) | bytes received (i64) | bytes sent (i64) | io thread cpu ns (i64) |
 *                   | process cpu ns (i64) |
 *  PUT, BATCH_PUT, COMPARE_AND_SET, BULK_LOAD, CLEAR: no body
 *
 *  status CONFLICT (1), COMPARE_AND_SET only: | current value (optional value) |
 *  status BAD_ARGUMENT (2) and FAILED (3):    | message length (i32) | message (UTF-8, key=value) |
 * </pre>
 * A BATCH_GET or SCAN answer is cut short rather than exceed the max frame bytes: BATCH_GET answers fewer keys than
 * asked (at least one), SCAN sets {@code more}; the client asks again for the rest. BAD_ARGUMENT is a refused request
 * (the client sees {@link IllegalArgumentException}, the store is unchanged); FAILED is a server-side error. Neither
 * closes the connection.
 */
public final class RpcFrameDescriptor {
    /** This protocol's magic and version in {@link FrameHeader}; a peer refuses frames of another. */
    public static final FrameHeader.Wire WIRE = new FrameHeader.Wire("rpc", (byte) 0xB5, (byte) 2);

    public static final byte TYPE_HELLO = 0x40;
    /** A response's type is this bit set on its request's type. */
    public static final byte RESPONSE_TYPE_BIT = (byte) 0x80;

    public static final byte STATUS_OK = 0;
    public static final byte STATUS_CONFLICT = 1;
    public static final byte STATUS_BAD_ARGUMENT = 2;
    public static final byte STATUS_FAILED = 3;

    /** The length field's value for an absent optional value. */
    public static final int ABSENT_LENGTH = -1;

    /** Bytes before any request or hello body: {@link FrameHeader#HEADER_LENGTH}. */
    public static final int HEADER_LENGTH = FrameHeader.HEADER_LENGTH;

    // HELLO.
    public static final int HELLO_MAX_VALUE_BYTES_OFFSET = HEADER_LENGTH;
    public static final int HELLO_MAX_FRAME_BYTES_OFFSET = HELLO_MAX_VALUE_BYTES_OFFSET + Integer.BYTES;
    public static final int HELLO_LENGTH = HELLO_MAX_FRAME_BYTES_OFFSET + Integer.BYTES;

    // RESPONSE.
    public static final int STATUS_OFFSET = HEADER_LENGTH;
    /** Bytes before any response body. */
    public static final int RESPONSE_HEADER_LENGTH = STATUS_OFFSET + 1;

    /** An optional value's or a pair's length field. */
    public static final int VALUE_LENGTH_BYTES = Integer.BYTES;
    /** A pair without its value bytes: key and length. */
    public static final int PAIR_HEADER_BYTES = Long.BYTES + VALUE_LENGTH_BYTES;
    /** A count field (BATCH_GET, BATCH_PUT, BULK_LOAD, SCAN answers). */
    public static final int COUNT_BYTES = Integer.BYTES;

    public static final int GET_REQUEST_LENGTH = HEADER_LENGTH + Long.BYTES;
    public static final int DELETE_REQUEST_LENGTH = HEADER_LENGTH + Long.BYTES;
    public static final int DELETE_RESPONSE_LENGTH = RESPONSE_HEADER_LENGTH + 1;
    public static final int SCAN_REQUEST_LENGTH = HEADER_LENGTH + Long.BYTES + Long.BYTES + Integer.BYTES;
    /** A SCAN answer without its pairs: status header, count, more. */
    public static final int SCAN_RESPONSE_FIXED_LENGTH = RESPONSE_HEADER_LENGTH + COUNT_BYTES + 1;
    public static final int BATCH_GET_RESPONSE_FIXED_LENGTH = RESPONSE_HEADER_LENGTH + COUNT_BYTES;
    public static final int STATS_RESPONSE_LENGTH = RESPONSE_HEADER_LENGTH + 5 * Long.BYTES;
    /** BATCH_PUT and BULK_LOAD frames without their pairs. */
    public static final int BATCH_PUT_FIXED_LENGTH = HEADER_LENGTH + COUNT_BYTES;
    public static final int BULK_LOAD_FIXED_LENGTH = HEADER_LENGTH + 1 + COUNT_BYTES;

    /**
     * The smallest max frame a server with {@code maxValueBytes} may use: a COMPARE_AND_SET carries two values, and
     * a BATCH_GET or SCAN answer must hold at least one.
     */
    public static long minMaxFrameBytes(int maxValueBytes) {
        return HEADER_LENGTH + Long.BYTES + 2L * (VALUE_LENGTH_BYTES + (long) maxValueBytes) + 64;
    }

    /** Bytes of a PUT frame for a value of {@code valueLength}. */
    public static int putRequestLength(int valueLength) {
        return HEADER_LENGTH + PAIR_HEADER_BYTES + valueLength;
    }

    /** Bytes of an optional value's encoding. */
    public static int optionalValueLength(byte[] value) {
        return VALUE_LENGTH_BYTES + (value == null ? 0 : value.length);
    }

    /** Bytes of a COMPARE_AND_SET frame; {@code null} stands for an absent value. */
    public static int compareAndSetRequestLength(byte[] expected, byte[] desired) {
        return HEADER_LENGTH + Long.BYTES + optionalValueLength(expected) + optionalValueLength(desired);
    }

    /** Bytes of a GET answer, or a CONFLICT answer, carrying {@code value} ({@code null} for absent). */
    public static int valueResponseLength(byte[] value) {
        return RESPONSE_HEADER_LENGTH + optionalValueLength(value);
    }

    /** Bytes of a BATCH_GET frame asking {@code count} keys. */
    public static long batchGetRequestLength(int count) {
        return HEADER_LENGTH + COUNT_BYTES + (long) count * Long.BYTES;
    }

    /** Bytes of a BAD_ARGUMENT or FAILED answer with a message of {@code messageBytes} UTF-8 bytes. */
    public static int errorResponseLength(int messageBytes) {
        return RESPONSE_HEADER_LENGTH + Integer.BYTES + messageBytes;
    }

    private RpcFrameDescriptor() {
    }
}
