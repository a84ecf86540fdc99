package io.rolexkv.computenode.value;

import io.rolexkv.common.fabric.DoorbellBatch;
import io.rolexkv.common.fabric.FabricConnection;
import io.rolexkv.common.kv.KeyValueChecks;

import java.lang.foreign.MemorySegment;

/**
 * {@link ValueFormat#BLOCKS}: values up to {@value ValueWord#MAX_INLINE_BYTES} bytes inline in the word, longer ones in
 * value blocks of this memory node's values region, allocated and reclaimed by a {@link ValueAllocator}.
 */
public final class BlockValueStore implements ValueStore {
    private final int maxValueBytes;
    private final ValueAllocator allocator;
    private final FabricConnection connection;

    /** Allocates blocks with {@code allocator}, claiming chunks on {@code connection} when it must. */
    public BlockValueStore(int maxValueBytes, ValueAllocator allocator, FabricConnection connection) {
        this.maxValueBytes = maxValueBytes;
        this.allocator = allocator;
        this.connection = connection;
    }

    @Override
    public ValueFormat format() {
        return ValueFormat.BLOCKS;
    }

    @Override
    public int maxValueBytes() {
        return maxValueBytes;
    }

    @Override
    public void check(byte[] value) {
        KeyValueChecks.checkValue(value, maxValueBytes);
    }

    @Override
    public PreparedValue prepare(long key, byte[] value) {
        if (value.length <= ValueWord.MAX_INLINE_BYTES) {
            return PreparedValue.inline(ValueWord.ofInline(value));
        }
        ValueAllocator.Allocation allocation = allocator.allocate(value.length, connection);
        byte[] block = ValueBlockDescriptor.encode(key, ValueWord.incarnation(allocation.handle()), value);
        return PreparedValue.inBlock(allocation, block, allocator);
    }

    @Override
    public boolean needsRead(long word) {
        return !ValueWord.isInline(word);
    }

    @Override
    public byte[] inlineValue(long word) {
        return ValueWord.inlineBytes(word);
    }

    @Override
    public int appendRead(DoorbellBatch batch, long word) {
        return batch.read(allocator.address(ValueWord.blockOffset(word)), ValueBlockDescriptor.readBytes(word));
    }

    @Override
    public int readBytes(long word) {
        return ValueBlockDescriptor.readBytes(word);
    }

    @Override
    public MemorySegment valueOrNull(MemorySegment read, long key, long word) {
        return ValueBlockDescriptor.valueOrNull(read, key, word);
    }

    @Override
    public void retire(long word) {
        if (!ValueWord.isInline(word)) {
            allocator.retire(word);
        }
    }

    @Override
    public ValueAllocator allocator() {
        return allocator;
    }
}
