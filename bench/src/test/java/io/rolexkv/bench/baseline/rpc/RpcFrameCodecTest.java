package io.rolexkv.bench.baseline.rpc;

import io.rolexkv.common.net.FrameHeader;
import io.rolexkv.common.net.FrameFormatException;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import io.netty.buffer.UnpooledByteBufAllocator;
import io.rolexkv.common.kv.KeyValueBytes;
import org.junit.jupiter.api.Test;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Random;

import static io.rolexkv.bench.baseline.rpc.RpcFrameDescriptor.HEADER_LENGTH;
import static io.rolexkv.bench.baseline.rpc.RpcFrameDescriptor.RESPONSE_HEADER_LENGTH;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

/**
 * The frame codec against itself and against damage: every request the client encodes decodes on the server to what
 * was meant, every reply the server encodes decodes on the client, frame sizes are the descriptor's, every strict
 * prefix or one-byte extension of a good frame is refused, and random bytes are refused or decoded but never throw
 * anything but {@link FrameFormatException}.
 */
class RpcFrameCodecTest {
    private static final ByteBufAllocator ALLOCATOR = UnpooledByteBufAllocator.DEFAULT;

    // ---------------------------------------------------------------------------------------------------------------
    // Requests
    // ---------------------------------------------------------------------------------------------------------------

    @Test
    void requestsDecodeOnTheServerAsEncodedAndHaveTheDescribedSizes() throws Exception {
        byte[] value = {1, 2, 3, 4, 5, 6, 7, 8, 9};

        RpcRequest.Get get = assertInstanceOf(RpcRequest.Get.class,
                decodeRequest(RpcFrameCodec.encodeGet(ALLOCATOR, -1L), RpcFrameDescriptor.GET_REQUEST_LENGTH));
        assertEquals(-1L, get.key());

        RpcRequest.Put put = assertInstanceOf(RpcRequest.Put.class,
                decodeRequest(RpcFrameCodec.encodePut(ALLOCATOR, Long.MIN_VALUE, value),
                        RpcFrameDescriptor.putRequestLength(value.length)));
        assertEquals(Long.MIN_VALUE, put.key());
        assertArrayEquals(value, put.value());

        RpcRequest.Put empty = assertInstanceOf(RpcRequest.Put.class,
                decodeRequest(RpcFrameCodec.encodePut(ALLOCATOR, 0, new byte[0]), RpcFrameDescriptor.putRequestLength(0)));
        assertArrayEquals(new byte[0], empty.value(), "an empty value stays a value, not an absent one");

        assertEquals(5L, assertInstanceOf(RpcRequest.Delete.class,
                decodeRequest(RpcFrameCodec.encodeDelete(ALLOCATOR, 5), RpcFrameDescriptor.DELETE_REQUEST_LENGTH)).key());

        long[] keys = {9, -1L, 9, 0, Long.MAX_VALUE};
        RpcRequest.BatchGet batchGet = assertInstanceOf(RpcRequest.BatchGet.class,
                decodeRequest(RpcFrameCodec.encodeBatchGet(ALLOCATOR, keys, 1, 4), RpcFrameDescriptor.batchGetRequestLength(3)));
        assertArrayEquals(new long[] {-1L, 9, 0}, batchGet.keys(), "the sub-range asked, in order, duplicates kept");

        List<byte[]> values = List.of(new byte[0], value, new byte[] {7}, new byte[300], new byte[2]);
        RpcRequest.BatchPut batchPut = assertInstanceOf(RpcRequest.BatchPut.class,
                decodeRequest(RpcFrameCodec.encodeBatchPut(ALLOCATOR, keys, values, 0, 5),
                        RpcFrameDescriptor.BATCH_PUT_FIXED_LENGTH + 5 * RpcFrameDescriptor.PAIR_HEADER_BYTES + 312));
        assertArrayEquals(keys, batchPut.keys());
        assertValuesEqual(values, batchPut.values());

        RpcRequest.Scan scan = assertInstanceOf(RpcRequest.Scan.class,
                decodeRequest(RpcFrameCodec.encodeScan(ALLOCATOR, -5L, 3, Integer.MAX_VALUE), RpcFrameDescriptor.SCAN_REQUEST_LENGTH));
        assertEquals(new RpcRequest.Scan(-5L, 3, Integer.MAX_VALUE), scan);

        RpcRequest.CompareAndSet absentToValue = assertInstanceOf(RpcRequest.CompareAndSet.class,
                decodeRequest(RpcFrameCodec.encodeCompareAndSet(ALLOCATOR, 11, Optional.empty(), Optional.of(value)),
                        RpcFrameDescriptor.compareAndSetRequestLength(null, value)));
        assertEquals(11, absentToValue.key());
        assertNull(absentToValue.expected(), "absent stays absent");
        assertArrayEquals(value, absentToValue.desired());
        RpcRequest.CompareAndSet emptyToAbsent = assertInstanceOf(RpcRequest.CompareAndSet.class,
                decodeRequest(RpcFrameCodec.encodeCompareAndSet(ALLOCATOR, 11, Optional.of(new byte[0]), Optional.empty()),
                        RpcFrameDescriptor.compareAndSetRequestLength(new byte[0], null)));
        assertArrayEquals(new byte[0], emptyToAbsent.expected(), "empty stays empty, not absent");
        assertNull(emptyToAbsent.desired());

        RpcRequest.BulkLoad bulkLoad = assertInstanceOf(RpcRequest.BulkLoad.class,
                decodeRequest(RpcFrameCodec.encodeBulkLoad(ALLOCATOR, true, keys, values, 2, 4),
                        RpcFrameDescriptor.BULK_LOAD_FIXED_LENGTH + 2 * RpcFrameDescriptor.PAIR_HEADER_BYTES + 301));
        assertTrue(bulkLoad.replace());
        assertArrayEquals(new long[] {9, 0}, bulkLoad.keys());
        assertValuesEqual(values.subList(2, 4), bulkLoad.values());
        RpcRequest.BulkLoad emptyAppend = assertInstanceOf(RpcRequest.BulkLoad.class,
                decodeRequest(RpcFrameCodec.encodeBulkLoad(ALLOCATOR, false, keys, values, 5, 5),
                        RpcFrameDescriptor.BULK_LOAD_FIXED_LENGTH));
        assertFalse(emptyAppend.replace());
        assertEquals(0, emptyAppend.keys().length);

        assertInstanceOf(RpcRequest.Clear.class, decodeRequest(RpcFrameCodec.encodeClear(ALLOCATOR), HEADER_LENGTH));
        assertInstanceOf(RpcRequest.Stats.class, decodeRequest(RpcFrameCodec.encodeStats(ALLOCATOR), HEADER_LENGTH));
    }

