package io.rolexkv.rolex.index;

import io.rolexkv.common.fabric.BatchResult;
import io.rolexkv.common.fabric.DoorbellBatch;
import io.rolexkv.common.fabric.FabricConnection;
import io.rolexkv.common.fabric.FabricLimits;
import io.rolexkv.common.fabric.GlobalAddress;

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
