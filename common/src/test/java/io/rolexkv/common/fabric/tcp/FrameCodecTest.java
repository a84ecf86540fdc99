package io.rolexkv.common.fabric.tcp;

import io.rolexkv.common.net.FrameFormatException;
import io.rolexkv.common.net.FrameHeader;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import io.netty.buffer.ByteBufUtil;
import io.netty.buffer.Unpooled;
import io.rolexkv.common.fabric.BatchResult;
import io.rolexkv.common.fabric.CompletionBuffer;
import io.rolexkv.common.fabric.DoorbellBatch;
import io.rolexkv.common.fabric.FabricLimits;
import io.rolexkv.common.fabric.GlobalAddress;
import io.rolexkv.common.fabric.RegionInfo;
import io.rolexkv.common.fabric.RegisteredMemory;
import io.rolexkv.common.fabric.VerbExecutor;
import io.rolexkv.common.fabric.VerbKind;
import io.rolexkv.common.fabric.VerbRejectedException;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import java.util.function.Consumer;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The codec against its own descriptor: every frame round-trips, and every layout violation is named. */
class FrameCodecTest {
    private static final ByteBufAllocator ALLOCATOR = ByteBufAllocator.DEFAULT;

    @Test
    void helloCarriesNodeIncarnationLimitsAndRegions() throws FrameFormatException {
        FabricLimits limits = new FabricLimits(77, 12345);
        List<RegionInfo> regions = List.of(new RegionInfo(0, "leaves", 1L << 40), new RegionInfo(1, "märkte", 0));
        long incarnation = 0x8000_0000_0000_0001L;
        ByteBuf frame = FrameCodec.encodeHello(ALLOCATOR, 9, incarnation, limits, regions);
        try {
            assertEquals(FrameDescriptor.helloFrameBytes(regions), frame.readableBytes());
            assertEquals(incarnation, frame.getLongLE(frame.readerIndex() + FrameDescriptor.HELLO_INCARNATION_OFFSET));
            FrameCodec.Hello hello = FrameCodec.decodeHello(frame);
            assertEquals(new FrameCodec.Hello(9, incarnation, limits, regions), hello);
        } finally {
            frame.release();
        }
    }

    @Test
    void helloWithRegionsOutOfOrderIsRefused() {
        List<RegionInfo> regions = List.of(new RegionInfo(1, "b", 8));
        ByteBuf frame = FrameCodec.encodeHello(ALLOCATOR, 0, 1, FabricLimits.DEFAULT, regions);
        try {
            FrameFormatException e = assertThrows(FrameFormatException.class, () -> FrameCodec.decodeHello(frame));
            assertTrue(e.getMessage().contains("region_entry=0 region=1"), e.getMessage());
        } finally {
            frame.release();
        }
    }

    @Test
    void randomRequestsDecodeToTheSameVerbsAndReencodeToTheSameBytes() throws FrameFormatException {
        Random random = new Random(0x5EED_0001L);
        RegisteredMemory memory = TcpTestSupport.newMemory();
        try {
            for (int round = 0; round < 500; round++) {
                DoorbellBatch batch = TcpTestSupport.randomBatch(random, memory, 12, true);
                long batchId = random.nextLong();
                byte[] encoded = encodeRequest(batchId, batch);
                assertEquals(FrameDescriptor.requestFrameBytes(batch), encoded.length);
                FrameCodec.Request request = FrameCodec.decodeRequest(Unpooled.wrappedBuffer(encoded));
                assertEquals(batchId, request.batchId());
                assertSameVerbs(batch, request.batch());
                assertArrayEquals(encoded, encodeRequest(batchId, request.batch()), "round=" + round);
            }
        } finally {
            memory.close();
        }
    }