    @Test
    void everyStrictPrefixAndEveryOneByteExtensionOfARequestIsRefused() {
        for (Map.Entry<String, byte[]> request : sampleRequests().entrySet()) {
            byte[] good = request.getValue();
            for (int length = 0; length < good.length; length++) {
                byte[] prefix = withLengthField(Arrays.copyOf(good, length));
                assertThrows(FrameFormatException.class, () -> RpcFrameCodec.decodeRequest(ByteBufs.frame(prefix)),
                        request.getKey() + " cut to bytes=" + length);
            }
            byte[] extended = withLengthField(Arrays.copyOf(good, good.length + 1));
            FrameFormatException trailing = assertThrows(FrameFormatException.class,
                    () -> RpcFrameCodec.decodeRequest(ByteBufs.frame(extended)), request.getKey() + " plus one byte");
            assertTrue(trailing.getMessage().contains("trailing_bytes=1"), trailing.getMessage());
        }
    }

    @Test
    void aLengthFieldThatDisagreesWithTheFrameIsRefused() {
        byte[] good = sampleRequests().get("put");
        byte[] lying = good.clone();
        lying[0]++;
        FrameFormatException refused = assertThrows(FrameFormatException.class,
                () -> RpcFrameCodec.decodeRequest(ByteBufs.frame(lying)));
        assertTrue(refused.getMessage().contains("length field"), refused.getMessage());
    }

    @Test
    void randomRequestFramesDecodeOrAreRefusedButNeverBreakTheDecoder() {
        Random random = new Random(2024);
        int decoded = 0;
        for (int round = 0; round < 20_000; round++) {
            byte[] body = new byte[random.nextInt(40)];
            random.nextBytes(body);
            if (body.length >= 4 && random.nextBoolean()) {
                body[0] = (byte) random.nextInt(3);
                body[1] = body[2] = body[3] = 0;
            }
            byte[] frame = HandMadeFrames.frame((byte) random.nextInt(12), round, body);
            try {
                RpcFrameCodec.decodeRequest(ByteBufs.frame(frame));
                decoded++;
            } catch (FrameFormatException expected) {
                // Refused: fine.
            } catch (RuntimeException e) {
                fail("round=" + round + " threw " + e, e);
            }
        }
        assertTrue(decoded > 0, "some random frames are valid requests, so the decoders were reached");
    }

