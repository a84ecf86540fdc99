package io.rolexkv.bench.baseline.btree;

/**
 * Where every byte of a B+tree node lives. Leaves and internal nodes share one layout and one size ({@code nodeBytes},
 * 1 KB by default, as in Sherman): a header, then {@code capacity} entries of three words.
 *
 * <pre>
 *   0          8           16          24          32                          40             48
 *  +----------+-----------+-----------+-----------+-------------+-------------+--------------+
 *  | lock     | lowFence  | highFence | sibling   | level       | reserved    | headerCheck  |
 *  | u64 (CAS)|  u64      |  u64      |  u64      |  u16        |  0 (48 bits)|  u64         |
 *  +----------+-----------+-----------+-----------+-------------+-------------+--------------+
 *  48 + 24*i: entry i, for 0 <= i < capacity = (nodeBytes - 48) / 24
 *  +-----------+-----------+--------------+
 *  | key u64   | value u64 | entryCheck   |
 *  +-----------+-----------+--------------+
 *
 *  check word (headerCheck and every entryCheck):
 *   63   62                         32 31                               0
 *  +----+-----------------------------+---------------------------------+
 *  |used|      version (31 bits)      |          hash (32 bits)         |
 *  +----+-----------------------------+---------------------------------+
 * </pre>
 *
 * <ul>
 *   <li>{@code lock}: 0 when free, else the lock owner's id; taken by CAS, released by an 8-byte WRITE of 0 placed
 *       after the writes it guards. No check word covers it: it changes on its own.</li>
 *   <li>{@code lowFence}, {@code highFence}: the inclusive unsigned key range the node owns. The low fence never
 *       changes (nodes never merge); a split lowers the high fence and hands the rest of the range to a new right
 *       sibling. The nodes of one level, in sibling order, partition the key space.</li>
 *   <li>{@code sibling}: the node number of the right neighbour on the same level, 0 for the rightmost node. A reader
 *       that lands on a node whose range no longer holds its key (a split it did not know about) moves right.</li>
 *   <li>{@code level}: 0 for a leaf; an internal node's children are one level down.</li>
 *   <li>Leaf entries are unsorted, as in Sherman, so an insert, update or delete writes one 24-byte entry in place;
 *       {@code value} is the 8-byte word stored under {@code key}. Internal entries are sorted and form a prefix of
 *       the slots: entry i maps keys in {@code [key_i, key_{i+1})} to child node {@code value_i}, and entry 0's key is
 *       the node's low fence.</li>
 * </ul>
 *
 * <h2>Torn reads: versions with a checksum</h2>
 * Sherman detects a READ that overlapped a WRITE with front and rear versions (per node and per entry). That relies on
 * the NIC placing a WRITE's bytes in ascending address order, which RDMA does not promise and this project's fabric
 * contract does not give: only an aligned 8-byte word is atomic, and the fault-injecting transport applies the pieces
 * of a WRITE in shuffled order, so a read can see both ends of a node new and its middle old. Here every unit (the
 * header, each entry) ends in a check word that holds the unit's version and a 32-bit hash of the unit's other words,
 * its version, its node number and slot; a unit is intact only if its hash matches. A node read is consistent when
 * every unit is intact and all carry the header's version:
 * <ul>
 *   <li>an in-place entry write keeps the node's version, so a reader sees that entry either old or new (a mix fails
 *       its hash), and every other entry untouched;</li>
 *   <li>a whole-node rewrite (a split, or any change to an internal node) bumps the version in every unit, so a read
 *       that mixes the old and the new node finds two versions and reads again.</li>
 * </ul>
 * A node never written (all zero) fails at once: its header's {@code used} bit is clear. The price of the hash over
 * a CRC of the whole node is the same on the read path (both touch every word) and much lower on the write path: an
 * entry write stays 24 bytes and the writer never recomputes anything over the whole node. A torn unit passes by
 * chance with probability 2^-32.
 */
