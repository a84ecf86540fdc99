package io.rolexkv.common.fabric.tcp;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import io.rolexkv.common.fabric.BatchResult;
import io.rolexkv.common.fabric.CompletionBuffer;
import io.rolexkv.common.fabric.DoorbellBatch;
import io.rolexkv.common.fabric.FabricLimits;
import io.rolexkv.common.fabric.GlobalAddress;
import io.rolexkv.common.fabric.RegionInfo;
import io.rolexkv.common.fabric.VerbKind;
import io.rolexkv.common.fabric.VerbRejectedException;
import io.rolexkv.common.fabric.VerbSink;
import io.rolexkv.common.net.FrameFormatException;
import io.rolexkv.common.net.FrameHeader;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;

/**
 * The one codec of the tcp transport: encodes and decodes every frame {@link FrameDescriptor} lays out, for both
 * ends. Encoders size each frame exactly up front and write it into one buffer from the channel's (pooled, direct)
 * allocator. Decoders take one whole frame, length field included, and either return what it says or throw
 * {@link FrameFormatException}: they check every count against the bytes present before they allocate or loop, so
 * no input makes them throw anything else, allocate more than the frame's own size, or read outside the frame.
 *
 * <p>Decoding is strict: reserved operands must be zero, an atomic's length must be 8, and a frame must end exactly
 * where its last field does. So any frame that decodes re-encodes to the same bytes, which the fuzz tests check.
 */
public final class FrameCodec {

    /**
     * What a memory node says first: who it is, which incarnation of its data it serves, what it accepts, what it has
     * registered.
     */
    public record Hello(int memoryNodeId, long incarnation, FabricLimits limits, List<RegionInfo> regions) {
        public Hello {
            regions = List.copyOf(regions);
        }
    }

    /**
     * One decoded REQUEST. A WRITE's payload in {@code batch} is a view of the frame's memory, not a copy: valid only
     * while the frame is retained and unchanged.
     */
    public record Request(long batchId, DoorbellBatch batch) {
    }

    /** One decoded COMPLETION: the batch ran ({@link Done}) or was refused whole ({@link Refused}). */
    public sealed interface Completion permits Done, Refused {
        long batchId();
    }

    public record Done(long batchId, BatchResult result) implements Completion {
    }

    public record Refused(long batchId, VerbRejectedException rejection) implements Completion {
    }

    private FrameCodec() {
    }

    // ---------------------------------------------------------------------------------------------- every frame

    private static ByteBuf startFrame(ByteBufAllocator allocator, long frameBytes, byte type, long requestId) {
        return FrameHeader.start(allocator, FrameDescriptor.WIRE, frameBytes, type, requestId);
    }

    /**
     * Appends {@code source}'s bytes with one bulk copy into the frame's memory. Unlike a {@code ByteBuffer} view, this
     * takes any segment (native, mapped, or a heap segment over any primitive array).
     */
    private static void writeSegment(ByteBuf frame, MemorySegment source) {
        int length = (int) source.byteSize();
        frame.ensureWritable(length);
        if (frame.nioBufferCount() == 1) {
            MemorySegment target = MemorySegment.ofBuffer(frame.nioBuffer(frame.writerIndex(), length));
            MemorySegment.copy(source, 0, target, 0, length);
            frame.writerIndex(frame.writerIndex() + length);
        } else {
            frame.writeBytes(source.toArray(ValueLayout.JAVA_BYTE));
        }
    }

    /** Checks the header, moves the reader index to the body and returns the request id. */
    private static long readHeader(ByteBuf frame, byte expectedType) throws FrameFormatException {
        FrameHeader.check(frame, FrameDescriptor.WIRE, expectedType);
        long requestId = FrameHeader.requestId(frame);
        frame.skipBytes(FrameDescriptor.HEADER_LENGTH);
        return requestId;
    }

    private static void require(ByteBuf frame, long bytes, String what) throws FrameFormatException {
        if (frame.readableBytes() < bytes) {
            throw new FrameFormatException("truncated field=" + what + " needs=" + bytes + " remaining=" + frame.readableBytes());
        }
    }

    private static void requireEnd(ByteBuf frame) throws FrameFormatException {
        if (frame.isReadable()) {
            throw new FrameFormatException("trailing_bytes=" + frame.readableBytes());
        }
    }

    // ---------------------------------------------------------------------------------------------- HELLO