    // ---------------------------------------------------------------------------------------------------------------
    // Replies
    // ---------------------------------------------------------------------------------------------------------------

    @Test
    void repliesDecodeOnTheClientAsEncoded() throws Exception {
        byte[] value = {9, 8, 7};

        RpcFrameCodec.Response done = response(RpcRequestType.PUT, RpcReply.DONE, 1);
        assertEquals(RpcFrameDescriptor.STATUS_OK, done.status());
        assertEquals(RpcRequestType.PUT, done.type());
        assertEquals(RESPONSE_HEADER_LENGTH, done.frame().length);
        RpcFrameCodec.decodeDone(done);

        RpcFrameCodec.Response found = response(RpcRequestType.GET, new RpcReply.Value(value), 2);
        assertEquals(2, found.requestId());
        assertEquals(RpcFrameDescriptor.valueResponseLength(value), found.frame().length);
        assertArrayEquals(value, RpcFrameCodec.decodeValue(found).orElseThrow());
        MemorySegment view = RpcFrameCodec.decodeValueView(found).orElseThrow();
        assertTrue(view.isReadOnly());
        assertArrayEquals(value, view.toArray(ValueLayout.JAVA_BYTE));
        assertTrue(RpcFrameCodec.decodeValue(response(RpcRequestType.GET, new RpcReply.Value(null), 3)).isEmpty());
        assertTrue(RpcFrameCodec.decodeValueView(response(RpcRequestType.GET, new RpcReply.Value(null), 3)).isEmpty());
        assertEquals(0, RpcFrameCodec.decodeValueView(response(RpcRequestType.GET, new RpcReply.Value(new byte[0]), 3))
                .orElseThrow().byteSize(), "an empty value is present");

        assertTrue(RpcFrameCodec.decodeRemoved(response(RpcRequestType.DELETE, new RpcReply.Removed(true), 4)));
        assertFalse(RpcFrameCodec.decodeRemoved(response(RpcRequestType.DELETE, new RpcReply.Removed(false), 4)));

        List<Optional<byte[]>> answered = new ArrayList<>();
        int count = RpcFrameCodec.decodeBatchGet(response(RpcRequestType.BATCH_GET,
                new RpcReply.Values(new byte[][] {value, null, new byte[0]}), 5), 4, answered);
        assertEquals(3, count);
        assertArrayEquals(value, answered.get(0).orElseThrow());
        assertTrue(answered.get(1).isEmpty());
        assertArrayEquals(new byte[0], answered.get(2).orElseThrow());
        assertThrows(FrameFormatException.class, () -> RpcFrameCodec.decodeBatchGet(response(RpcRequestType.BATCH_GET,
                new RpcReply.Values(new byte[][] {value, value}), 5), 1, new ArrayList<>()), "more answers than asked");
        assertThrows(FrameFormatException.class, () -> RpcFrameCodec.decodeBatchGet(response(RpcRequestType.BATCH_GET,
                new RpcReply.Values(new byte[0][]), 5), 1, new ArrayList<>()), "no answer at all");

        List<KeyValueBytes> page = List.of(new KeyValueBytes(3, value), new KeyValueBytes(-1L, new byte[0]));
        List<KeyValueBytes> scanned = new ArrayList<>();
        assertTrue(RpcFrameCodec.decodeScan(response(RpcRequestType.SCAN, new RpcReply.ScanPage(page, true), 6), 2, scanned));
        assertEquals(page, scanned);
        assertThrows(FrameFormatException.class, () -> RpcFrameCodec.decodeScan(response(RpcRequestType.SCAN,
                new RpcReply.ScanPage(page, false), 6), 1, new ArrayList<>()), "more pairs than the limit");
        assertThrows(FrameFormatException.class, () -> RpcFrameCodec.decodeScan(response(RpcRequestType.SCAN,
                new RpcReply.ScanPage(List.of(page.get(1), page.get(0)), false), 6), 5, new ArrayList<>()),
                "keys out of unsigned order");
        assertThrows(FrameFormatException.class, () -> RpcFrameCodec.decodeScan(response(RpcRequestType.SCAN,
                new RpcReply.ScanPage(List.of(), true), 6), 5, new ArrayList<>()), "more with nothing on the page");

        RpcFrameCodec.Response conflict = response(RpcRequestType.COMPARE_AND_SET, new RpcReply.Conflict(value), 7);
        assertEquals(RpcFrameDescriptor.STATUS_CONFLICT, conflict.status());
        assertArrayEquals(value, RpcFrameCodec.decodeValue(conflict).orElseThrow());

        RpcServerStats stats = new RpcServerStats(1, 2, 3, 4, -1);
        assertEquals(stats, RpcFrameCodec.decodeStats(response(RpcRequestType.STATS, new RpcReply.Stats(stats), 8)));

        RpcFrameCodec.Response refused = response(RpcRequestType.PUT, new RpcReply.Refused("value bytes=9 ünïcode"), 9);
        assertEquals(RpcFrameDescriptor.STATUS_BAD_ARGUMENT, refused.status());
        assertEquals("value bytes=9 ünïcode", RpcFrameCodec.decodeErrorMessage(refused));
        RpcFrameCodec.Response failed = response(RpcRequestType.CLEAR, new RpcReply.Failed("x".repeat(10_000)), 10);
        assertEquals(RpcFrameDescriptor.STATUS_FAILED, failed.status());
        assertEquals(RpcFrameCodec.MAX_MESSAGE_CHARS, RpcFrameCodec.decodeErrorMessage(failed).length(),
                "long messages are cut, not sent whole");
    }

