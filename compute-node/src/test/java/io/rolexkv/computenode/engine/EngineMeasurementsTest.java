package io.rolexkv.computenode.engine;

import io.rolexkv.common.config.ConfigNode;
import io.rolexkv.common.fabric.FabricCounters;
import io.rolexkv.computenode.EmbeddedCluster;
import io.rolexkv.computenode.KVEngines;
import org.HdrHistogram.Histogram;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The figures for the engine's report, printed as a table: batchGet of 1,000 keys against 1,000 gets, and get and put
 * throughput of 512-byte values with 1 and 8 client threads on 1 and 3 memory nodes, over tcp (memory nodes in this
 * JVM, on the same machine). Not a unit test: run it on purpose with
 * {@code mvn -B -pl compute-node -am test -Pslow -Dtest=EngineMeasurementsTest -Dsurefire.failIfNoSpecifiedTests=false}.
 */
@Tag("slow")
@Timeout(900)
class EngineMeasurementsTest {
    static final String TRANSPORT = System.getProperty("rolexkv.measure.transport", "tcp");
    static final int KEYS = 100_000;
    static final int VALUE_BYTES = 512;
    static final long PHASE_NANOS = TimeUnit.SECONDS.toNanos(Long.getLong("rolexkv.measure.seconds", 5));
    static final EmbeddedCluster.Regions REGIONS = new EmbeddedCluster.Regions(4096, 64L << 20, 8L << 20, 4L << 20, 160L << 20);

    @Test
    void measure() throws Exception {
        System.out.println("transport=" + TRANSPORT + " keys=" + KEYS + " value_bytes=" + VALUE_BYTES + " cores="
                + Runtime.getRuntime().availableProcessors());
        for (int nodes : new int[] {1, 3}) {
            try (EmbeddedCluster cluster = EmbeddedCluster.start(TRANSPORT, nodes, REGIONS)) {
                var config = cluster.engineConfig().put("max_value_bytes", 4096);
                RolexKV engine = (RolexKV) (TRANSPORT.equals("loopback")
                        ? KVEngines.open(ConfigNode.of(config), cluster.transport()) : KVEngines.open(ConfigNode.of(config)));
                try {
                    long[] keys = load(engine);
                    // Warm-up, not reported: the JIT and the connections settle before anything is timed.
                    throughput(engine, keys, nodes, 8, false, false);
                    throughput(engine, keys, nodes, 8, true, false);
                    batchGetAgainstGets(engine, keys, nodes);
                    for (int threads : new int[] {1, 8}) {
                        throughput(engine, keys, nodes, threads, false, true);
                        throughput(engine, keys, nodes, threads, true, true);
                    }
                } finally {
                    engine.close();
                }
            }
        }
    }

    private static byte[] value(long seed) {
        byte[] value = new byte[VALUE_BYTES];
        new Random(seed).nextBytes(value);
        return value;
    }

    private static long[] load(RolexKV engine) {
        Random random = new Random(1);
        long[] keys = new long[KEYS];
        for (int i = 0; i < KEYS; i++) {
            keys[i] = random.nextLong();
        }
        long[] sorted = Arrays.stream(keys).map(k -> k ^ Long.MIN_VALUE).sorted().map(k -> k ^ Long.MIN_VALUE).distinct().toArray();
        List<byte[]> values = new ArrayList<>(sorted.length);
        for (long key : sorted) {
            values.add(value(key));
        }
        long start = System.nanoTime();
        FabricCounters.Snapshot before = engine.counters().snapshot();
        engine.bulkLoad(sorted, values);
        FabricCounters.Snapshot cost = engine.counters().snapshot().minus(before);
        System.out.printf("bulkLoad %d x %d B: %.0f ms, %d doorbells, %.1f MiB written%n", sorted.length, VALUE_BYTES,
                (System.nanoTime() - start) / 1e6, cost.doorbells(), cost.bytesWritten() / 1048576.0);
        return sorted;
    }

