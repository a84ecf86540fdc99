package io.rolexkv.computenode.value;

import io.rolexkv.common.fabric.WordOrder;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import java.util.ArrayList;
import java.util.List;

/**
 * Space a compute node hands back to a memory node's values region when it closes, kept in the region itself as a
 * stack of list nodes whose top is the header's {@code returnedSpace} word ({@link ValueRegionDescriptor}). A closing
 * node writes one or more list nodes into space it is handing back anyway and pushes them with one CAS; an allocator
 * that finds the region's fresh space gone pops a node (READ the top, READ the node, CAS the top to the node's next)
 * and takes every extent in it, the node's own bytes included.
 *
 * <pre>
 *  top word:   | tag u16 (bits 48-63) | region offset of the top node u48 (0: empty) |
 *
 *  list node (16-byte aligned, at most NODE_MAX_BYTES):
 *   0             8            12        14     15
 *  +-------------+------------+---------+------+------+
 *  | next u64    | own bytes  | entries | own  | own  |    next: offset of the node below, 0 at the bottom
 *  |             | u32        | u16     | kind | inc. |    own: the node's own extent, handed back with it
 *  +-------------+------------+---------+------+------+
 *  16: entries, 16 bytes each:
 *  +-------------+------------+------+------+---------+
 *  | offset u64  | bytes u32  | kind | inc. | 0 u16   |
 *  +-------------+------------+------+------+---------+
 * </pre>
 *
 * Kinds: {@link #FRESH} an extent never handed out as a block (the rest of a chunk): bump-allocate it;
 * {@link #FREE} one block of a size class, past its grace period (or never linked), reusable at once with the
 * incarnation given; {@link #PENDING} one retired block still inside its grace period when its node closed: the taker
 * waits a whole grace period from the moment it takes it (so the wait only grows; no reader is ever shortened).
 *
 * <p>The tag counts pushes and pops, so a pop whose node was popped, reused and pushed again meanwhile fails its CAS
 * (ABA). A node is read only between seeing it on top and the CAS that takes it; a successful CAS proves nobody
 * changed it in between, since only its owner writes it and it had to be popped first.
 */
public final class ReturnedSpaceDescriptor {
    public static final int NEXT_OFFSET = 0;
    public static final int OWN_BYTES_OFFSET = 8;
    public static final int ENTRIES_OFFSET = 12;
    public static final int OWN_KIND_OFFSET = 14;
    public static final int OWN_INCARNATION_OFFSET = 15;
    public static final int NODE_HEADER_BYTES = 16;
    public static final int ENTRY_BYTES = 16;
    public static final int NODE_MAX_BYTES = 64 << 10;
    public static final int MAX_ENTRIES_PER_NODE = (NODE_MAX_BYTES - NODE_HEADER_BYTES) / ENTRY_BYTES;

    public static final int FRESH = 1;
    public static final int FREE = 2;
    public static final int PENDING = 3;

    private static final ValueLayout.OfInt U32 = ValueLayout.JAVA_INT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final ValueLayout.OfShort U16 = ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final int TAG_SHIFT = 48;
    private static final long OFFSET_MASK = (1L << TAG_SHIFT) - 1;

    private ReturnedSpaceDescriptor() {
    }

    /** One extent handed back. */
    public record Extent(long offset, long bytes, int kind, int incarnation) {
        public Extent {
            if (kind != FRESH && kind != FREE && kind != PENDING) {
                throw new IllegalArgumentException("extent kind=" + kind);
            }
        }
    }

    public static long topOffset(long top) {
        return top & OFFSET_MASK;
    }

    /** The top word after a push or pop that puts {@code offset} on top of {@code previous}. */
    public static long nextTop(long previous, long offset) {
        long tag = (previous >>> TAG_SHIFT) + 1;
        return (tag << TAG_SHIFT) | offset;
    }