    @Test
    void responseHeadersAreChecked() {
        byte[] good = ByteBufs.drain(RpcFrameCodec.encodeReply(ALLOCATOR, 1, RpcRequestType.PUT, RpcReply.DONE));
        byte[] request = ByteBufs.drain(RpcFrameCodec.encodeClear(ALLOCATOR));
        assertThrows(FrameFormatException.class, () -> RpcFrameCodec.readResponse(ByteBufs.frame(withLengthField(
                Arrays.copyOf(request, RESPONSE_HEADER_LENGTH)))), "a request type where a response belongs");
        byte[] badStatus = good.clone();
        badStatus[RpcFrameDescriptor.STATUS_OFFSET] = 4;
        assertThrows(FrameFormatException.class, () -> RpcFrameCodec.readResponse(ByteBufs.frame(badStatus)));
        byte[] unknownType = good.clone();
        unknownType[FrameHeader.TYPE_OFFSET] = (byte) 0x8F;
        assertThrows(FrameFormatException.class, () -> RpcFrameCodec.readResponse(ByteBufs.frame(unknownType)));
        byte[] noStatus = withLengthField(Arrays.copyOf(good, HEADER_LENGTH));
        assertThrows(FrameFormatException.class, () -> RpcFrameCodec.readResponse(ByteBufs.frame(noStatus)));
    }

    @Test
    void everyStrictPrefixAndOneByteExtensionOfAReplyBodyIsRefused() throws Exception {
        Map<String, RpcFrameCodec.Response> replies = new LinkedHashMap<>();
        replies.put("value", response(RpcRequestType.GET, new RpcReply.Value(new byte[] {1, 2, 3}), 1));
        replies.put("removed", response(RpcRequestType.DELETE, new RpcReply.Removed(true), 1));
        replies.put("values", response(RpcRequestType.BATCH_GET, new RpcReply.Values(new byte[][] {{1}, null}), 1));
        replies.put("scan", response(RpcRequestType.SCAN, new RpcReply.ScanPage(List.of(new KeyValueBytes(1, new byte[] {1})), false), 1));
        replies.put("stats", response(RpcRequestType.STATS, new RpcReply.Stats(new RpcServerStats(1, 2, 3, 4, 5)), 1));
        replies.put("error", response(RpcRequestType.PUT, new RpcReply.Refused("no"), 1));
        replies.put("done", response(RpcRequestType.PUT, RpcReply.DONE, 1));
        for (Map.Entry<String, RpcFrameCodec.Response> reply : replies.entrySet()) {
            byte[] good = reply.getValue().frame();
            for (int length = RESPONSE_HEADER_LENGTH; length <= good.length + 1; length++) {
                if (length == good.length) {
                    continue;
                }
                RpcFrameCodec.Response damaged = RpcFrameCodec.readResponse(ByteBufs.frame(
                        withLengthField(Arrays.copyOf(good, length))));
                String where = reply.getKey() + " at bytes=" + length + " of " + good.length;
                assertThrows(FrameFormatException.class, () -> decodeBody(reply.getKey(), damaged), where);
            }
        }
    }

    @Test
    void helloRoundTripsAndImpossibleLimitsAreRefused() throws Exception {
        ByteBuf hello = RpcFrameCodec.encodeHello(ALLOCATOR, 1000, 1 << 20);
        assertEquals(RpcFrameDescriptor.HELLO_LENGTH, hello.readableBytes());
        assertEquals(new RpcFrameCodec.Hello(1000, 1 << 20), RpcFrameCodec.decodeHello(hello));
        assertThrows(FrameFormatException.class, () -> RpcFrameCodec.decodeHello(
                RpcFrameCodec.encodeHello(ALLOCATOR, -1, 1 << 20)), "negative max value");
        assertThrows(FrameFormatException.class, () -> RpcFrameCodec.decodeHello(
                RpcFrameCodec.encodeHello(ALLOCATOR, 1000, 2000)), "a frame that cannot hold two values");
        assertThrows(FrameFormatException.class, () -> RpcFrameCodec.decodeHello(RpcFrameCodec.encodeClear(ALLOCATOR)),
                "not a hello");
    }

