package io.rolexkv.common.fabric.tcp;

import io.rolexkv.common.fabric.DoorbellBatch;
import io.rolexkv.common.fabric.FabricLimits;
import io.rolexkv.common.fabric.GlobalAddress;
import io.rolexkv.common.fabric.RegionInfo;
import io.rolexkv.common.net.FrameHeader;

import java.nio.charset.StandardCharsets;
import java.util.List;

/**
 * Where every byte of a tcp transport frame's body lives: the one place that says it. {@link FrameCodec} reads and
 * writes frames with these offsets, and nothing else does. Every frame starts with the header of the network layer
 * ({@link FrameHeader}: length, magic, version, type, request id), with this protocol's {@link #WIRE} magic and
 * version; the request id is the batch id.
 *
 * <p>Three frames travel over one tcp connection (one queue pair). The memory node sends a HELLO as soon as a client
 * connects, the analogue of an RDMA peer's exchange of region address, length and rkey; then the client sends
 * REQUEST frames (one per doorbell batch) and the memory node answers each with one COMPLETION frame, in the order it
 * received the requests. Every integer is little-endian ({@link io.rolexkv.common.fabric.WordOrder}), like every word
 * in a region, so a node never swaps bytes on the verb path. A receiver refuses a frame longer than the largest it
 * accepts ({@link FabricLimits#maxFrameBytes()} on the memory node) as soon as it has read the length, and closes the
 * connection: no well-behaved peer sends such a frame.
 *
 * <h2>HELLO (type 1, memory node to client, once, first; request id 0)</h2>
 * <pre>
 *  +--------------------+--------------------+---------------------------------------+
 *  | memory node (i32)  | max verbs (i32)    |    max bytes per batch (i64)          |
 *  +--------------------+--------------------+---------------------------------------+
 *  |              incarnation (i64)          | region count (i32) |  then region count entries:
 *  +-----------------------------------------+--------------------+
 *      +--------------+------------------------------+------------------+------------------+
 *      | region (i32) |    region length (i64)       | name bytes (u16) | name (UTF-8)     |
 *      +--------------+------------------------------+------------------+------------------+
 * </pre>
 * The limits are the memory node's {@link FabricLimits}; the incarnation the random id of its memory's data
 * ({@link io.rolexkv.common.fabric.FabricConnection#incarnation()}), which a reconnecting client compares with the one
 * it first saw; the regions its {@link RegionInfo}s in id order.
 *
 * <h2>REQUEST (type 2, client to memory node, one per doorbell batch; request id = batch id)</h2>
 * <pre>
 *  +--------------------+
 *  | verb count (i32)   |  then verb count verbs, in batch order:
 *  +--------------------+
 *      +------+----------------------+-------------+----------------------+----------------------+-----------+
 *      | kind | global address (i64) | length (i32)| first operand (i64)  | second operand (i64) | payload   |
 *      | (u8) |                      |             |                      |                      | WRITE only|
 *      +------+----------------------+-------------+----------------------+----------------------+-----------+
 * </pre>
 * Kind is {@link io.rolexkv.common.fabric.VerbKind#code()}. Length: READ and WRITE their byte count, CAS and FAA 8.
 * First operand: CAS expected, FAA delta, otherwise 0. Second operand: CAS desired, otherwise 0. A WRITE's
 * {@code length} payload bytes follow its header; no other verb has a payload. The 29 header bytes per verb are
 * {@link FabricLimits#VERB_HEADER_BYTES}.
 *
 * <h2>COMPLETION (type 3, memory node to client, one per request; request id of the request)</h2>
 * <pre>
 *  +--------------+
 *  | status (u8)  |
 *  +--------------+
 *  status 0, DONE:
 *      +--------------------+--------------------------------------------------------------------------+
 *      | verb count (i32)   | per verb, in verb order: CAS and FAA the old value (i64), READ its bytes, |
 *      |                    | WRITE nothing                                                            |
 *      +--------------------+--------------------------------------------------------------------------+
 *  status 1, REFUSED (a VerbRejectedException; nothing in the batch was applied):
 *      +--------------------+--------------+--------------------+----------------------------+
 *      | verb index (i32)   | reason (u8)  | detail bytes (i32) | detail (UTF-8, key=value)  |
 *      +--------------------+--------------+--------------------+----------------------------+
 * </pre>
 * The client knows each READ's length from the batch it posted, so a DONE body carries no per-verb lengths: its
 * size is fixed by the batch, and the client checks it is exactly that. Results come in verb order so the memory node
 * writes each one into the frame as the verb runs, READ data straight from registered memory. Verb index -1 refuses
 * the batch as a whole; reason is the {@link io.rolexkv.common.fabric.VerbRejectedException.Reason} ordinal.
 */
