package io.rolexkv.bench.baseline.btree;

import io.rolexkv.common.fabric.FabricConnection;
import io.rolexkv.common.fabric.FabricCounters;
import io.rolexkv.common.fabric.FabricLimits;
import io.rolexkv.common.fabric.FabricServer;
import io.rolexkv.common.fabric.FabricTransport;
import io.rolexkv.common.fabric.FabricTransports;
import io.rolexkv.common.fabric.RegisteredMemory;
import io.rolexkv.common.fabric.loopback.LoopbackTransport;

import java.util.Arrays;
import java.util.Locale;
import java.util.SplittableRandom;

/**
 * The B+tree baseline's hardware-independent costs for a bulk load of N keys: tree shape, compute-node cache bytes,
 * and round trips and bytes per get, insert, update and scan, from the fabric counters of one compute node whose cache
 * was warmed at open. Runs an in-process memory node over the loopback transport (the counts do not depend on the
 * transport). {@link #measure} is what the YCSB harness calls; {@link #main} prints it.
 *
 * <pre>
 *   java ... io.rolexkv.bench.baseline.btree.BTreeCostReport [keys=1000000] [operations=20000] [node_bytes=1024]
 * </pre>
 */
public final class BTreeCostReport {

    /** Average cost of one operation of a kind. */
    public record Cost(long operations, double doorbells, double bytesRead, double bytesWritten) {
        static Cost of(long operations, FabricCounters.Snapshot total) {
            double count = Math.max(1, operations);
            return new Cost(operations, total.doorbells() / count, total.bytesRead() / count, total.bytesWritten() / count);
        }

        @Override
        public String toString() {
            return String.format(Locale.ROOT, "ops=%d rtt/op=%.3f readBytes/op=%.1f writtenBytes/op=%.1f",
                    operations, doorbells, bytesRead, bytesWritten);
        }
    }

    /**
     * @param keys               keys bulk loaded
     * @param shape              the tree after the measured operations
     * @param cachedBytes        internal-node bytes the measuring compute node caches at the end
     * @param get                gets of loaded keys
     * @param insert             inserts of new keys, splits included
     * @param insertWithoutSplit the inserts among them that split nothing
     * @param insertWithSplit    the inserts that split at least one node
     * @param update             puts over loaded keys
     * @param scan               scans of up to {@value #SCAN_LENGTH} keys from a loaded key
     * @param counters           the measuring tree's own counters
     */
    public record Report(int keys, BTreeInspector.Stats shape, long cachedBytes, Cost get, Cost insert,
                         Cost insertWithoutSplit, Cost insertWithSplit, Cost update, Cost scan,
                         BTreeCounters.Snapshot counters) {
        @Override
        public String toString() {
            return "btree keys=" + keys + " nodeBytes=" + shape.nodeBytes() + "\n"
                    + "  height=" + shape.height() + " nodes=" + shape.nodes() + " (internal=" + shape.internalNodes()
                    + ", per level leaves first " + Arrays.toString(shape.nodesPerLevel()) + ")\n"
                    + String.format(Locale.ROOT, "  cachedBytes=%d (%.3f bytes/key stored)%n", cachedBytes,
                            cachedBytes / (double) Math.max(1, shape.keys()))
                    + "  get                  " + get + "\n"
                    + "  insert               " + insert + "\n"
                    + "  insert without split " + insertWithoutSplit + "\n"
                    + "  insert with split    " + insertWithSplit + "\n"
                    + "  update               " + update + "\n"
                    + "  scan " + SCAN_LENGTH + "             " + scan + "\n"
                    + "  " + counters;
        }
    }

    public static final int SCAN_LENGTH = 100;

    private BTreeCostReport() {
    }

