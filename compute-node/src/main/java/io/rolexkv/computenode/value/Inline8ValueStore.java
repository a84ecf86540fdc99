package io.rolexkv.computenode.value;

import io.rolexkv.common.fabric.DoorbellBatch;

import java.lang.foreign.MemorySegment;

/** {@link ValueFormat#INLINE8}: every value is 8 bytes and is its own word. Nothing out of place, nothing to reclaim. */
public final class Inline8ValueStore implements ValueStore {
    @Override
    public ValueFormat format() {
        return ValueFormat.INLINE8;
    }

    @Override
    public int maxValueBytes() {
        return Long.BYTES;
    }

    @Override
    public void check(byte[] value) {
        if (value == null) {
            throw new IllegalArgumentException("value is null; " + ValueFormat.PROP_NAME + "=" + ValueFormat.INLINE8.configName()
                    + " stores exactly 8 bytes");
        }
        if (value.length != Long.BYTES) {
            throw new IllegalArgumentException("value bytes=" + value.length + " but " + ValueFormat.PROP_NAME + "="
                    + ValueFormat.INLINE8.configName() + " stores exactly 8");
        }
    }

    @Override
    public PreparedValue prepare(long key, byte[] value) {
        return PreparedValue.inline(ValueWord.ofInline8(value));
    }

    @Override
    public boolean needsRead(long word) {
        return false;
    }

    @Override
    public byte[] inlineValue(long word) {
        return ValueWord.inline8Bytes(word);
    }

    @Override
    public int appendRead(DoorbellBatch batch, long word) {
        throw new IllegalStateException(ValueFormat.INLINE8.configName() + " words name no block");
    }

    @Override
    public int readBytes(long word) {
        return 0;
    }

    @Override
    public MemorySegment valueOrNull(MemorySegment read, long key, long word) {
        throw new IllegalStateException(ValueFormat.INLINE8.configName() + " words name no block");
    }

    @Override
    public void retire(long word) {
        // The value lived in the word; nothing else to free.
    }

    @Override
    public ValueAllocator allocator() {
        return null;
    }
}