public final class FrameDescriptor {
    /** This protocol's magic and version in {@link FrameHeader}; a peer refuses frames of another. */
    public static final FrameHeader.Wire WIRE = new FrameHeader.Wire("tcp_fabric", (byte) 0xD7, (byte) 3);

    public static final byte TYPE_HELLO = 1;
    public static final byte TYPE_REQUEST = 2;
    public static final byte TYPE_COMPLETION = 3;

    public static final byte STATUS_DONE = 0;
    public static final byte STATUS_REFUSED = 1;

    /** Bytes before any body: {@link FrameHeader#HEADER_LENGTH}. */
    public static final int HEADER_LENGTH = FrameHeader.HEADER_LENGTH;

    // HELLO.
    public static final int HELLO_MEMORY_NODE_OFFSET = HEADER_LENGTH;
    public static final int HELLO_MAX_VERBS_OFFSET = HELLO_MEMORY_NODE_OFFSET + Integer.BYTES;
    public static final int HELLO_MAX_BYTES_OFFSET = HELLO_MAX_VERBS_OFFSET + Integer.BYTES;
    public static final int HELLO_INCARNATION_OFFSET = HELLO_MAX_BYTES_OFFSET + Long.BYTES;
    public static final int HELLO_REGION_COUNT_OFFSET = HELLO_INCARNATION_OFFSET + Long.BYTES;
    public static final int HELLO_REGIONS_OFFSET = HELLO_REGION_COUNT_OFFSET + Integer.BYTES;
    /** Offsets inside one HELLO region entry. */
    public static final int REGION_ID_OFFSET = 0;
    public static final int REGION_LENGTH_OFFSET = REGION_ID_OFFSET + Integer.BYTES;
    public static final int REGION_NAME_LENGTH_OFFSET = REGION_LENGTH_OFFSET + Long.BYTES;
    public static final int REGION_NAME_OFFSET = REGION_NAME_LENGTH_OFFSET + Short.BYTES;
    /** A region entry without its name. */
    public static final int REGION_ENTRY_FIXED_LENGTH = REGION_NAME_OFFSET;
    public static final int MAX_REGION_NAME_BYTES = 0xFFFF;
    /** The largest HELLO any memory node can send: every region, every name at its longest. */
    public static final int MAX_HELLO_FRAME_BYTES =
            HELLO_REGIONS_OFFSET + GlobalAddress.MAX_REGIONS * (REGION_ENTRY_FIXED_LENGTH + MAX_REGION_NAME_BYTES);

    // REQUEST.
    public static final int REQUEST_BATCH_ID_OFFSET = FrameHeader.REQUEST_ID_OFFSET;
    public static final int REQUEST_VERB_COUNT_OFFSET = HEADER_LENGTH;
    public static final int REQUEST_VERBS_OFFSET = REQUEST_VERB_COUNT_OFFSET + Integer.BYTES;
    /** Offsets inside one verb, from its kind byte. */
    public static final int VERB_KIND_OFFSET = 0;
    public static final int VERB_ADDRESS_OFFSET = VERB_KIND_OFFSET + 1;
    public static final int VERB_LENGTH_OFFSET = VERB_ADDRESS_OFFSET + Long.BYTES;
    public static final int VERB_FIRST_OPERAND_OFFSET = VERB_LENGTH_OFFSET + Integer.BYTES;
    public static final int VERB_SECOND_OPERAND_OFFSET = VERB_FIRST_OPERAND_OFFSET + Long.BYTES;
    /** A verb without its payload; equal to {@link FabricLimits#VERB_HEADER_BYTES} by construction. */
    public static final int VERB_HEADER_LENGTH = VERB_SECOND_OPERAND_OFFSET + Long.BYTES;

