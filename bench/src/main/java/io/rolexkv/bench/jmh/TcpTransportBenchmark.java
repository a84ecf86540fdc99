package io.rolexkv.bench.jmh;

import io.rolexkv.common.fabric.BatchResult;
import io.rolexkv.common.fabric.DoorbellBatch;
import io.rolexkv.common.fabric.FabricConnection;
import io.rolexkv.common.fabric.FabricLimits;
import io.rolexkv.common.fabric.FabricServer;
import io.rolexkv.common.fabric.GlobalAddress;
import io.rolexkv.common.fabric.RegionInfo;
import io.rolexkv.common.fabric.RegisteredMemory;
import io.rolexkv.common.fabric.tcp.TcpTransport;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OperationsPerInvocation;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Warmup;
import org.openjdk.jmh.infra.Blackhole;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

/**
 * The tcp transport's cost per doorbell: a memory node ({@link io.rolexkv.common.fabric.tcp.TcpFabricServer}) and a
 * client in one JVM over 127.0.0.1, batches of 1, 8 and 32 READs of 64 B, 1 KiB and 4 KiB.
 * <ul>
 *   <li>{@link #roundTrip}: one batch at a time, sampled: the latency a lookup sees for one doorbell.</li>
 *   <li>{@link #pipelined}: {@value #WINDOW} batches in flight on the connection (as concurrent virtual threads
 *   would post them), reported as batches per second: what one queue pair can carry.</li>
 * </ul>
 * Loopback tcp on a shared machine measures the software path (framing, event loops, copies), not a network; quote
 * ratios between configurations, not absolute figures.
 *
 * <p>Run: {@code mvn -B -q -pl bench -am package -DskipTests}, then
 * {@code java -cp "bench/target/bench-0.1.0-SNAPSHOT.jar:bench/target/lib/*" org.openjdk.jmh.Main TcpTransportBenchmark
 * -f 1 -wi 2 -i 3 -w 1s -r 2s} (or run this class's {@code main} with the same arguments).
 */
@State(Scope.Benchmark)
@Fork(value = 1, jvmArgsAppend = {"--enable-native-access=ALL-UNNAMED"})
@Warmup(iterations = 3, time = 2)
@Measurement(iterations = 5, time = 3)
public class TcpTransportBenchmark {
    /** Batches in flight in {@link #pipelined}. */
    static final int WINDOW = 16;
    private static final int MEMORY_NODE = 0;

    @Param({"1", "8", "32"})
    int verbs;

    @Param({"64", "1024", "4096"})
    int readBytes;

    private RegisteredMemory memory;
    private TcpTransport transport;
    private FabricConnection connection;
    private DoorbellBatch batch;

    @Setup(Level.Trial)
    public void start() {
        memory = new RegisteredMemory(MEMORY_NODE);
        RegionInfo region = memory.allocate("data", 1L << 20);
        transport = new TcpTransport(FabricLimits.DEFAULT);
        FabricServer server = transport.serve(memory, "127.0.0.1:0");
        connection = transport.connect(server.endpoint(), null);
        // Distinct, non-overlapping leaves, as a lookup reading its predicted leaves would.
        batch = new DoorbellBatch();
        for (int i = 0; i < verbs; i++) {
            batch.read(GlobalAddress.of(MEMORY_NODE, region.id(), (long) i * readBytes), readBytes);
        }
    }

    @TearDown(Level.Trial)
    public void stop() {
        transport.close();
        memory.close();
    }

    @Benchmark
    @BenchmarkMode(Mode.SampleTime)
    @OutputTimeUnit(TimeUnit.MICROSECONDS)
    public BatchResult roundTrip() {
        return connection.execute(batch);
    }

    @Benchmark
    @BenchmarkMode(Mode.Throughput)
    @OutputTimeUnit(TimeUnit.SECONDS)
    @OperationsPerInvocation(WINDOW)
    public void pipelined(Blackhole blackhole) {
        // An unchanged batch may be in flight several times at once: posting only reads it.
        List<CompletableFuture<BatchResult>> inFlight = new ArrayList<>(WINDOW);
        for (int i = 0; i < WINDOW; i++) {
            inFlight.add(connection.post(batch));
        }
        for (CompletableFuture<BatchResult> completion : inFlight) {
            blackhole.consume(FabricConnection.await(completion));
        }
    }

    /** Runs this benchmark through JMH's own command line; arguments as for {@code org.openjdk.jmh.Main}. */
    public static void main(String[] args) throws Exception {
        org.openjdk.jmh.Main.main(args.length == 0 ? new String[] {TcpTransportBenchmark.class.getSimpleName()} : args);
    }
}
