package io.rolexkv.bench.jmh;

import io.rolexkv.common.fabric.DoorbellBatch;
import io.rolexkv.common.fabric.FabricConnection;
import io.rolexkv.common.fabric.GlobalAddress;
import io.rolexkv.common.fabric.RegisteredMemory;
import io.rolexkv.common.fabric.loopback.LoopbackTransport;
import io.rolexkv.rolex.index.IndexGeometry;
import io.rolexkv.rolex.index.IndexLayout;
import io.rolexkv.rolex.index.IndexModel;
import io.rolexkv.rolex.index.ModelCache;
import io.rolexkv.rolex.index.RolexIndex;
import io.rolexkv.rolex.layout.LeafDescriptor;
import io.rolexkv.rolex.layout.LeafTableEntry;
import io.rolexkv.rolex.leaf.Leaf;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.concurrent.TimeUnit;
import java.util.zip.CRC32C;

/**
 * What a lookup costs the compute node's CPU, the network excluded, on a million bulk-loaded keys. The index is built
 * by the real loader ({@link RolexIndex#bulkLoad}) on a loopback memory node; every region is then READ once into this
 * process ({@link LocalMemoryConnection}), so the leaf bytes searched are exactly what the memory node holds.
 *
 * <ul>
 *   <li>{@link #predict}: the model cache's part ({@link ModelCache#modelFor} and {@link ModelCache#candidateLeaves},
 *       one prediction): which leaf groups a lookup reads.</li>
 *   <li>{@link #leafSearch}: from the predicted position (the candidate leaf groups of the key's model, worked out in
 *       setup) to the key's word, as the index's lookup does it: each leaf's bytes copied out of the READ's
 *       completion into one reused buffer, checked ({@link Leaf#isIntact}) and searched in place ({@link Leaf#find}),
 *       starting at the middle candidate group and following the fences, with nothing allocated. The lookup glue is
 *       package-private in the rolex module; this drives its public building blocks in the same order on the same
 *       bytes.</li>
 *   <li>{@link #predictAndSearch}: the two together: the whole local lookup.</li>
 *   <li>{@link #indexGet}: {@link RolexIndex#get} itself on the snapshot: the production path end to end (doorbell
 *       built, its READs answered by slices of the snapshot instead of the network, leaves checked and searched in
 *       place), so the difference to {@link #predictAndSearch} is the index's bookkeeping and the snapshot
 *       connection's completion objects; {@link #snapshotDoorbell} is the latter alone.</li>
 * </ul>
 * Lookup keys are stored keys drawn at random, so every call lands in a random leaf (cold in the CPU caches for a
 * million keys, as on a compute node serving many clients).
 *
 * <p>Run: {@code mvn -B -q -pl bench -am package -DskipTests}, then
 * {@code java -cp "bench/target/bench-0.1.0-SNAPSHOT.jar:bench/target/lib/*" org.openjdk.jmh.Main LeafSearchBenchmark
 * -f 1 -wi 2 -i 3 -w 1s -r 1s -prof gc} ({@code -prof gc} reports the bytes allocated per lookup).
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
@Fork(value = 1, jvmArgsAppend = {"--enable-native-access=ALL-UNNAMED"})
public class LeafSearchBenchmark {
    private static final int KEY_COUNT = PlaTrainingBenchmark.KEY_COUNT;
    private static final int LOOKUP_COUNT = 1 << 20;
    private static final int MEMORY_NODE = 0;
    /** Keys whose lookups setup checks against the loaded values before anything is measured. */
    private static final int CHECKED_LOOKUPS = 20_000;
    /** The engine's default index shape, as a compute node creates it. */
    private static final IndexGeometry GEOMETRY = IndexGeometry.of(IndexGeometry.LEAF_CAPACITY_DEFAULT,
            IndexGeometry.LOAD_FACTOR_DEFAULT, IndexGeometry.EPSILON_DEFAULT);

    @Param({"uniform", "clustered"})
    public String distribution;

    private LocalMemoryConnection snapshot;
    private RolexIndex index;
    private ModelCache cache;
    private IndexLayout layout;
    private MemorySegment leaves;
    private int leafCapacity;
    private int leafBytes;
    /** Per lookup: the key, its model, and its candidate leaf groups ({@link ModelCache#candidateLeaves}). */
    private long[] lookups;
    private int[] lookupModels;
    private long[] candidates;
    /** One leaf's bytes, checked and searched in place, as the index's lookup scratch holds them. */
    private byte[] leaf;
    private final CRC32C crc = new CRC32C();
    private final DoorbellBatch doorbell = new DoorbellBatch();
    private int next;

    @Setup(Level.Trial)
    public void load() {
        long[] keys = BenchmarkKeys.generate(distribution, KEY_COUNT, 2023);
        long[] values = new long[keys.length];
        for (int i = 0; i < keys.length; i++) {
            values[i] = valueOf(keys[i]);
        }
        try (RegisteredMemory memory = new RegisteredMemory(MEMORY_NODE);
             LoopbackTransport transport = new LoopbackTransport()) {
            memory.allocate(IndexLayout.META_REGION, 1L << 20);
            memory.allocate(IndexLayout.LEAVES_REGION, 64L << 20);
            memory.allocate(IndexLayout.TABLES_REGION, 16L << 20);
            memory.allocate(IndexLayout.MODELS_REGION, 16L << 20);
            transport.serve(memory, "leaf-search-node");
            try (FabricConnection connection = transport.connect("leaf-search-node", null)) {
                RolexIndex.bulkLoad(connection, GEOMETRY, keys, values);
                snapshot = LocalMemoryConnection.snapshotOf(connection);
            }
        }
        index = RolexIndex.open(snapshot);
        cache = index.cache();
        leafCapacity = index.geometry().leafCapacity();
        layout = new IndexLayout(snapshot, leafCapacity);
        leafBytes = layout.leafBytes();
        leaves = snapshot.regionBytes(IndexLayout.LEAVES_REGION);

        lookups = BenchmarkKeys.lookupsOf(keys, LOOKUP_COUNT, 7);
        lookupModels = new int[LOOKUP_COUNT];
        candidates = new long[LOOKUP_COUNT];
        leaf = new byte[leafBytes];
        long candidateGroups = 0;
        for (int i = 0; i < LOOKUP_COUNT; i++) {
            int model = cache.modelFor(lookups[i]);
            lookupModels[i] = model;
            candidates[i] = cache.candidateLeaves(model, lookups[i]);
            candidateGroups += IndexModel.lastOf(candidates[i]) - IndexModel.firstOf(candidates[i]) + 1;
        }
        for (int i = 0; i < CHECKED_LOOKUPS; i++) {
            long key = lookups[i];
            long found = search(key, lookupModels[i], candidates[i]);
            long got = index.get(key).orElseThrow();
            if (found != valueOf(key) || got != valueOf(key)) {
                throw new IllegalStateException("lookup of key=" + Long.toUnsignedString(key) + " found=" + found
                        + " index=" + got + " expected=" + valueOf(key));
            }
        }
        System.out.println("leaf search: distribution=" + distribution + " keys=" + keys.length + " models="
                + cache.modelCount() + " leafCapacity=" + leafCapacity + " leafBytes=" + leafBytes
                + " candidateGroupsPerLookup=" + String.format("%.2f", (double) candidateGroups / LOOKUP_COUNT)
                + " modelCacheBytes=" + cache.bytes());
    }

    @TearDown(Level.Trial)
    public void close() {
        snapshot.close();
    }

    private static long valueOf(long key) {
        return key * 0x9E37_79B9_7F4A_7C15L >>> 1;
    }

    @Benchmark
    public long predict() {
        long key = lookups[next++ & (LOOKUP_COUNT - 1)];
        return cache.candidateLeaves(cache.modelFor(key), key);
    }

    @Benchmark
    public long leafSearch() {
        int i = next++ & (LOOKUP_COUNT - 1);
        return search(lookups[i], lookupModels[i], candidates[i]);
    }

    @Benchmark
    public long predictAndSearch() {
        long key = lookups[next++ & (LOOKUP_COUNT - 1)];
        int model = cache.modelFor(key);
        return search(key, model, cache.candidateLeaves(model, key));
    }

    @Benchmark
    public long indexGet() {
        return index.get(lookups[next++ & (LOOKUP_COUNT - 1)]).orElse(-1);
    }

    /**
     * Only the snapshot connection's share of {@link #indexGet}: a reused doorbell of the same READs (each candidate
     * group's first leaf) posted and completed, nothing searched. What it allocates per call (the completion, its
     * arrays, a slice per READ) is the connection's, so {@link #indexGet} minus this is the index's own cost.
     */
    @Benchmark
    public int snapshotDoorbell() {
        int i = next++ & (LOOKUP_COUNT - 1);
        doorbell.clear();
        for (int group = IndexModel.firstOf(candidates[i]); group <= IndexModel.lastOf(candidates[i]); group++) {
            long reference = LeafTableEntry.withSynonymSlot(cache.leafTableEntry(lookupModels[i], group), 0);
            doorbell.read(layout.leafAddress(reference), leafBytes);
        }
        return snapshot.execute(doorbell).size();
    }

    /**
     * The key's word from the candidate groups of {@code model}, -1 if absent: from the middle group towards the key
     * by the groups' fences, each leaf's bytes copied into {@link #leaf}, checked, and searched in place; chains
     * followed by their links.
     */
    private long search(long key, int model, long candidateLeaves) {
        int first = IndexModel.firstOf(candidateLeaves);
        int last = IndexModel.lastOf(candidateLeaves);
        int group = (first + last) >>> 1;
        int direction = 0;
        while (group >= first && group <= last) {
            long reference = LeafTableEntry.withSynonymSlot(cache.leafTableEntry(model, group), 0);
            int next = 0;
            for (int steps = 0; steps <= LeafTableEntry.SYNONYM_SLOTS && next == 0; steps++) {
                long offset = GlobalAddress.offset(layout.leafAddress(reference));
                MemorySegment.copy(leaves, ValueLayout.JAVA_BYTE, offset, leaf, 0, leafBytes);
                if (!Leaf.isIntact(leaf, leafBytes, crc)) {
                    throw new IllegalStateException("torn leaf in a snapshot: offset=" + offset);
                }
                if (steps == 0 && Long.compareUnsigned(key, LeafDescriptor.lowFence(leaf)) < 0) {
                    next = -1;
                } else if (Long.compareUnsigned(key, LeafDescriptor.highFence(leaf)) <= 0) {
                    int index = Leaf.find(leaf, Leaf.checkedCount(leaf, leafCapacity), key);
                    return index < 0 ? -1 : LeafDescriptor.value(leaf, leafCapacity, index);
                } else {
                    reference = LeafDescriptor.nextLeaf(leaf);
                    if (reference == 0) {
                        next = 1;
                    }
                }
            }
            if (next == 0 || direction == -next) {
                return -1;
            }
            direction = next;
            group += next;
        }
        return -1;
    }
}