    /** The HELLO a memory node sends on connect. */
    public static ByteBuf encodeHello(ByteBufAllocator allocator, int memoryNodeId, long incarnation, FabricLimits limits,
                                      List<RegionInfo> regions) {
        List<byte[]> names = new ArrayList<>(regions.size());
        for (RegionInfo region : regions) {
            byte[] name = region.name().getBytes(StandardCharsets.UTF_8);
            if (name.length > FrameDescriptor.MAX_REGION_NAME_BYTES) {
                throw new IllegalArgumentException("region=" + region.id() + " name_bytes=" + name.length
                        + " max=" + FrameDescriptor.MAX_REGION_NAME_BYTES);
            }
            names.add(name);
        }
        ByteBuf frame = startFrame(allocator, FrameDescriptor.helloFrameBytes(regions), FrameDescriptor.TYPE_HELLO, 0);
        frame.writeIntLE(memoryNodeId);
        frame.writeIntLE(limits.maxVerbsPerBatch());
        frame.writeLongLE(limits.maxBytesPerBatch());
        frame.writeLongLE(incarnation);
        frame.writeIntLE(regions.size());
        for (int i = 0; i < regions.size(); i++) {
            RegionInfo region = regions.get(i);
            frame.writeIntLE(region.id());
            frame.writeLongLE(region.length());
            frame.writeShortLE(names.get(i).length);
            frame.writeBytes(names.get(i));
        }
        return frame;
    }

    /** Decodes a HELLO; the region list must be in id order starting at 0, as {@code RegisteredMemory} numbers it. */
    public static Hello decodeHello(ByteBuf frame) throws FrameFormatException {
        readHeader(frame, FrameDescriptor.TYPE_HELLO);
        require(frame, FrameDescriptor.HELLO_REGIONS_OFFSET - FrameDescriptor.HEADER_LENGTH, "hello");
        int memoryNodeId = frame.readIntLE();
        if (memoryNodeId < 0 || memoryNodeId >= GlobalAddress.MAX_MEMORY_NODES) {
            throw new FrameFormatException("memory_node=" + memoryNodeId + " allowed=[0," + (GlobalAddress.MAX_MEMORY_NODES - 1) + "]");
        }
        int maxVerbs = frame.readIntLE();
        long maxBytes = frame.readLongLE();
        FabricLimits limits;
        try {
            limits = new FabricLimits(maxVerbs, maxBytes);
        } catch (IllegalArgumentException e) {
            throw new FrameFormatException("bad limits: " + e.getMessage());
        }
        long incarnation = frame.readLongLE();
        int regionCount = frame.readIntLE();
        if (regionCount < 0 || regionCount > GlobalAddress.MAX_REGIONS) {
            throw new FrameFormatException("region_count=" + regionCount + " allowed=[0," + GlobalAddress.MAX_REGIONS + "]");
        }
        List<RegionInfo> regions = new ArrayList<>(regionCount);
        for (int i = 0; i < regionCount; i++) {
            require(frame, FrameDescriptor.REGION_ENTRY_FIXED_LENGTH, "region " + i);
            int id = frame.readIntLE();
            long length = frame.readLongLE();
            int nameBytes = frame.readUnsignedShortLE();
            require(frame, nameBytes, "region " + i + " name");
            String name = frame.readCharSequence(nameBytes, StandardCharsets.UTF_8).toString();
            if (id != i) {
                throw new FrameFormatException("region_entry=" + i + " region=" + id + " expected=" + i);
            }
            try {
                regions.add(new RegionInfo(id, name, length));
            } catch (IllegalArgumentException e) {
                throw new FrameFormatException("bad region entry=" + i + ": " + e.getMessage());
            }
        }
        requireEnd(frame);
        return new Hello(memoryNodeId, incarnation, limits, regions);
    }

    // ---------------------------------------------------------------------------------------------- REQUEST

    /** The REQUEST that carries {@code batch} under {@code batchId}: {@link FrameDescriptor#requestFrameBytes} bytes. */
    public static ByteBuf encodeRequest(ByteBufAllocator allocator, long batchId, DoorbellBatch batch) {
        ByteBuf frame = startFrame(allocator, FrameDescriptor.requestFrameBytes(batch), FrameDescriptor.TYPE_REQUEST, batchId);
        try {
            frame.writeIntLE(batch.size());
            for (int i = 0; i < batch.size(); i++) {
                VerbKind kind = batch.kind(i);
                frame.writeByte(kind.code());
                frame.writeLongLE(batch.address(i));
                frame.writeIntLE(batch.length(i));
                switch (kind) {
                    case READ -> frame.writeLongLE(0).writeLongLE(0);
                    case WRITE -> {
                        frame.writeLongLE(0).writeLongLE(0);
                        if (batch.isInlineWord(i)) {
                            frame.writeLongLE(batch.inlineWord(i));
                        } else {
                            writeSegment(frame, batch.payload(i));
                        }
                    }
                    case CAS -> frame.writeLongLE(batch.expected(i)).writeLongLE(batch.desired(i));
                    case FAA -> frame.writeLongLE(batch.delta(i)).writeLongLE(0);
                }
            }
            return frame;
        } catch (RuntimeException e) {
            frame.release();
            throw e;
        }
    }