    /**
     * Bulk loads {@code keyCount} random keys (seeded) and measures {@code operations} gets, inserts and updates and a
     * tenth as many scans from a second compute node that opened the tree with a warm cache.
     */
    public static Report measure(int keyCount, int operations, BTreeOptions options, long seed) {
        SplittableRandom random = new SplittableRandom(seed);
        long[] keys = distinctSortedUnsigned(keyCount, random);
        long[] words = new long[keys.length];
        Arrays.setAll(words, i -> ~keys[i]);
        long leaves = keyCount / options.keysPerLeafAtLoad() + operations / Math.max(1, options.capacity() / 2) + 1;
        long regionBytes = (leaves + leaves / 4 + 1024) * options.nodeBytes();
        try (RegisteredMemory memory = new RegisteredMemory(0);
             FabricTransport transport = FabricTransports.create(LoopbackTransport.NAME, FabricLimits.DEFAULT)) {
            memory.allocate(BTreeRegionDescriptor.REGION_NAME, regionBytes);
            try (FabricServer server = transport.serve(memory, "btree-cost-report");
                 FabricConnection loader = transport.connect(server.endpoint(), null);
                 FabricConnection client = transport.connect(server.endpoint(), null)) {
                ShermanBTree.bulkLoad(loader, options, keys, words);
                ShermanBTree tree = ShermanBTree.open(client, options);
                FabricCounters counters = client.counters();

                FabricCounters.Snapshot before = counters.snapshot();
                for (int i = 0; i < operations; i++) {
                    tree.get(keys[random.nextInt(keys.length)]);
                }
                Cost get = Cost.of(operations, counters.snapshot().minus(before));

                FabricCounters.Snapshot withoutSplit = FabricCounters.Snapshot.ZERO;
                FabricCounters.Snapshot withSplit = FabricCounters.Snapshot.ZERO;
                long splitting = 0;
                for (int i = 0; i < operations; i++) {
                    long key = random.nextLong();
                    while (containsUnsigned(keys, key)) {
                        key = random.nextLong();
                    }
                    long splitsBefore = tree.counters().splits();
                    FabricCounters.Snapshot start = counters.snapshot();
                    tree.put(key, i);
                    FabricCounters.Snapshot cost = counters.snapshot().minus(start);
                    if (tree.counters().splits() > splitsBefore) {
                        withSplit = withSplit.plus(cost);
                        splitting++;
                    } else {
                        withoutSplit = withoutSplit.plus(cost);
                    }
                }
                Cost insert = Cost.of(operations, withoutSplit.plus(withSplit));
                Cost insertWithoutSplit = Cost.of(operations - splitting, withoutSplit);
                Cost insertWithSplit = Cost.of(splitting, withSplit);

                before = counters.snapshot();
                for (int i = 0; i < operations; i++) {
                    tree.put(keys[random.nextInt(keys.length)], i);
                }
                Cost update = Cost.of(operations, counters.snapshot().minus(before));

                int scans = Math.max(1, operations / 10);
                before = counters.snapshot();
                for (int i = 0; i < scans; i++) {
                    tree.scan(keys[random.nextInt(keys.length)], -1L, SCAN_LENGTH);
                }
                Cost scan = Cost.of(scans, counters.snapshot().minus(before));

                return new Report(keyCount, BTreeInspector.inspect(loader), tree.cachedBytes(), get, insert,
                        insertWithoutSplit, insertWithSplit, update, scan, tree.counters());
            }
        }
    }

    private static boolean containsUnsigned(long[] sortedUnsigned, long key) {
        int low = 0;
        int high = sortedUnsigned.length - 1;
        while (low <= high) {
            int middle = (low + high) >>> 1;
            int order = Long.compareUnsigned(sortedUnsigned[middle], key);
            if (order == 0) {
                return true;
            }
            if (order < 0) {
                low = middle + 1;
            } else {
                high = middle - 1;
            }
        }
        return false;
    }

    /**
     * {@code count} distinct random keys in unsigned order (sorted as signed values with the top bit flipped, which is
     * the unsigned order, then flipped back).
     */
    private static long[] distinctSortedUnsigned(int count, SplittableRandom random) {
        long[] flipped = new long[count];
        int filled = 0;
        while (filled < count) {
            for (int i = filled; i < count; i++) {
                flipped[i] = random.nextLong();
            }
            Arrays.sort(flipped);
            filled = 0;
            for (int i = 0; i < count; i++) {
                if (i == 0 || flipped[i] != flipped[i - 1]) {
                    flipped[filled++] = flipped[i];
                }
            }
        }
        long[] keys = new long[count];
        for (int i = 0; i < count; i++) {
            keys[i] = flipped[i] ^ Long.MIN_VALUE;
        }
        return keys;
    }

    public static void main(String[] args) {
        int keys = 1_000_000;
        int operations = 20_000;
        BTreeOptions options = BTreeOptions.DEFAULT;
        for (String argument : args) {
            String[] pair = argument.split("=", 2);
            if (pair.length != 2) {
                throw new IllegalArgumentException("argument=" + argument + " expected name=value; names: keys, operations, "
                        + BTreeOptions.NODE_BYTES_PROP_NAME);
            }
            switch (pair[0]) {
                case "keys" -> keys = Integer.parseInt(pair[1]);
                case "operations" -> operations = Integer.parseInt(pair[1]);
                case BTreeOptions.NODE_BYTES_PROP_NAME -> options = options.withNodeBytes(Integer.parseInt(pair[1]));
                default -> throw new IllegalArgumentException("argument=" + pair[0] + " allowed=[keys, operations, "
                        + BTreeOptions.NODE_BYTES_PROP_NAME + "]");
            }
        }
        System.out.println(measure(keys, operations, options, 42));
    }
}