public final class BTreeNodeDescriptor {
    public static final int LOCK_OFFSET = 0;
    public static final int LOW_FENCE_OFFSET = 8;
    public static final int HIGH_FENCE_OFFSET = 16;
    public static final int SIBLING_OFFSET = 24;
    public static final int LEVEL_OFFSET = 32;
    public static final int HEADER_CHECK_OFFSET = 40;
    public static final int HEADER_BYTES = 48;
    /** Everything after the lock word: what a whole-node rewrite writes before it writes the lock free. */
    public static final int BODY_OFFSET = LOW_FENCE_OFFSET;

    public static final int ENTRY_BYTES = 24;
    public static final int ENTRY_KEY_OFFSET = 0;
    public static final int ENTRY_VALUE_OFFSET = 8;
    public static final int ENTRY_CHECK_OFFSET = 16;

    public static final long CHECK_USED_BIT = 1L << 63;
    public static final int CHECK_VERSION_SHIFT = 32;
    public static final int VERSION_MASK = 0x7FFF_FFFF;
    public static final long CHECK_HASH_MASK = 0xFFFF_FFFFL;

    /** Fewer entries than this and a split could leave a node with nothing to route by. */
    public static final int MIN_CAPACITY = 4;
    public static final int MIN_NODE_BYTES = HEADER_BYTES + MIN_CAPACITY * ENTRY_BYTES;
    public static final int MAX_NODE_BYTES = 64 * 1024;

    /** Slot number mixed into the header's hash, so a header can never pass for an entry or the other way round. */
    static final long HEADER_SLOT = -1;
    private static final long HASH_SEED = 0x5348_4552_4D41_4E31L;

    private BTreeNodeDescriptor() {
    }

    /** Entries a node of {@code nodeBytes} holds. */
    public static int capacity(int nodeBytes) {
        checkNodeBytes(nodeBytes);
        return (nodeBytes - HEADER_BYTES) / ENTRY_BYTES;
    }

    public static int entryOffset(int slot) {
        return HEADER_BYTES + ENTRY_BYTES * slot;
    }

    public static void checkNodeBytes(int nodeBytes) {
        if (nodeBytes < MIN_NODE_BYTES || nodeBytes > MAX_NODE_BYTES || nodeBytes % Long.BYTES != 0) {
            throw new IllegalArgumentException(BTreeOptions.NODE_BYTES_PROP_NAME + "=" + nodeBytes + " allowed=["
                    + MIN_NODE_BYTES + "," + MAX_NODE_BYTES + "], a multiple of 8");
        }
    }

    /** A check word: the used bit, the version, and the hash of the unit's words {@code a, b, c, d}. */
    static long checkWord(boolean used, int version, long node, long slot, long a, long b, long c, long d) {
        long meta = (used ? CHECK_USED_BIT : 0) | ((long) (version & VERSION_MASK) << CHECK_VERSION_SHIFT);
        return meta | hash(meta, node, slot, a, b, c, d);
    }

    /** Whether {@code check} is the check word of a unit holding {@code a, b, c, d} at that node and slot. */
    static boolean checks(long check, long node, long slot, long a, long b, long c, long d) {
        long meta = check & ~CHECK_HASH_MASK;
        return (check & CHECK_HASH_MASK) == hash(meta, node, slot, a, b, c, d);
    }

    static boolean used(long check) {
        return (check & CHECK_USED_BIT) != 0;
    }

    static int version(long check) {
        return (int) (check >>> CHECK_VERSION_SHIFT) & VERSION_MASK;
    }

    private static long hash(long meta, long node, long slot, long a, long b, long c, long d) {
        long h = HASH_SEED;
        h = mix(h ^ meta);
        h = mix(h ^ node);
        h = mix(h ^ slot);
        h = mix(h ^ a);
        h = mix(h ^ b);
        h = mix(h ^ c);
        h = mix(h ^ d);
        return (h ^ (h >>> 32)) & CHECK_HASH_MASK;
    }

    /** A 64-bit finalizer (the murmur3 one): every input bit flips about half the output bits. */
    private static long mix(long x) {
        x ^= x >>> 33;
        x *= 0xFF51_AFD7_ED55_8CCDL;
        x ^= x >>> 33;
        x *= 0xC4CE_B9FE_1A85_EC53L;
        x ^= x >>> 33;
        return x;
    }
}