    /** Entries a node of {@code nodeBytes} holds. */
    public static int capacity(long nodeBytes) {
        return (int) Math.max(0, (Math.min(nodeBytes, NODE_MAX_BYTES) - NODE_HEADER_BYTES) / ENTRY_BYTES);
    }

    /** The bytes of a node holding {@code entries}, {@code own} being the node's own extent. */
    public static byte[] encode(long next, Extent own, List<Extent> entries) {
        byte[] bytes = new byte[NODE_HEADER_BYTES + entries.size() * ENTRY_BYTES];
        MemorySegment node = MemorySegment.ofArray(bytes);
        WordOrder.putLong(node, NEXT_OFFSET, next);
        node.set(U32,
                OWN_BYTES_OFFSET, (int) own.bytes());
        node.set(U16,
                ENTRIES_OFFSET, (short) entries.size());
        bytes[OWN_KIND_OFFSET] = (byte) own.kind();
        bytes[OWN_INCARNATION_OFFSET] = (byte) own.incarnation();
        int at = NODE_HEADER_BYTES;
        for (Extent extent : entries) {
            WordOrder.putLong(node, at, extent.offset());
            node.set(U32,
                    at + 8, (int) extent.bytes());
            bytes[at + 12] = (byte) extent.kind();
            bytes[at + 13] = (byte) extent.incarnation();
            at += ENTRY_BYTES;
        }
        return bytes;
    }

    /** A node as read: its next, its own extent (at {@code nodeOffset}) and its entries. */
    public record Node(long next, Extent own, List<Extent> entries) {
    }

    /**
     * Decodes the node READ at {@code nodeOffset}.
     *
     * @throws IllegalStateException naming the field if the bytes are not a node (the caller reports corruption)
     */
    public static Node decode(MemorySegment read, long nodeOffset) {
        if (read.byteSize() < NODE_HEADER_BYTES) {
            throw new IllegalStateException("node at offset=" + nodeOffset + " read bytes=" + read.byteSize());
        }
        long next = WordOrder.getLong(read, NEXT_OFFSET);
        long ownBytes = Integer.toUnsignedLong(read.get(U32, OWN_BYTES_OFFSET));
        int entries = Short.toUnsignedInt(read.get(U16, ENTRIES_OFFSET));
        int ownKind = Byte.toUnsignedInt(read.get(ValueLayout.JAVA_BYTE, OWN_KIND_OFFSET));
        int ownIncarnation = Byte.toUnsignedInt(read.get(ValueLayout.JAVA_BYTE, OWN_INCARNATION_OFFSET));
        if (ownKind != FRESH && ownKind != FREE) {
            throw new IllegalStateException("node at offset=" + nodeOffset + " own kind=" + ownKind);
        }
        if (entries > capacity(ownBytes) || NODE_HEADER_BYTES + (long) entries * ENTRY_BYTES > read.byteSize()) {
            throw new IllegalStateException("node at offset=" + nodeOffset + " entries=" + entries + " own bytes=" + ownBytes);
        }
        List<Extent> list = new ArrayList<>(entries);
        for (int i = 0; i < entries; i++) {
            long at = NODE_HEADER_BYTES + (long) i * ENTRY_BYTES;
            long offset = WordOrder.getLong(read, at);
            long bytes = Integer.toUnsignedLong(read.get(U32, at + 8));
            int kind = Byte.toUnsignedInt(read.get(ValueLayout.JAVA_BYTE, at + 12));
            int incarnation = Byte.toUnsignedInt(read.get(ValueLayout.JAVA_BYTE, at + 13));
            if (kind != FRESH && kind != FREE && kind != PENDING) {
                throw new IllegalStateException("node at offset=" + nodeOffset + " entry " + i + " kind=" + kind);
            }
            list.add(new Extent(offset, bytes, kind, incarnation));
        }
        return new Node(next, new Extent(nodeOffset, ownBytes, ownKind, ownIncarnation), list);
    }
}
