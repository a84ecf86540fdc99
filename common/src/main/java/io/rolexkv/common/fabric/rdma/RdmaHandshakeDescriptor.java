package io.rolexkv.common.fabric.rdma;

import io.rolexkv.common.fabric.RegionInfo;
import io.rolexkv.common.fabric.WordOrder;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;

/**
 * The hello a memory node SENDs to each client right after the RDMA connection is up: its id, the incarnation of its
 * data ({@link io.rolexkv.common.fabric.FabricConnection#incarnation()}) and, per region, what a client needs to aim
 * one-sided verbs at it. (Connection private data travels client to server only, so this goes as an ordinary
 * two-sided message into a receive the client posted before connecting; the incarnation rides here, as in the tcp
 * HELLO, for the same reason.) Little-endian throughout.
 *
 * <pre>
 *   Header, 24 bytes:
 *   0          4          6          8                     12                    16                              24
 *   +----------+----------+----------+---------------------+---------------------+-------------------------------+
 *   | magic    | version  | memory   | region count        | message length      | incarnation                   |
 *   | i32      | u16      | node u16 | i32                 | i32 (header incl.)  | i64                           |
 *   +----------+----------+----------+---------------------+---------------------+-------------------------------+
 *
 *   Then one record per region, each starting 8-aligned:
 *   0          4          8                     16                    24         28         32
 *   +----------+----------+---------------------+---------------------+----------+----------+
 *   | region   | name     | length i64          | base address i64    | chunk    | chunk    |
 *   | id i32   | bytes i32|                     | (node's virtual)    | shift i32| count i32|
 *   +----------+----------+---------------------+---------------------+----------+----------+
 *   32                                           32 + 4 * chunk count
 *   +--------------------------------------------+--------------------------+---------+
 *   | rkey i32 per chunk                          | name, UTF-8              | pad to 8|
 *   +--------------------------------------------+--------------------------+---------+
 * </pre>
 *
 * The client's receive buffer is {@link #MAX_MESSAGE_BYTES}; a memory node whose hello would not fit refuses to serve.
 */
public final class RdmaHandshakeDescriptor {
    /** "RKVH" read as a little-endian int. */
    public static final int MAGIC = 0x4856_4B52;
    /** 2: the incarnation joined the header. */
    public static final int VERSION = 2;
    public static final int MAX_MESSAGE_BYTES = 64 << 10;

    public static final int MAGIC_OFFSET = 0;
    public static final int VERSION_OFFSET = 4;
    public static final int MEMORY_NODE_OFFSET = 6;
    public static final int REGION_COUNT_OFFSET = 8;
    public static final int MESSAGE_LENGTH_OFFSET = 12;
    public static final int INCARNATION_OFFSET = 16;
    public static final int HEADER_LENGTH = 24;

    public static final int REGION_ID_OFFSET = 0;
    public static final int REGION_NAME_LENGTH_OFFSET = 4;
    public static final int REGION_LENGTH_OFFSET = 8;
    public static final int REGION_BASE_ADDRESS_OFFSET = 16;
    public static final int REGION_CHUNK_SHIFT_OFFSET = 24;
    public static final int REGION_CHUNK_COUNT_OFFSET = 28;
    public static final int REGION_RKEYS_OFFSET = 32;

    private static final int MAX_NAME_BYTES = 1024;

    private RdmaHandshakeDescriptor() {
    }

    /** Bytes the record of {@code region} takes, padding included. */
    public static int recordLength(RdmaRemoteRegion region) {
        long length = REGION_RKEYS_OFFSET + 4L * region.chunkCount()
                + region.info().name().getBytes(StandardCharsets.UTF_8).length;
        return (int) Math.min(Integer.MAX_VALUE - 8, (length + 7) & -8L);
    }