    @Test
    void writePayloadMayBeAnyKindOfSegment() throws FrameFormatException {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment overLongs = MemorySegment.ofArray(new long[] {0x0102030405060708L, -1L});
            MemorySegment offHeap = arena.allocate(12);
            offHeap.fill((byte) 0x5A);
            DoorbellBatch batch = new DoorbellBatch();
            batch.write(GlobalAddress.of(3, 0, 0), overLongs);
            batch.write(GlobalAddress.of(3, 0, 64), offHeap.asReadOnly());
            FrameCodec.Request request = FrameCodec.decodeRequest(Unpooled.wrappedBuffer(encodeRequest(8, batch)));
            assertSameVerbs(batch, request.batch());
        }
    }

    @Test
    void doneCompletionCarriesWhatTheExecutorReturned() throws FrameFormatException {
        Random random = new Random(0x5EED_0002L);
        RegisteredMemory memory = TcpTestSupport.newMemory();
        RegisteredMemory twin = TcpTestSupport.newMemory();
        TcpTestSupport.fillAlike(7, memory, twin);
        CompletionBuffer reused = new CompletionBuffer();
        try {
            for (int round = 0; round < 300; round++) {
                DoorbellBatch batch = TcpTestSupport.randomBatch(random, memory, 12, false);
                BatchResult executed = VerbExecutor.execute(memory, FabricLimits.DEFAULT, batch);
                ByteBuf frame = FrameCodec.encodeDone(ALLOCATOR, round, batch, executed);
                try {
                    assertEquals(FrameDescriptor.doneFrameBytes(batch), frame.readableBytes());
                    assertEquals(round, FrameCodec.completionBatchId(frame));
                    FrameCodec.Done done = assertInstanceOf(FrameCodec.Done.class, FrameCodec.decodeCompletion(frame, batch));
                    assertEquals(round, done.batchId());
                    TcpTestSupport.assertSameResult(batch, executed, done.result(), "round=" + round);
                    // Into a caller's buffer, reused from round to round (it grows as it must): from a frame in a heap
                    // array, as the client reads them, and from any other buffer.
                    frame.readerIndex(0);
                    ByteBuf heapCopy = Unpooled.wrappedBuffer(ByteBufUtil.getBytes(frame));
                    FrameCodec.decodeCompletion(heapCopy, batch, reused);
                    TcpTestSupport.assertSameResult(batch, executed, reused, "round=" + round + " heap frame");
                    FrameCodec.decodeCompletion(frame.duplicate(), batch, reused);
                    TcpTestSupport.assertSameResult(batch, executed, reused, "round=" + round + " direct frame");
                } finally {
                    frame.release();
                }
            }
        } finally {
            memory.close();
            twin.close();
        }
    }

    /**
     * The memory node reuses one {@link FrameCodec.DoneWriter} per connection, on pooled buffers that may hold an earlier
     * frame's bytes: each frame it finishes must be byte for byte the one {@link FrameCodec#encodeDone} makes, large
     * batches after small ones and the reverse, and a batch abandoned half-way must leave nothing in the next.
     */
    @Test
    void aReusedDoneWriterFrameHoldsOnlyItsOwnBatch() {
        Random random = new Random(0x5EED_0007L);
        RegisteredMemory memory = TcpTestSupport.newMemory();
        RegisteredMemory twin = TcpTestSupport.newMemory();
        TcpTestSupport.fillAlike(11, memory, twin);
        FrameCodec.DoneWriter writer = new FrameCodec.DoneWriter();
        try {
            for (int round = 0; round < 300; round++) {
                DoorbellBatch batch = TcpTestSupport.randomBatch(random, memory, round % 2 == 0 ? 24 : 2, false);
                if (round % 50 == 7 && FrameDescriptor.doneFrameBytes(batch) >= FrameDescriptor.DONE_RESULTS_OFFSET + Long.BYTES) {
                    // Abandoned after some results were written, as when a verb fails: the writer must start clean.
                    ByteBuf abandoned = FrameCodec.startDone(ALLOCATOR, round, batch);
                    writer.target(abandoned).readWord(-1L);
                    writer.forget();
                    abandoned.release();
                }
                ByteBuf written = FrameCodec.startDone(ALLOCATOR, round, batch);
                VerbExecutor.apply(memory, batch, writer.target(written));
                ByteBuf finished = writer.finish();
                ByteBuf expected = FrameCodec.encodeDone(ALLOCATOR, round, batch,
                        VerbExecutor.execute(twin, FabricLimits.DEFAULT, batch));
                try {
                    assertEquals(ByteBufUtil.hexDump(expected), ByteBufUtil.hexDump(finished), "round=" + round);
                } finally {
                    finished.release();
                    expected.release();
                }
            }
            TcpTestSupport.assertSameMemory(twin, memory, "after reuse");
        } finally {
            memory.close();
            twin.close();
        }
    }

    @Test
    void aDoneWriterRefusesAFrameOfManyBuffers() {
        ByteBuf composite = Unpooled.wrappedBuffer(Unpooled.buffer(8).writeLong(1), Unpooled.buffer(8).writeLong(2));
        try {
            assertThrows(IllegalArgumentException.class, () -> new FrameCodec.DoneWriter().target(composite));
        } finally {
            composite.release();
        }
    }

    @Test
    void refusedCompletionCarriesVerbIndexReasonAndDetail() throws FrameFormatException {
        DoorbellBatch batch = new DoorbellBatch();
        batch.read(GlobalAddress.of(1, 0, 0), 8);
        batch.fetchAndAdd(GlobalAddress.of(1, 0, 3), 1);
        VerbRejectedException rejection = new VerbRejectedException(1, VerbRejectedException.Reason.UNALIGNED_ATOMIC,
                batch.describe(1) + " alignment=8");
        ByteBuf frame = FrameCodec.encodeRefused(ALLOCATOR, 42, rejection);
        try {
            FrameCodec.Refused refused = assertInstanceOf(FrameCodec.Refused.class, FrameCodec.decodeCompletion(frame, batch));
            assertEquals(42, refused.batchId());
            assertEquals(1, refused.rejection().verbIndex());
            assertEquals(VerbRejectedException.Reason.UNALIGNED_ATOMIC, refused.rejection().reason());
            assertEquals(rejection.detail(), refused.rejection().detail());
            frame.readerIndex(0);
            VerbRejectedException thrown = assertThrows(VerbRejectedException.class,
                    () -> FrameCodec.decodeCompletion(frame, batch, new CompletionBuffer()));
            assertEquals(1, thrown.verbIndex());
            assertEquals(VerbRejectedException.Reason.UNALIGNED_ATOMIC, thrown.reason());
            assertEquals(rejection.detail(), thrown.detail());
        } finally {
            frame.release();
        }
    }

    /** A request with one verb of each kind: READ 16 @alpha+0, WRITE 4 @alpha+8, CAS @alpha+16, FAA @alpha+24. */
    private static DoorbellBatch fourVerbs() {
        DoorbellBatch batch = new DoorbellBatch();
        batch.read(GlobalAddress.of(3, 0, 0), 16);
        batch.write(GlobalAddress.of(3, 0, 8), new byte[] {1, 2, 3, 4});
        batch.compareAndSwap(GlobalAddress.of(3, 0, 16), 5, 6);
        batch.fetchAndAdd(GlobalAddress.of(3, 0, 24), 7);
        return batch;
    }

    private static final int VERB0 = FrameDescriptor.REQUEST_VERBS_OFFSET;
    private static final int VERB1 = VERB0 + FrameDescriptor.VERB_HEADER_LENGTH;
    private static final int VERB2 = VERB1 + FrameDescriptor.VERB_HEADER_LENGTH + 4;
    private static final int VERB3 = VERB2 + FrameDescriptor.VERB_HEADER_LENGTH;

    static Stream<Arguments> malformedRequests() {
        return Stream.of(
                malformed("bad magic", "magic=0x00", frame -> frame.setByte(FrameHeader.MAGIC_OFFSET, 0)),
                malformed("other version", "version=2", frame -> frame.setByte(FrameHeader.VERSION_OFFSET, 2)),
                malformed("hello type", "frame_type=1", frame -> frame.setByte(FrameHeader.TYPE_OFFSET, FrameDescriptor.TYPE_HELLO)),
                malformed("length too long", "length field says frame_bytes=", frame -> frame.setIntLE(0, frame.getIntLE(0) + 1)),
                malformed("negative verb count", "verb_count=-1", frame -> frame.setIntLE(FrameDescriptor.REQUEST_VERB_COUNT_OFFSET, -1)),
                malformed("verb count beyond bytes", "truncated field=verbs", frame -> frame.setIntLE(FrameDescriptor.REQUEST_VERB_COUNT_OFFSET, 1 << 28)),
                malformed("verb count one short", "trailing_bytes=", frame -> frame.setIntLE(FrameDescriptor.REQUEST_VERB_COUNT_OFFSET, 3)),
                malformed("unknown kind", "kind_code=9", frame -> frame.setByte(VERB0 + FrameDescriptor.VERB_KIND_OFFSET, 9)),
                malformed("negative READ length", "length=-5", frame -> frame.setIntLE(VERB0 + FrameDescriptor.VERB_LENGTH_OFFSET, -5)),
                malformed("READ with an operand", "reserved operands", frame -> frame.setLongLE(VERB0 + FrameDescriptor.VERB_FIRST_OPERAND_OFFSET, 1)),
                malformed("WRITE payload past the end", "truncated field=verb 1 payload", frame -> frame.setIntLE(VERB1 + FrameDescriptor.VERB_LENGTH_OFFSET, 1 << 20)),
                malformed("CAS of 4 bytes", "length=4 expected=8", frame -> frame.setIntLE(VERB2 + FrameDescriptor.VERB_LENGTH_OFFSET, 4)),
                malformed("FAA with a second operand", "reserved operands", frame -> frame.setLongLE(VERB3 + FrameDescriptor.VERB_SECOND_OPERAND_OFFSET, 1)));
    }

    private static Arguments malformed(String name, String expectedMessagePart, Consumer<ByteBuf> mutation) {
        return Arguments.of(name, expectedMessagePart, mutation);
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("malformedRequests")
    void malformedRequestIsRefusedWithItsReason(String name, String expectedMessagePart, Consumer<ByteBuf> mutation) {
        byte[] encoded = encodeRequest(1, fourVerbs());
        ByteBuf frame = Unpooled.wrappedBuffer(encoded);
        mutation.accept(frame);
        FrameFormatException e = assertThrows(FrameFormatException.class, () -> FrameCodec.decodeRequest(frame));
        assertTrue(e.getMessage().contains(expectedMessagePart), name + ": " + e.getMessage());
    }

    @Test
    void everyTruncationOfAValidRequestIsRefused() {
        byte[] encoded = encodeRequest(1, fourVerbs());
        for (int cut = 0; cut < encoded.length; cut++) {
            byte[] truncated = Arrays.copyOf(encoded, cut);
            if (cut >= Integer.BYTES) {
                Unpooled.wrappedBuffer(truncated).setIntLE(0, cut - Integer.BYTES);
            }
            assertThrows(FrameFormatException.class, () -> FrameCodec.decodeRequest(Unpooled.wrappedBuffer(truncated)),
                    "cut=" + cut);
        }
    }

    @Test
    void doneCompletionOfTheWrongSizeIsRefused() throws FrameFormatException {
        DoorbellBatch batch = new DoorbellBatch();
        batch.read(GlobalAddress.of(3, 0, 0), 16);
        DoorbellBatch longer = new DoorbellBatch();
        longer.read(GlobalAddress.of(3, 0, 0), 24);
        RegisteredMemory memory = TcpTestSupport.newMemory();
        try {
            ByteBuf frame = FrameCodec.encodeDone(ALLOCATOR, 5, batch, VerbExecutor.execute(memory, FabricLimits.DEFAULT, batch));
            try {
                FrameFormatException e = assertThrows(FrameFormatException.class, () -> FrameCodec.decodeCompletion(frame, longer));
                assertTrue(e.getMessage().contains("result_bytes=16 expected=24"), e.getMessage());
                frame.readerIndex(0);
                e = assertThrows(FrameFormatException.class,
                        () -> FrameCodec.decodeCompletion(frame, longer, new CompletionBuffer()));
                assertTrue(e.getMessage().contains("result_bytes=16 expected=24"), e.getMessage());
            } finally {
                frame.release();
            }
        } finally {
            memory.close();
        }
    }

    @Test
    void refusalNamingAVerbTheBatchDoesNotHaveIsRefused() {
        DoorbellBatch batch = new DoorbellBatch();
        batch.read(GlobalAddress.of(3, 0, 0), 16);
        ByteBuf frame = FrameCodec.encodeRefused(ALLOCATOR, 5,
                new VerbRejectedException(3, VerbRejectedException.Reason.OUT_OF_BOUNDS, "verb=3"));
        try {
            FrameFormatException e = assertThrows(FrameFormatException.class, () -> FrameCodec.decodeCompletion(frame, batch));
            assertTrue(e.getMessage().contains("verb_index=3 batch_verbs=1"), e.getMessage());
            frame.readerIndex(0);
            e = assertThrows(FrameFormatException.class, () -> FrameCodec.decodeCompletion(frame, batch, new CompletionBuffer()));
            assertTrue(e.getMessage().contains("verb_index=3 batch_verbs=1"), e.getMessage());
        } finally {
            frame.release();
        }
    }

    static byte[] encodeRequest(long batchId, DoorbellBatch batch) {
        ByteBuf frame = FrameCodec.encodeRequest(ALLOCATOR, batchId, batch);
        try {
            return ByteBufUtil.getBytes(frame);
        } finally {
            frame.release();
        }
    }

    static void assertSameVerbs(DoorbellBatch expected, DoorbellBatch actual) {
        assertEquals(expected.size(), actual.size());
        for (int i = 0; i < expected.size(); i++) {
            assertEquals(expected.describe(i), actual.describe(i));
            VerbKind kind = expected.kind(i);
            switch (kind) {
                case READ -> {
                }
                case WRITE -> assertEquals(-1, expected.payload(i).mismatch(actual.payload(i)), expected.describe(i));
                case CAS -> {
                    assertEquals(expected.expected(i), actual.expected(i));
                    assertEquals(expected.desired(i), actual.desired(i));
                }
                case FAA -> assertEquals(expected.delta(i), actual.delta(i));
            }
        }
    }
}
