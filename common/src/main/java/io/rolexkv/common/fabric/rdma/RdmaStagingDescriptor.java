package io.rolexkv.common.fabric.rdma;

import io.rolexkv.common.fabric.DoorbellBatch;
import io.rolexkv.common.fabric.VerbKind;

/**
 * Where each verb of a doorbell batch keeps its local bytes in the client's registered staging buffer. The NIC
 * only moves data between registered memory, so a READ lands in staging before the client copies it out, a WRITE's
 * payload is copied into staging before the post, and a CAS/FAA returns the old word into an 8-byte slot.
 *
 * <pre>
 *   One area per verb, in verb order, each starting 8-aligned (areaOffsets[i]):
 *
 *   0                         a1                          a2          a3          a4 = stagingBytes
 *   +-------------------------+---------------------------+-----------+-----------+
 *   | verb 0: READ            | verb 1: WRITE             | verb 2:   | verb 3:   |
 *   | length bytes, the NIC   | length bytes copied from  | CAS old   | FAA old   |
 *   | writes them   (pad to 8)| the payload, the NIC reads| value (8) | value (8) |
 *   +-------------------------+---------------------------+-----------+-----------+
 * </pre>
 *
 * A zero-length READ or WRITE has an empty area. Alignment keeps every atomic result slot on an 8-byte boundary
 * (some NICs require it for the atomic response) and every copy word-aligned.
 */
public final class RdmaStagingDescriptor {
    /** Every area starts at a multiple of this. */
    public static final int ALIGNMENT = 8;
    /** Bytes an atomic verb's old value takes. */
    public static final int ATOMIC_RESULT_LENGTH = Long.BYTES;

    private RdmaStagingDescriptor() {
    }

    /** Bytes the area of a verb of {@code kind} moving {@code length} bytes takes, padding included. */
    public static long areaLength(VerbKind kind, int length) {
        long raw = kind.isAtomic() ? ATOMIC_RESULT_LENGTH : length;
        return (raw + ALIGNMENT - 1) & -ALIGNMENT;
    }

    /**
     * The start of each verb's area: {@code batch.size() + 1} entries, the last one the total staging bytes the
     * batch needs.
     *
     * @throws IllegalArgumentException if the batch needs more than {@link Integer#MAX_VALUE} staging bytes
     */
    public static int[] areaOffsets(DoorbellBatch batch) {
        int size = batch.size();
        int[] offsets = new int[size + 1];
        long position = 0;
        for (int i = 0; i < size; i++) {
            offsets[i] = (int) position;
            position += areaLength(batch.kind(i), batch.length(i));
            if (position > Integer.MAX_VALUE) {
                throw new IllegalArgumentException("staging_bytes=" + position + " exceeds " + Integer.MAX_VALUE
                        + " at " + batch.describe(i));
            }
        }
        offsets[size] = (int) position;
        return offsets;
    }
}