    /**
     * Decodes a REQUEST into a fresh batch. Checks the frame's layout only; whether the verbs are ones the memory node
     * will run (regions, bounds, alignment, limits) is {@link io.rolexkv.common.fabric.VerbExecutor}'s call.
     */
    public static Request decodeRequest(ByteBuf frame) throws FrameFormatException {
        DoorbellBatch batch = new DoorbellBatch();
        long batchId = decodeRequest(frame, batch);
        return new Request(batchId, batch);
    }

    /**
     * Decodes a REQUEST into {@code batch}, which is cleared first (a memory node reuses one per connection), and
     * returns its batch id. A WRITE's payload is a view of the frame, valid while the frame is retained.
     */
    public static long decodeRequest(ByteBuf frame, DoorbellBatch batch) throws FrameFormatException {
        batch.clear();
        long batchId = readHeader(frame, FrameDescriptor.TYPE_REQUEST);
        require(frame, FrameDescriptor.REQUEST_VERBS_OFFSET - FrameDescriptor.HEADER_LENGTH, "request");
        int verbCount = frame.readIntLE();
        if (verbCount < 0) {
            throw new FrameFormatException("verb_count=" + verbCount);
        }
        // Every verb has a fixed header, so the count is bounded by the bytes present before anything is built.
        require(frame, (long) verbCount * FrameDescriptor.VERB_HEADER_LENGTH, "verbs verb_count=" + verbCount);
        for (int i = 0; i < verbCount; i++) {
            require(frame, FrameDescriptor.VERB_HEADER_LENGTH, "verb " + i);
            int code = frame.readUnsignedByte();
            VerbKind kind = VerbKind.ofCode(code);
            if (kind == null) {
                throw new FrameFormatException("verb=" + i + " kind_code=" + code);
            }
            long address = frame.readLongLE();
            int length = frame.readIntLE();
            long first = frame.readLongLE();
            long second = frame.readLongLE();
            if (length < 0) {
                throw new FrameFormatException("verb=" + i + " kind=" + kind + " length=" + length);
            }
            if (kind.isAtomic() && length != Long.BYTES) {
                throw new FrameFormatException("verb=" + i + " kind=" + kind + " length=" + length + " expected=8");
            }
            boolean secondUnused = kind != VerbKind.CAS;
            boolean firstUnused = !kind.isAtomic();
            if ((firstUnused && first != 0) || (secondUnused && second != 0)) {
                throw new FrameFormatException("verb=" + i + " kind=" + kind + " reserved operands first=" + first
                        + " second=" + second + " must be 0");
            }
            switch (kind) {
                case READ -> batch.read(address, length);
                case WRITE -> {
                    require(frame, length, "verb " + i + " payload");
                    if (length == Long.BYTES) {
                        // The common small WRITE (a word): kept in the batch, no view of the frame to allocate.
                        batch.writeLong(address, frame.readLongLE());
                    } else {
                        MemorySegment payload = MemorySegment.ofBuffer(frame.nioBuffer(frame.readerIndex(), length));
                        frame.skipBytes(length);
                        batch.write(address, payload);
                    }
                }
                case CAS -> batch.compareAndSwap(address, first, second);
                case FAA -> batch.fetchAndAdd(address, first);
            }
        }
        requireEnd(frame);
        return batchId;
    }

    // ---------------------------------------------------------------------------------------------- COMPLETION

    /** The DONE completion of {@code batch} with {@code result}: {@link FrameDescriptor#doneFrameBytes} bytes. */
    public static ByteBuf encodeDone(ByteBufAllocator allocator, long batchId, DoorbellBatch batch, BatchResult result) {
        ByteBuf frame = startDone(allocator, batchId, batch);
        for (int i = 0; i < batch.size(); i++) {
            switch (batch.kind(i)) {
                case READ -> writeSegment(frame, result.read(i));
                case CAS, FAA -> frame.writeLongLE(result.oldValue(i));
                case WRITE -> {
                }
            }
        }
        return FrameHeader.finish(frame);
    }