    // ---------------------------------------------------------------------------------------------------------------
    // Helpers
    // ---------------------------------------------------------------------------------------------------------------

    private static Object decodeBody(String kind, RpcFrameCodec.Response response) throws FrameFormatException {
        return switch (kind) {
            case "value" -> RpcFrameCodec.decodeValue(response);
            case "removed" -> RpcFrameCodec.decodeRemoved(response);
            case "values" -> RpcFrameCodec.decodeBatchGet(response, 2, new ArrayList<>());
            case "scan" -> RpcFrameCodec.decodeScan(response, 10, new ArrayList<>());
            case "stats" -> RpcFrameCodec.decodeStats(response);
            case "error" -> RpcFrameCodec.decodeErrorMessage(response);
            case "done" -> {
                RpcFrameCodec.decodeDone(response);
                yield null;
            }
            default -> throw new IllegalArgumentException(kind);
        };
    }

    /** One valid frame of every request type. */
    private static Map<String, byte[]> sampleRequests() {
        Map<String, byte[]> requests = new LinkedHashMap<>();
        long[] keys = {1, 2};
        List<byte[]> values = List.of(new byte[] {1}, new byte[] {2, 2});
        requests.put("get", ByteBufs.drain(RpcFrameCodec.encodeGet(ALLOCATOR, 1)));
        requests.put("put", ByteBufs.drain(RpcFrameCodec.encodePut(ALLOCATOR, 1, new byte[] {1, 2})));
        requests.put("delete", ByteBufs.drain(RpcFrameCodec.encodeDelete(ALLOCATOR, 1)));
        requests.put("batch_get", ByteBufs.drain(RpcFrameCodec.encodeBatchGet(ALLOCATOR, keys, 0, 2)));
        requests.put("batch_put", ByteBufs.drain(RpcFrameCodec.encodeBatchPut(ALLOCATOR, keys, values, 0, 2)));
        requests.put("scan", ByteBufs.drain(RpcFrameCodec.encodeScan(ALLOCATOR, 1, 2, 3)));
        requests.put("compare_and_set", ByteBufs.drain(RpcFrameCodec.encodeCompareAndSet(ALLOCATOR, 1,
                Optional.of(new byte[] {1}), Optional.of(new byte[] {2}))));
        requests.put("bulk_load", ByteBufs.drain(RpcFrameCodec.encodeBulkLoad(ALLOCATOR, true, keys, values, 0, 2)));
        requests.put("clear", ByteBufs.drain(RpcFrameCodec.encodeClear(ALLOCATOR)));
        requests.put("stats", ByteBufs.drain(RpcFrameCodec.encodeStats(ALLOCATOR)));
        return requests;
    }

    private static RpcRequest decodeRequest(ByteBuf frame, long expectedLength) throws FrameFormatException {
        try {
            assertEquals(expectedLength, frame.readableBytes(), "frame size as the descriptor says");
            return RpcFrameCodec.decodeRequest(frame);
        } finally {
            frame.release();
        }
    }

    private static RpcFrameCodec.Response response(RpcRequestType type, RpcReply reply, long requestId)
            throws FrameFormatException {
        ByteBuf frame = RpcFrameCodec.encodeReply(ALLOCATOR, requestId, type, reply);
        try {
            RpcFrameCodec.Response response = RpcFrameCodec.readResponse(frame);
            assertEquals(type, response.type());
            assertEquals(requestId, response.requestId());
            return response;
        } finally {
            frame.release();
        }
    }

    /** {@code frame} with its length field set to match its size. */
    private static byte[] withLengthField(byte[] frame) {
        if (frame.length >= 4) {
            ByteBuffer.wrap(frame).order(ByteOrder.LITTLE_ENDIAN).putInt(0, frame.length - 4);
        }
        return frame;
    }

    private static void assertValuesEqual(List<byte[]> expected, List<byte[]> actual) {
        assertEquals(expected.size(), actual.size());
        for (int i = 0; i < expected.size(); i++) {
            assertArrayEquals(expected.get(i), actual.get(i), "value " + i);
        }
    }
}