    /**
     * The hello for {@code table}.
     *
     * @throws IllegalArgumentException if it exceeds {@link #MAX_MESSAGE_BYTES}, naming the sizes
     */
    public static byte[] encode(RdmaRegionTable table) {
        long total = HEADER_LENGTH;
        for (RdmaRemoteRegion region : table.regions()) {
            if (region.info().name().getBytes(StandardCharsets.UTF_8).length > MAX_NAME_BYTES) {
                throw new IllegalArgumentException("region name longer than " + MAX_NAME_BYTES + " bytes: "
                        + region.info().name());
            }
            total += recordLength(region);
        }
        if (total > MAX_MESSAGE_BYTES) {
            throw new IllegalArgumentException("rdma region exchange needs bytes=" + total + " max="
                    + MAX_MESSAGE_BYTES + " regions=" + table.regionCount()
                    + "; use fewer regions or a larger " + RdmaSettings.REGISTRATION_CHUNK_SHIFT_PROP_NAME);
        }
        byte[] message = new byte[(int) total];
        MemorySegment out = MemorySegment.ofArray(message);
        out.set(WordOrder.INT_UNALIGNED, MAGIC_OFFSET, MAGIC);
        out.set(WordOrder.SHORT_UNALIGNED, VERSION_OFFSET, (short) VERSION);
        out.set(WordOrder.SHORT_UNALIGNED, MEMORY_NODE_OFFSET, (short) table.memoryNodeId());
        out.set(WordOrder.INT_UNALIGNED, REGION_COUNT_OFFSET, table.regionCount());
        out.set(WordOrder.INT_UNALIGNED, MESSAGE_LENGTH_OFFSET, (int) total);
        out.set(WordOrder.LONG_UNALIGNED, INCARNATION_OFFSET, table.incarnation());
        long position = HEADER_LENGTH;
        for (RdmaRemoteRegion region : table.regions()) {
            byte[] name = region.info().name().getBytes(StandardCharsets.UTF_8);
            out.set(WordOrder.INT_UNALIGNED, position + REGION_ID_OFFSET, region.info().id());
            out.set(WordOrder.INT_UNALIGNED, position + REGION_NAME_LENGTH_OFFSET, name.length);
            out.set(WordOrder.LONG_UNALIGNED, position + REGION_LENGTH_OFFSET, region.info().length());
            out.set(WordOrder.LONG_UNALIGNED, position + REGION_BASE_ADDRESS_OFFSET, region.baseAddress());
            out.set(WordOrder.INT_UNALIGNED, position + REGION_CHUNK_SHIFT_OFFSET, region.chunkShift());
            out.set(WordOrder.INT_UNALIGNED, position + REGION_CHUNK_COUNT_OFFSET, region.chunkCount());
            long rkeys = position + REGION_RKEYS_OFFSET;
            for (int chunk = 0; chunk < region.chunkCount(); chunk++) {
                out.set(WordOrder.INT_UNALIGNED, rkeys + 4L * chunk, region.rkey(chunk));
            }
            MemorySegment.copy(name, 0, out, ValueLayout.JAVA_BYTE, rkeys + 4L * region.chunkCount(), name.length);
            position += recordLength(region);
        }
        return message;
    }