    /**
     * A DONE completion of {@code batch} up to its results, sized for all of them: the memory node then runs the
     * batch with a {@link DoneWriter} on this frame, which writes each result into it as its verb runs.
     */
    public static ByteBuf startDone(ByteBufAllocator allocator, long batchId, DoorbellBatch batch) {
        ByteBuf frame = startFrame(allocator, FrameDescriptor.doneFrameBytes(batch), FrameDescriptor.TYPE_COMPLETION, batchId);
        frame.writeByte(FrameDescriptor.STATUS_DONE);
        frame.writeIntLE(batch.size());
        return frame;
    }

    /**
     * Writes a running batch's results into a frame {@link #startDone} began: the copy from registered memory is the
     * only one READ data gets on the memory node. Reusable: point it at each new frame with {@link #target}, then take
     * the finished frame back with {@link #finish}.
     *
     * <p>Results go through one segment view of the frame's unwritten bytes, made once per frame, so each READ word is
     * one bounds-checked store rather than a buffer write that re-checks capacity, reference count and index.
     */
    public static final class DoneWriter implements VerbSink {
        private static final ValueLayout.OfLong WORD = ValueLayout.JAVA_LONG_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);

        private ByteBuf frame;
        private MemorySegment results;
        private long position;

        /**
         * Writes from now on into {@code frame}, from its writer index to its capacity.
         *
         * @throws IllegalArgumentException if the frame is not one contiguous buffer (an allocator's buffers are)
         */
        public DoneWriter target(ByteBuf frame) {
            if (frame.nioBufferCount() != 1) {
                throw new IllegalArgumentException("completion frame must be one buffer, nio_buffers=" + frame.nioBufferCount());
            }
            this.frame = frame;
            this.position = 0;
            this.results = MemorySegment.ofBuffer(frame.internalNioBuffer(frame.writerIndex(), frame.writableBytes()));
            return this;
        }

        /**
         * Moves the frame's writer index past what was written, checks the frame is whole ({@link FrameHeader#finish})
         * and returns it; the writer then holds nothing of it.
         */
        public ByteBuf finish() {
            ByteBuf finished = frame;
            finished.writerIndex(finished.writerIndex() + (int) position);
            forget();
            return FrameHeader.finish(finished);
        }

        /** Lets go of the frame without finishing it (the caller releases it). */
        public void forget() {
            frame = null;
            results = null;
            position = 0;
        }

        @Override
        public void oldValue(int verb, long value) {
            results.set(WORD, position, value);
            position += Long.BYTES;
        }

        @Override
        public void readWord(long word) {
            results.set(WORD, position, word);
            position += Long.BYTES;
        }

