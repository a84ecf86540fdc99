package io.rolexkv.computenode.value;

import io.rolexkv.common.fabric.DoorbellBatch;

import java.lang.foreign.MemorySegment;

/**
 * The value half of the engine on one memory node (RecStore's composite engine keeps the index and the value store as
 * separate parts; so does this one): turns values into leaf words and back, and owns the value blocks they name.
 */
public sealed interface ValueStore permits Inline8ValueStore, BlockValueStore {

    ValueFormat format();

    int maxValueBytes();

    /** @throws IllegalArgumentException if this store cannot hold {@code value} (null, too long, wrong length) */
    void check(byte[] value);

    /** The word for {@code value} under {@code key}, allocating and encoding its block if it needs one. */
    PreparedValue prepare(long key, byte[] value);

    /** Whether {@code word} names a block that must be read. */
    boolean needsRead(long word);

    /** The value a word holds itself. */
    byte[] inlineValue(long word);

    /** Appends the READ of the block {@code word} names; returns its verb index. */
    int appendRead(DoorbellBatch batch, long word);

    /** Bytes {@link #appendRead} reads. */
    int readBytes(long word);

    /** The value in {@code read} if it is the block {@code word} named for {@code key}, or {@code null} if stale. */
    MemorySegment valueOrNull(MemorySegment read, long key, long word);

    /** {@code word} was unlinked from its leaf by a write of this engine: its block, if any, is reclaimed. */
    void retire(long word);

    /** The block allocator, or {@code null} for a format without blocks. */
    ValueAllocator allocator();
}
