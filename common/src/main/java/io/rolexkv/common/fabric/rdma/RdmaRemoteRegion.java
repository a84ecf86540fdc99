package io.rolexkv.common.fabric.rdma;

import io.rolexkv.common.fabric.RegionInfo;

import java.util.Arrays;

/**
 * What a client needs to aim one-sided verbs at one region of a memory node: the region's virtual base address on
 * that node and the rkeys that grant access to it.
 *
 * <p>The memory node registers a region as consecutive chunks of {@code 1 << chunkShift} bytes (the last one may be
 * shorter), each its own memory registration with its own rkey, because DiSNI's registration takes an {@code int}
 * length and regions may exceed 2 GiB. The chunks cover the region's one contiguous mapping, so the remote address of
 * any offset is simply {@code baseAddress + offset}; only the rkey depends on which chunk the byte falls in, and a
 * READ or WRITE that crosses a chunk boundary is posted as one work request per chunk. Chunks are at least a page, so
 * an aligned 8-byte word never straddles two.
 */
public final class RdmaRemoteRegion {
    private final RegionInfo info;
    private final long baseAddress;
    private final int chunkShift;
    private final int[] rkeys;

    /**
     * @param info        id, name and length, as {@link io.rolexkv.common.fabric.FabricConnection#regions()} shows them
     * @param baseAddress the virtual address of the region's first byte on the memory node
     * @param chunkShift  log2 of the registration chunk size
     * @param rkeys       one rkey per chunk, {@link #chunkCount(long, int)} of them
     */
    public RdmaRemoteRegion(RegionInfo info, long baseAddress, int chunkShift, int[] rkeys) {
        if (chunkShift < RdmaSettings.REGISTRATION_CHUNK_SHIFT_MIN || chunkShift > RdmaSettings.REGISTRATION_CHUNK_SHIFT_MAX) {
            throw new IllegalArgumentException("region " + info.name() + " chunk_shift=" + chunkShift + " allowed=["
                    + RdmaSettings.REGISTRATION_CHUNK_SHIFT_MIN + "," + RdmaSettings.REGISTRATION_CHUNK_SHIFT_MAX + "]");
        }
        int expected = chunkCount(info.length(), chunkShift);
        if (rkeys.length != expected) {
            throw new IllegalArgumentException("region " + info.name() + " length=" + info.length() + " chunk_shift="
                    + chunkShift + " needs chunks=" + expected + " but has rkeys=" + rkeys.length);
        }
        this.info = info;
        this.baseAddress = baseAddress;
        this.chunkShift = chunkShift;
        this.rkeys = rkeys.clone();
    }

    /** Chunks a region of {@code length} bytes registers as. */
    public static int chunkCount(long length, int chunkShift) {
        long count = length == 0 ? 0 : ((length - 1) >>> chunkShift) + 1;
        if (count > Integer.MAX_VALUE) {
            throw new IllegalArgumentException("length=" + length + " chunk_shift=" + chunkShift + " gives too many chunks");
        }
        return (int) count;
    }

    public RegionInfo info() {
        return info;
    }

    public long baseAddress() {
        return baseAddress;
    }

    public int chunkShift() {
        return chunkShift;
    }

    public int chunkCount() {
        return rkeys.length;
    }

    /** The rkey of chunk {@code chunk}. */
    public int rkey(int chunk) {
        return rkeys[chunk];
    }

    /** The chunk holding the byte at {@code offset}. */
    public int chunkOf(long offset) {
        return (int) (offset >>> chunkShift);
    }

    /** The offset one past the last byte of chunk {@code chunk}. */
    public long chunkEnd(int chunk) {
        return Math.min(((long) chunk + 1) << chunkShift, info.length());
    }

    /** The memory node's virtual address of the byte at {@code offset}. */
    public long remoteAddress(long offset) {
        return baseAddress + offset;
    }

    @Override
    public String toString() {
        return "RdmaRemoteRegion[id=" + info.id() + " name=" + info.name() + " length=" + info.length()
                + " base=0x" + Long.toHexString(baseAddress) + " chunkShift=" + chunkShift
                + " rkeys=" + Arrays.toString(rkeys) + "]";
    }
}
