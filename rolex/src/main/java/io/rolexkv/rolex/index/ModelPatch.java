package io.rolexkv.rolex.index;

import io.rolexkv.common.fabric.WordOrder;

import java.lang.foreign.MemorySegment;
import java.util.ArrayList;
import java.util.List;
import java.util.zip.CRC32C;

/**
 * What one publication of the lean retrainer changed in the model set: runs of consecutive models replaced by new
 * ones, so that a compute node a few epochs behind applies the changes instead of reading the whole set (thousands of
 * records) after every compaction. Stored in the models region beside the full set, found through the meta region's
 * patch directory ({@link io.rolexkv.rolex.layout.IndexMetaDescriptor#PATCH_DIRECTORY_OFFSET}).
 *
 * <pre>
 *   0        4        8             16              20         24
 *  +--------+--------+-------------+---------------+----------+---------------------------+---------------------+
 *  | magic  | runs   | epoch       | runs checksum | reserved | runs x (first, removed,   | model set of every  |
 *  |  u32   |  u32   |  u64        |  u32 CRC32C   |  u32     |  added), u32 each         | added record        |
 *  +--------+--------+-------------+---------------+----------+---------------------------+---------------------+
 * </pre>
 * {@code first} counts in the model set before the patch; runs are in ascending order and do not overlap. The added
 * records are a model set of their own ({@link IndexLoader#encodeModelSet}), with its checksum and the same epoch.
 */
record ModelPatch(long epoch, int[] firsts, int[] removed, int[] added, List<LeanModel> records) {
    static final int MAGIC = 0x5441_504C; // "LPAT" little-endian
    private static final int HEADER_BYTES = 24;
    private static final int RUN_BYTES = 12;

    byte[] encode() {
        byte[] set = IndexLoader.encodeModelSet(records, epoch);
        int runs = firsts.length;
        byte[] data = new byte[HEADER_BYTES + RUN_BYTES * runs + set.length];
        MemorySegment patch = MemorySegment.ofArray(data);
        patch.set(WordOrder.INT_UNALIGNED, 0, MAGIC);
        patch.set(WordOrder.INT_UNALIGNED, 4, runs);
        WordOrder.putLong(patch, 8, epoch);
        for (int r = 0; r < runs; r++) {
            patch.set(WordOrder.INT_UNALIGNED, HEADER_BYTES + RUN_BYTES * r, firsts[r]);
            patch.set(WordOrder.INT_UNALIGNED, HEADER_BYTES + RUN_BYTES * r + 4, removed[r]);
            patch.set(WordOrder.INT_UNALIGNED, HEADER_BYTES + RUN_BYTES * r + 8, added[r]);
        }
        CRC32C crc = new CRC32C();
        crc.update(data, HEADER_BYTES, RUN_BYTES * runs);
        patch.set(WordOrder.INT_UNALIGNED, 16, (int) crc.getValue());
        System.arraycopy(set, 0, data, HEADER_BYTES + RUN_BYTES * runs, set.length);
        return data;
    }

    /** The patch of {@code expectedEpoch} as read, or null if it is not (overwritten, torn or another epoch's). */
    static ModelPatch decode(MemorySegment patch, long expectedEpoch) {
        if (patch.byteSize() < HEADER_BYTES || patch.get(WordOrder.INT_UNALIGNED, 0) != MAGIC
                || WordOrder.getLong(patch, 8) != expectedEpoch) {
            return null;
        }
        int runs = patch.get(WordOrder.INT_UNALIGNED, 4);
        if (runs < 1 || HEADER_BYTES + (long) RUN_BYTES * runs > patch.byteSize()) {
            return null;
        }
        CRC32C crc = new CRC32C();
        crc.update(patch.asSlice(HEADER_BYTES, (long) RUN_BYTES * runs).asByteBuffer());
        if ((int) crc.getValue() != patch.get(WordOrder.INT_UNALIGNED, 16)) {
            return null;
        }
        List<LeanModel> records = IndexLoader.decodeModelSet(patch.asSlice(HEADER_BYTES + (long) RUN_BYTES * runs), expectedEpoch);
        if (records == null) {
            return null;
        }
        int[] firsts = new int[runs];
        int[] removed = new int[runs];
        int[] added = new int[runs];
        int addedTotal = 0;
        for (int r = 0; r < runs; r++) {
            firsts[r] = patch.get(WordOrder.INT_UNALIGNED, HEADER_BYTES + RUN_BYTES * r);
            removed[r] = patch.get(WordOrder.INT_UNALIGNED, HEADER_BYTES + RUN_BYTES * r + 4);
            added[r] = patch.get(WordOrder.INT_UNALIGNED, HEADER_BYTES + RUN_BYTES * r + 8);
            addedTotal += added[r];
        }
        return addedTotal == records.size() ? new ModelPatch(expectedEpoch, firsts, removed, added, records) : null;
    }

    /** The model set after this patch, from the one before it; null if the patch does not fit that set. */
    List<LeanModel> applyTo(List<LeanModel> before) {
        List<LeanModel> after = new ArrayList<>(before.size() + records.size());
        int next = 0;
        int record = 0;
        for (int r = 0; r < firsts.length; r++) {
            if (firsts[r] < next || firsts[r] + removed[r] > before.size() || removed[r] < 1) {
                return null;
            }
            after.addAll(before.subList(next, firsts[r]));
            after.addAll(records.subList(record, record + added[r]));
            record += added[r];
            next = firsts[r] + removed[r];
        }
        after.addAll(before.subList(next, before.size()));
        return after;
    }
}