    /**
     * Reads a hello of {@code length} received bytes.
     *
     * @throws IllegalArgumentException for anything malformed, naming the field and offset
     */
    public static RdmaRegionTable decode(MemorySegment message, int length) {
        if (length < HEADER_LENGTH || length > message.byteSize()) {
            throw new IllegalArgumentException("rdma hello length=" + length + " buffer=" + message.byteSize()
                    + " header=" + HEADER_LENGTH);
        }
        MemorySegment in = message.asSlice(0, length);
        int magic = in.get(WordOrder.INT_UNALIGNED, MAGIC_OFFSET);
        if (magic != MAGIC) {
            throw new IllegalArgumentException("rdma hello magic=0x" + Integer.toHexString(magic) + " expected=0x"
                    + Integer.toHexString(MAGIC) + ": the peer is not a rolex-kv memory node");
        }
        int version = Short.toUnsignedInt(in.get(WordOrder.SHORT_UNALIGNED, VERSION_OFFSET));
        if (version != VERSION) {
            throw new IllegalArgumentException("rdma hello version=" + version + " supported=" + VERSION);
        }
        int memoryNodeId = Short.toUnsignedInt(in.get(WordOrder.SHORT_UNALIGNED, MEMORY_NODE_OFFSET));
        int regionCount = in.get(WordOrder.INT_UNALIGNED, REGION_COUNT_OFFSET);
        int messageLength = in.get(WordOrder.INT_UNALIGNED, MESSAGE_LENGTH_OFFSET);
        long incarnation = in.get(WordOrder.LONG_UNALIGNED, INCARNATION_OFFSET);
        if (messageLength != length) {
            throw new IllegalArgumentException("rdma hello message_length=" + messageLength + " received=" + length);
        }
        if (regionCount < 0 || regionCount > (length - HEADER_LENGTH) / REGION_RKEYS_OFFSET) {
            throw new IllegalArgumentException("rdma hello region_count=" + regionCount + " length=" + length);
        }
        List<RdmaRemoteRegion> regions = new ArrayList<>(regionCount);
        long position = HEADER_LENGTH;
        for (int r = 0; r < regionCount; r++) {
            requireWithin(length, position, REGION_RKEYS_OFFSET, "region record", r);
            int id = in.get(WordOrder.INT_UNALIGNED, position + REGION_ID_OFFSET);
            int nameLength = in.get(WordOrder.INT_UNALIGNED, position + REGION_NAME_LENGTH_OFFSET);
            long regionLength = in.get(WordOrder.LONG_UNALIGNED, position + REGION_LENGTH_OFFSET);
            long baseAddress = in.get(WordOrder.LONG_UNALIGNED, position + REGION_BASE_ADDRESS_OFFSET);
            int chunkShift = in.get(WordOrder.INT_UNALIGNED, position + REGION_CHUNK_SHIFT_OFFSET);
            int chunkCount = in.get(WordOrder.INT_UNALIGNED, position + REGION_CHUNK_COUNT_OFFSET);
            if (nameLength < 1 || nameLength > MAX_NAME_BYTES || chunkCount < 0 || chunkCount > length / 4) {
                throw new IllegalArgumentException("rdma hello region " + r + " name_bytes=" + nameLength
                        + " chunk_count=" + chunkCount + " out of range");
            }
            long rkeysAt = position + REGION_RKEYS_OFFSET;
            long nameAt = rkeysAt + 4L * chunkCount;
            requireWithin(length, rkeysAt, 4L * chunkCount + nameLength, "region rkeys and name", r);
            int[] rkeys = new int[chunkCount];
            for (int chunk = 0; chunk < chunkCount; chunk++) {
                rkeys[chunk] = in.get(WordOrder.INT_UNALIGNED, rkeysAt + 4L * chunk);
            }
            String name = new String(in.asSlice(nameAt, nameLength).toArray(ValueLayout.JAVA_BYTE), StandardCharsets.UTF_8);
            RdmaRemoteRegion region = new RdmaRemoteRegion(new RegionInfo(id, name, regionLength), baseAddress,
                    chunkShift, rkeys);
            regions.add(region);
            position += recordLength(region);
        }
        if (position != length) {
            throw new IllegalArgumentException("rdma hello has bytes=" + length + " but its records end at " + position);
        }
        return new RdmaRegionTable(memoryNodeId, incarnation, regions);
    }

    private static void requireWithin(int length, long position, long bytes, String what, int region) {
        if (position + bytes > length) {
            throw new IllegalArgumentException("rdma hello " + what + " of region " + region + " at offset="
                    + position + " bytes=" + bytes + " runs past length=" + length);
        }
    }
}