        @Override
        public void readByte(byte value) {
            results.set(ValueLayout.JAVA_BYTE, position, value);
            position++;
        }
    }

    /** The REFUSED completion that carries {@code rejection} back to the client. */
    public static ByteBuf encodeRefused(ByteBufAllocator allocator, long batchId, VerbRejectedException rejection) {
        byte[] detail = rejection.detail().getBytes(StandardCharsets.UTF_8);
        ByteBuf frame = startFrame(allocator, FrameDescriptor.refusedFrameBytes(detail.length), FrameDescriptor.TYPE_COMPLETION,
                batchId);
        frame.writeByte(FrameDescriptor.STATUS_REFUSED);
        frame.writeIntLE(rejection.verbIndex());
        frame.writeByte(rejection.reason().ordinal());
        frame.writeIntLE(detail.length);
        frame.writeBytes(detail);
        return frame;
    }

    /** The batch id of a COMPLETION frame, so the client can find the batch it completes. Reads nothing. */
    public static long completionBatchId(ByteBuf frame) throws FrameFormatException {
        if (frame.readableBytes() < FrameDescriptor.COMPLETION_BODY_OFFSET) {
            throw new FrameFormatException("truncated completion bytes=" + frame.readableBytes());
        }
        return frame.getLongLE(frame.readerIndex() + FrameDescriptor.COMPLETION_BATCH_ID_OFFSET);
    }

    /**
     * Decodes the COMPLETION of {@code batch}. A DONE frame must be exactly the size {@code batch} implies; its READ
     * bytes are copied once into one heap array the result's READ segments share.
     */
    public static Completion decodeCompletion(ByteBuf frame, DoorbellBatch batch) throws FrameFormatException {
        long batchId = readHeader(frame, FrameDescriptor.TYPE_COMPLETION);
        return switch (readStatus(frame, batchId)) {
            case FrameDescriptor.STATUS_DONE -> new Done(batchId, decodeDone(frame, batch));
            default -> new Refused(batchId, decodeRefused(frame, batch));
        };
    }

    /**
     * Decodes the COMPLETION of {@code batch} into its caller's buffer: a DONE frame's READ bytes are copied once, from
     * the frame straight into {@code into} (which grows to the batch if it must), with nothing allocated on the way for
     * a frame in a heap array, as the client reads them. A REFUSED frame is thrown as the memory node's
     * {@link VerbRejectedException}; {@code into} then holds nothing of use.
     *
     * @throws FrameFormatException as {@link #decodeCompletion(ByteBuf, DoorbellBatch)}
     */
    public static void decodeCompletion(ByteBuf frame, DoorbellBatch batch, CompletionBuffer into) throws FrameFormatException {
        long batchId = readHeader(frame, FrameDescriptor.TYPE_COMPLETION);
        if (readStatus(frame, batchId) == FrameDescriptor.STATUS_REFUSED) {
            throw decodeRefused(frame, batch);
        }
        requireDoneResults(frame, batch);
        into.reset(batch);
        for (int i = 0; i < batch.size(); i++) {
            switch (batch.kind(i)) {
                case READ -> {
                    int length = batch.length(i);
                    if (frame.hasArray()) {
                        into.putRead(i, frame.array(), frame.arrayOffset() + frame.readerIndex());
                    } else {
                        into.putRead(i, MemorySegment.ofBuffer(frame.nioBuffer(frame.readerIndex(), length)), 0);
                    }
                    frame.skipBytes(length);
                }
                case CAS, FAA -> into.putOldValue(i, frame.readLongLE());
                case WRITE -> {
                }
            }
        }
    }

    /** Reads a COMPLETION's status byte: DONE or REFUSED, anything else is a broken frame. */
    private static byte readStatus(ByteBuf frame, long batchId) throws FrameFormatException {
        require(frame, FrameDescriptor.COMPLETION_BODY_OFFSET - FrameDescriptor.HEADER_LENGTH, "completion");
        byte status = frame.readByte();
        if (status != FrameDescriptor.STATUS_DONE && status != FrameDescriptor.STATUS_REFUSED) {
            throw new FrameFormatException("batch_id=" + batchId + " status=" + status);
        }
        return status;
    }

    /** Checks a DONE body holds {@code batch}'s results exactly and moves past its verb count, to the results. */
    private static void requireDoneResults(ByteBuf frame, DoorbellBatch batch) throws FrameFormatException {
        require(frame, Integer.BYTES, "verb count");
        int verbCount = frame.readIntLE();
        if (verbCount != batch.size()) {
            throw new FrameFormatException("completion verb_count=" + verbCount + " batch_verbs=" + batch.size());
        }
        long expectedBytes = FrameDescriptor.doneFrameBytes(batch) - FrameDescriptor.DONE_RESULTS_OFFSET;
        if (frame.readableBytes() != expectedBytes) {
            throw new FrameFormatException("completion result_bytes=" + frame.readableBytes() + " expected=" + expectedBytes);
        }
    }

    private static BatchResult decodeDone(ByteBuf frame, DoorbellBatch batch) throws FrameFormatException {
        requireDoneResults(frame, batch);
        int size = batch.size();
        long[] oldValues = new long[size];
        byte[] reads = new byte[(int) batch.bytesToRead()];
        int offset = 0;
        for (int i = 0; i < size; i++) {
            switch (batch.kind(i)) {
                case READ -> {
                    frame.readBytes(reads, offset, batch.length(i));
                    offset += batch.length(i);
                }
                case CAS, FAA -> oldValues[i] = frame.readLongLE();
                case WRITE -> {
                }
            }
        }
        return BatchResult.ofPackedReads(batch, reads, oldValues);
    }

    private static VerbRejectedException decodeRefused(ByteBuf frame, DoorbellBatch batch) throws FrameFormatException {
        require(frame, FrameDescriptor.REFUSED_DETAIL_OFFSET - FrameDescriptor.REFUSED_VERB_INDEX_OFFSET, "refusal");
        int verbIndex = frame.readIntLE();
        if (verbIndex < -1 || verbIndex >= batch.size()) {
            throw new FrameFormatException("refused verb_index=" + verbIndex + " batch_verbs=" + batch.size());
        }
        int code = frame.readUnsignedByte();
        VerbRejectedException.Reason reason = VerbRejectedException.Reason.ofCode(code);
        if (reason == null) {
            throw new FrameFormatException("refused reason_code=" + code);
        }
        int detailBytes = frame.readIntLE();
        if (detailBytes != frame.readableBytes()) {
            throw new FrameFormatException("refused detail_bytes=" + detailBytes + " remaining=" + frame.readableBytes());
        }
        String detail = frame.readCharSequence(detailBytes, StandardCharsets.UTF_8).toString();
        return new VerbRejectedException(verbIndex, reason, detail);
    }
}
