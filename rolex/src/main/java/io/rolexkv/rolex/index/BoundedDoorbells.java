package io.rolexkv.rolex.index;

import io.rolexkv.common.fabric.BatchResult;
import io.rolexkv.common.fabric.CorruptDataException;
import io.rolexkv.common.fabric.DoorbellBatch;
import io.rolexkv.common.fabric.FabricConnection;
import io.rolexkv.common.fabric.FabricLimits;
import io.rolexkv.common.fabric.GlobalAddress;

import java.util.ArrayList;
import java.util.List;

/**
 * Bulk READs and WRITEs cut into doorbells that each stay within a memory node's {@link FabricLimits} (verbs and bytes
 * per batch), for the retrainer, whose work on a large model is thousands of verbs. A WRITE larger than a batch may
 * carry is cut into 8-byte aligned pieces. Not thread-safe.
 */
final class BoundedDoorbells {
    private final FabricConnection connection;
    private final int maxVerbs;
    private final long maxBytes;

    BoundedDoorbells(FabricConnection connection, FabricLimits limits) {
        this.connection = connection;
        this.maxVerbs = limits.maxVerbsPerBatch();
        this.maxBytes = limits.maxBytesPerBatch() / 8 * 8;
    }

    /** Most verbs one doorbell may hold. */
    int maxVerbs() {
        return maxVerbs;
    }

    /** Most bytes one doorbell may READ plus WRITE, rounded down to whole words. */
    long maxBytes() {
        return maxBytes;
    }

    /** READs {@code length} bytes at each of {@code addresses}, in as few doorbells as the limits allow. */
    byte[][] readAll(long[] addresses, int length) {
        if (length > maxBytes) {
            throw new IllegalArgumentException("READ length=" + length + " exceeds max_bytes_per_batch=" + maxBytes);
        }
        byte[][] out = new byte[addresses.length][];
        int start = 0;
        while (start < addresses.length) {
            DoorbellBatch batch = new DoorbellBatch();
            int end = start;
            while (end < addresses.length && batch.size() < maxVerbs && batch.bytesToRead() + length <= maxBytes) {
                batch.read(addresses[end++], length);
            }
            BatchResult result = connection.execute(batch);
            for (int i = start; i < end; i++) {
                out[i] = result.readBytes(i - start);
            }
            start = end;
        }
        return out;
    }

    /** Reads of a leaf that keeps failing its checksum before the reader calls it corrupt (about 90 ms with back-off). */
    static final int MAX_LEAF_READS = 100;

    /**
     * The leaves at {@code addresses} (of {@code layout}'s geometry), each read again while it fails its checksum: a
     * writer's doorbell still landing, or on a loaded machine a serving thread preempted mid-doorbell, so after a few
     * immediate re-reads it backs off rather than call the leaf corrupt at once.
     *
     * @throws CorruptDataException if a leaf still fails after {@link #MAX_LEAF_READS} reads
     */
    io.rolexkv.rolex.leaf.Leaf[] readLeaves(long[] addresses, IndexLayout layout) {
        io.rolexkv.rolex.leaf.Leaf[] leaves = new io.rolexkv.rolex.leaf.Leaf[addresses.length];
        for (int attempt = 0; ; attempt++) {
            List<Integer> missing = new ArrayList<>();
            for (int i = 0; i < leaves.length; i++) {
                if (leaves[i] == null) {
                    missing.add(i);
                }
            }
            if (missing.isEmpty()) {
                return leaves;
            }
            if (attempt == MAX_LEAF_READS) {
                throw new CorruptDataException("leaf at address=" + addresses[missing.getFirst()]
                        + " fails its checksum after " + MAX_LEAF_READS + " reads over about 90 ms: corrupt leaf");
            }
            if (attempt > 8) {
                java.util.concurrent.locks.LockSupport.parkNanos(Math.min(1_000_000L, 1_000L << Math.min(10, attempt - 8)));
            }
            long[] wanted = new long[missing.size()];
            for (int i = 0; i < wanted.length; i++) {
                wanted[i] = addresses[missing.get(i)];
            }
            byte[][] bytes = readAll(wanted, layout.leafBytes());
            for (int i = 0; i < wanted.length; i++) {
                leaves[missing.get(i)] = io.rolexkv.rolex.leaf.Leaf.decodeOrNull(
                        java.lang.foreign.MemorySegment.ofArray(bytes[i]), layout.leafCapacity());
            }
        }
    }

    /** READs {@code length} bytes from {@code address} into one array, in pieces as the limits require. */
    byte[] readRange(long address, int length) {
        byte[] out = new byte[length];
        int piece = (int) Math.min(maxBytes, Integer.MAX_VALUE - 8);
        for (int offset = 0; offset < length; offset += piece) {
            int size = Math.min(piece, length - offset);
            DoorbellBatch batch = new DoorbellBatch();
            int verb = batch.read(GlobalAddress.plus(address, offset), size);
            System.arraycopy(connection.execute(batch).readBytes(verb), 0, out, offset, size);
        }
        return out;
    }

    /** A WRITE accumulator: {@link Writer#flush} posts what is left; a full doorbell is posted as it fills. */
    Writer writer() {
        return new Writer();
    }

    final class Writer {
        private DoorbellBatch batch = new DoorbellBatch();

        void write(long address, byte[] data) {
            for (int offset = 0; offset < data.length; ) {
                if (batch.size() >= maxVerbs || batch.bytesToWrite() >= maxBytes) {
                    flush();
                }
                int room = (int) Math.min(data.length - offset, maxBytes - batch.bytesToWrite());
                if (room < data.length - offset) {
                    room = room / 8 * 8; // keep every piece but the last word aligned
                    if (room == 0) {
                        flush();
                        continue;
                    }
                }
                batch.write(GlobalAddress.plus(address, offset), data, offset, room);
                offset += room;
            }
        }

        void writeLong(long address, long value) {
            if (batch.size() >= maxVerbs || batch.bytesToWrite() + Long.BYTES > maxBytes) {
                flush();
            }
            batch.writeLong(address, value);
        }

        /** A CAS whose outcome the caller does not need (it checks the words afterwards if it must). */
        void compareAndSwap(long address, long expected, long desired) {
            if (batch.size() >= maxVerbs) {
                flush();
            }
            batch.compareAndSwap(address, expected, desired);
        }

        void flush() {
            if (!batch.isEmpty()) {
                connection.execute(batch);
                batch = new DoorbellBatch();
            }
        }
    }
}