    // COMPLETION.
    public static final int COMPLETION_BATCH_ID_OFFSET = FrameHeader.REQUEST_ID_OFFSET;
    public static final int COMPLETION_STATUS_OFFSET = HEADER_LENGTH;
    public static final int COMPLETION_BODY_OFFSET = COMPLETION_STATUS_OFFSET + 1;
    public static final int DONE_VERB_COUNT_OFFSET = COMPLETION_BODY_OFFSET;
    public static final int DONE_RESULTS_OFFSET = DONE_VERB_COUNT_OFFSET + Integer.BYTES;
    public static final int REFUSED_VERB_INDEX_OFFSET = COMPLETION_BODY_OFFSET;
    public static final int REFUSED_REASON_OFFSET = REFUSED_VERB_INDEX_OFFSET + Integer.BYTES;
    public static final int REFUSED_DETAIL_LENGTH_OFFSET = REFUSED_REASON_OFFSET + 1;
    public static final int REFUSED_DETAIL_OFFSET = REFUSED_DETAIL_LENGTH_OFFSET + Integer.BYTES;

    static {
        if (VERB_HEADER_LENGTH != FabricLimits.VERB_HEADER_BYTES) {
            throw new ExceptionInInitializerError("verb_header_length=" + VERB_HEADER_LENGTH
                    + " FabricLimits.VERB_HEADER_BYTES=" + FabricLimits.VERB_HEADER_BYTES);
        }
    }

    private FrameDescriptor() {
    }

    /** Bytes of the REQUEST frame that carries {@code batch}, length field included. */
    public static long requestFrameBytes(DoorbellBatch batch) {
        return REQUEST_VERBS_OFFSET + (long) batch.size() * VERB_HEADER_LENGTH + batch.bytesToWrite();
    }

    /** Bytes of the DONE COMPLETION frame for {@code batch}, length field included. */
    public static long doneFrameBytes(DoorbellBatch batch) {
        return DONE_RESULTS_OFFSET + (long) atomicVerbs(batch) * Long.BYTES + batch.bytesToRead();
    }

    /** Bytes of a REFUSED COMPLETION frame whose detail is {@code detailBytes} long, length field included. */
    public static int refusedFrameBytes(int detailBytes) {
        return REFUSED_DETAIL_OFFSET + detailBytes;
    }

    /** Bytes of the HELLO frame that lists {@code regions}, length field included. */
    public static int helloFrameBytes(List<RegionInfo> regions) {
        int bytes = HELLO_REGIONS_OFFSET;
        for (RegionInfo region : regions) {
            bytes += REGION_ENTRY_FIXED_LENGTH + region.name().getBytes(StandardCharsets.UTF_8).length;
        }
        return bytes;
    }

    /**
     * The largest frame, length field included, a memory node with {@code limits} accepts: what
     * {@link FabricLimits#maxFrameBytes()} says, capped at what the int32 length field can describe.
     */
    public static int maxFrameBytes(FabricLimits limits) {
        return (int) Math.min(limits.maxFrameBytes(), (long) Integer.MAX_VALUE);
    }

    /** CAS and FAA verbs in {@code batch}: the old values a DONE completion carries. */
    public static int atomicVerbs(DoorbellBatch batch) {
        int atomics = 0;
        for (int i = 0; i < batch.size(); i++) {
            if (batch.kind(i).isAtomic()) {
                atomics++;
            }
        }
        return atomics;
    }
}
