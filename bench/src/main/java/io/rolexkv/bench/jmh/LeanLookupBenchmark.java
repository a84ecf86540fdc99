package io.rolexkv.bench.jmh;

import io.rolexkv.common.fabric.FabricConnection;
import io.rolexkv.common.fabric.RegisteredMemory;
import io.rolexkv.common.fabric.loopback.LoopbackTransport;
import io.rolexkv.rolex.index.FoundWord;
import io.rolexkv.rolex.index.IndexGeometry;
import io.rolexkv.rolex.index.IndexLayout;
import io.rolexkv.rolex.index.LeanIndex;
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

import java.util.concurrent.TimeUnit;

/**
 * What a lookup of the index ({@link LeanIndex#find}, the engine's get path) costs the compute node's CPU, the network excluded, on a
 * million bulk-loaded keys: built by the real loader on a loopback memory node, then every region READ once into this
 * process ({@link LocalMemoryConnection}), so the doorbell's READs are answered by slices of exactly what the memory
 * node holds. The production path end to end: prediction, the doorbell built, its completion landing in the lookup's
 * reused buffer (the snapshot copies each READ's bytes in, as a transport's completion lands), the window searched
 * there. With {@code -prof gc} it shows what a lookup itself allocates: nothing (about 305 bytes per call before the
 * doorbell was completed into a reused buffer).
 *
 * <p>Run: {@code mvn -B -q -pl bench -am package -DskipTests}, then
 * {@code java -cp "bench/target/bench-0.1.0-SNAPSHOT.jar:bench/target/lib/*" org.openjdk.jmh.Main
 * LeanLookupBenchmark -f 1 -wi 2 -i 3 -w 1s -r 1s -prof gc}.
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
@Fork(value = 1, jvmArgsAppend = {"--enable-native-access=ALL-UNNAMED"})
public class LeanLookupBenchmark {
    private static final int KEY_COUNT = PlaTrainingBenchmark.KEY_COUNT;
    private static final int LOOKUP_COUNT = 1 << 20;

    @Param({"uniform", "clustered"})
    public String distribution;

    private LocalMemoryConnection snapshot;
    private LeanIndex index;
    private long[] lookups;
    private int next;
    private final FoundWord found = new FoundWord();

    @Setup(Level.Trial)
    public void load() {
        long[] keys = BenchmarkKeys.generate(distribution, KEY_COUNT, 2023);
        long[] values = new long[keys.length];
        for (int i = 0; i < keys.length; i++) {
            values[i] = ~keys[i];
        }
        try (RegisteredMemory memory = new RegisteredMemory(0);
             LoopbackTransport transport = new LoopbackTransport()) {
            memory.allocate(IndexLayout.META_REGION, 1L << 20);
            memory.allocate(IndexLayout.LEAVES_REGION, 1L << 20);
            memory.allocate(IndexLayout.TABLES_REGION, 48L << 20);
            memory.allocate(IndexLayout.MODELS_REGION, 16L << 20);
            transport.serve(memory, "lean-lookup-node");
            try (FabricConnection connection = transport.connect("lean-lookup-node", null)) {
                LeanIndex.bulkLoad(connection, IndexGeometry.DEFAULT, keys, values);
                snapshot = LocalMemoryConnection.snapshotOf(connection);
            }
        }
        index = LeanIndex.open(snapshot);
        lookups = BenchmarkKeys.lookupsOf(keys, LOOKUP_COUNT, 7);
        for (int i = 0; i < 20_000; i++) {
            if (index.get(lookups[i]).orElseThrow() != ~lookups[i]) {
                throw new IllegalStateException("lean lookup of key=" + Long.toUnsignedString(lookups[i]) + " is wrong");
            }
        }
        System.out.println("lean lookup: distribution=" + distribution + " keys=" + keys.length + " models="
                + index.modelCount() + " modelCacheBytes=" + index.cachedBytes());
    }

    @TearDown(Level.Trial)
    public void close() {
        snapshot.close();
    }

    @Benchmark
    public long leanGet() {
        return index.find(lookups[next++ & (LOOKUP_COUNT - 1)], found) ? found.word() : -1;
    }
}