    private static void batchGetAgainstGets(RolexKV engine, long[] keys, int nodes) {
        Random random = new Random(2);
        long[] batchNanos = new long[20];
        long[] singleNanos = new long[5];
        long batchDoorbells = 0;
        long singleDoorbells = 0;
        for (int round = 0; round < batchNanos.length + 3; round++) {
            long[] probe = new long[1_000];
            for (int i = 0; i < probe.length; i++) {
                probe[i] = keys[random.nextInt(keys.length)];
            }
            FabricCounters.Snapshot before = engine.threadCounters().snapshot();
            long start = System.nanoTime();
            engine.batchGet(probe);
            long took = System.nanoTime() - start;
            if (round >= 3) { // warm-up rounds first
                batchNanos[round - 3] = took;
                batchDoorbells = engine.threadCounters().snapshot().minus(before).doorbells();
            }
        }
        for (int round = 0; round < singleNanos.length + 1; round++) {
            long[] probe = new long[1_000];
            for (int i = 0; i < probe.length; i++) {
                probe[i] = keys[random.nextInt(keys.length)];
            }
            FabricCounters.Snapshot before = engine.threadCounters().snapshot();
            long start = System.nanoTime();
            for (long key : probe) {
                assertTrue(engine.get(key).isPresent());
            }
            long took = System.nanoTime() - start;
            if (round >= 1) {
                singleNanos[round - 1] = took;
                singleDoorbells = engine.threadCounters().snapshot().minus(before).doorbells();
            }
        }
        Arrays.sort(batchNanos);
        Arrays.sort(singleNanos);
        System.out.printf("nodes=%d batchGet(1000): %d doorbells, median %.2f ms | 1000 x get: %d doorbells, median %.2f ms"
                        + " | ratio %.1fx%n", nodes, batchDoorbells, batchNanos[batchNanos.length / 2] / 1e6, singleDoorbells,
                singleNanos[singleNanos.length / 2] / 1e6, (double) singleNanos[singleNanos.length / 2] / batchNanos[batchNanos.length / 2]);
    }

    private static void throughput(RolexKV engine, long[] keys, int nodes, int threads, boolean puts, boolean report)
            throws Exception {
        List<Thread> workers = new ArrayList<>();
        Histogram[] latencies = new Histogram[threads];
        long[] operations = new long[threads];
        long[] doorbells = new long[threads];
        long[] bytes = new long[threads];
        CountDownLatch start = new CountDownLatch(1);
        byte[][] values = {value(3), value(4), value(5), value(6)};
        for (int t = 0; t < threads; t++) {
            int thread = t;
            latencies[t] = new Histogram(TimeUnit.SECONDS.toNanos(10), 3);
            workers.add(Thread.ofPlatform().start(() -> {
                try {
                    start.await();
                } catch (InterruptedException e) {
                    return;
                }
                ThreadLocalRandom random = ThreadLocalRandom.current();
                FabricCounters.Snapshot before = engine.threadCounters().snapshot();
                long end = System.nanoTime() + PHASE_NANOS;
                long count = 0;
                while (true) {
                    long now = System.nanoTime();
                    if (now >= end) {
                        break;
                    }
                    long key = keys[random.nextInt(keys.length)];
                    if (puts) {
                        engine.put(key, values[random.nextInt(values.length)]);
                    } else {
                        engine.get(key);
                    }
                    latencies[thread].recordValue(Math.min(System.nanoTime() - now, TimeUnit.SECONDS.toNanos(10)));
                    count++;
                }
                FabricCounters.Snapshot cost = engine.threadCounters().snapshot().minus(before);
                operations[thread] = count;
                doorbells[thread] = cost.doorbells();
                bytes[thread] = cost.bytesRead() + cost.bytesWritten();
            }));
        }
        start.countDown();
        for (Thread worker : workers) {
            worker.join();
        }
        Histogram all = new Histogram(TimeUnit.SECONDS.toNanos(10), 3);
        long ops = 0;
        long totalDoorbells = 0;
        long totalBytes = 0;
        for (int t = 0; t < threads; t++) {
            all.add(latencies[t]);
            ops += operations[t];
            totalDoorbells += doorbells[t];
            totalBytes += bytes[t];
        }
        if (!report) {
            return;
        }
        System.out.printf("nodes=%d threads=%d %-3s: %8.0f ops/s  p50 %6.1f us  p99 %7.1f us  %.2f doorbells/op  %.0f B/op%n",
                nodes, threads, puts ? "put" : "get", ops / (PHASE_NANOS / 1e9), all.getValueAtPercentile(50) / 1e3,
                all.getValueAtPercentile(99) / 1e3, (double) totalDoorbells / ops, (double) totalBytes / ops);
    }
}
