package io.rolexkv.computenode.value;

import io.rolexkv.common.fabric.WordOrder;

import java.lang.foreign.MemorySegment;
import java.util.zip.CRC32C;

/**
 * A value block: one value stored out of place in the values region, named by a handle word in the key's leaf
 * ({@link ValueWord}). Written once, whole, before any leaf names it; never written again until the allocator
 * reclaims and reuses its memory.
 *
 * <pre>
 *   0                               8                       11          12              16
 *  +-------------------------------+-----------------------+-----------+---------------+
 *  | key                           | length                | incarnat. | checksum      |
 *  |  u64 (the key that owns it)   |  u24 (value bytes)    |  u8       |  u32 CRC32C   |
 *  +-------------------------------+-----------------------+-----------+---------------+
 *  16: value bytes [0, length)
 *  the block occupies its size class ({@link SizeClasses}), a multiple of 16 bytes; only 16 + length are written
 * </pre>
 *
 * <ul>
 *   <li>{@code key}, {@code length}, {@code incarnation}: must equal the key the reader looked up and the length and
 *       incarnation of the handle it followed. Any difference means the reader holds a stale handle to memory that was
 *       reclaimed and reused, for another key or for a later value of the same key.</li>
 *   <li>{@code checksum}: CRC32C of bytes {@code [0, 12)} followed by the value. A READ that overlapped the WRITE of a
 *       reused block (a torn read; the fabric makes only aligned 8-byte words atomic) or memory never written fails
 *       it.</li>
 * </ul>
 * A block that fails any check is never returned: the reader starts over from the leaf.
 */
public final class ValueBlockDescriptor {
    public static final int KEY_OFFSET = 0;
    public static final int LENGTH_AND_INCARNATION_OFFSET = 8;
    public static final int CHECKSUM_OFFSET = 12;
    public static final int HEADER_BYTES = 16;
    public static final int VALUE_OFFSET = HEADER_BYTES;

    private static final int LENGTH_MASK = (1 << 24) - 1;
    private static final int INCARNATION_SHIFT = 24;

    private ValueBlockDescriptor() {
    }

    /** Bytes a reader READs for the block a handle names: the header and the value, nothing of the padding. */
    public static int readBytes(long handle) {
        return HEADER_BYTES + ValueWord.length(handle);
    }

    /** Bytes a block for a value of {@code length} bytes needs before rounding to its size class. */
    public static int blockBytes(int length) {
        return (HEADER_BYTES + length + ValueWord.BLOCK_ALIGNMENT - 1) / ValueWord.BLOCK_ALIGNMENT * ValueWord.BLOCK_ALIGNMENT;
    }

    /** The bytes to WRITE at the block's offset: header then value. */
    public static byte[] encode(long key, int incarnation, byte[] value) {
        byte[] block = new byte[HEADER_BYTES + value.length];
        WordOrder.putLong(block, KEY_OFFSET, key);
        MemorySegment segment = MemorySegment.ofArray(block);
        segment.set(WordOrder.INT_UNALIGNED, LENGTH_AND_INCARNATION_OFFSET, value.length | (incarnation << INCARNATION_SHIFT));
        System.arraycopy(value, 0, block, VALUE_OFFSET, value.length);
        segment.set(WordOrder.INT_UNALIGNED, CHECKSUM_OFFSET, checksum(segment, value.length));
        return block;
    }

    /**
     * The value inside {@code read} (the bytes a READ of {@link #readBytes(long)} returned) as a slice of it, or
     * {@code null} if the block is not the one {@code handle} named for {@code key}: reclaimed and reused, or torn.
     */
    public static MemorySegment valueOrNull(MemorySegment read, long key, long handle) {
        int length = ValueWord.length(handle);
        if (read.byteSize() != HEADER_BYTES + (long) length) {
            return null;
        }
        int lengthAndIncarnation = read.get(WordOrder.INT_UNALIGNED, LENGTH_AND_INCARNATION_OFFSET);
        if (WordOrder.getLong(read, KEY_OFFSET) != key
                || (lengthAndIncarnation & LENGTH_MASK) != length
                || (lengthAndIncarnation >>> INCARNATION_SHIFT) != ValueWord.incarnation(handle)
                || read.get(WordOrder.INT_UNALIGNED, CHECKSUM_OFFSET) != checksum(read, length)) {
            return null;
        }
        return read.asSlice(VALUE_OFFSET, length);
    }

    private static int checksum(MemorySegment block, int length) {
        CRC32C crc = new CRC32C();
        crc.update(block.asSlice(0, CHECKSUM_OFFSET).asByteBuffer());
        crc.update(block.asSlice(VALUE_OFFSET, length).asByteBuffer());
        return (int) crc.getValue();
    }
}
