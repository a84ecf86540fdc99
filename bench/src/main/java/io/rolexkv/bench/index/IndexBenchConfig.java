package io.rolexkv.bench.index;

import io.rolexkv.common.fabric.loopback.LoopbackTransport;
import io.rolexkv.common.fabric.tcp.TcpTransport;
import io.rolexkv.rolex.index.IndexGeometry;

import java.util.List;

/**
 * One configuration of the index bench: the key set, the fabric, the index geometry and how much work each phase does.
 * Validated here, once, with messages naming the option and its allowed range.
 *
 * @param keys         keys bulk loaded
 * @param dataset      how keys (loaded and inserted alike) are drawn
 * @param clusters     clusters of a {@link IndexDataset#CLUSTERED} key set
 * @param transport    {@code loopback} or {@code tcp}: how the clients reach the in-process memory node
 * @param epsilon      the models' error bound
 * @param groupSize    base entries under one group word
 * @param leafCapacity entries of a delta leaf
 * @param threads      client thread counts of the throughput phases, each thread a client of its own
 * @param lookups      lookups per measurement (the single-threaded cost pass, and each timed run, split over threads)
 * @param inserts      inserts per measurement, likewise; 0 skips every insert phase
 * @param runs         timed runs per thread count; ops/s is reported as their median
 * @param seed         seed of the key set and of every key stream drawn from it
 */
public record IndexBenchConfig(int keys, IndexDataset dataset, int clusters, String transport, int epsilon,
                               int groupSize, int leafCapacity, List<Integer> threads, int lookups, int inserts, int runs,
                               long seed) {
    public static final List<String> TRANSPORTS = List.of(LoopbackTransport.NAME, TcpTransport.NAME);
    public static final int KEYS_DEFAULT = 1_000_000;
    public static final int CLUSTERS_DEFAULT = 300;
    public static final int LOOKUPS_DEFAULT = 100_000;
    public static final int INSERTS_DEFAULT = 20_000;
    public static final int RUNS_DEFAULT = 3;
    public static final long SEED_DEFAULT = 2023;
    /** Keys, inserts and lookups are held in memory as arrays; this keeps every count an int with room to spare. */
    public static final int MAX_COUNT = 100_000_000;
    public static final int MAX_THREADS = 256;

    public IndexBenchConfig {
        threads = List.copyOf(threads);
        checkRange("keys", keys, 1, MAX_COUNT);
        if (dataset == null) {
            throw new IllegalArgumentException("dataset is null; allowed=" + IndexDataset.NAMES);
        }
        checkRange("clusters", clusters, 1, keys);
        if (!TRANSPORTS.contains(transport)) {
            throw new IllegalArgumentException("transport=" + transport + " allowed=" + TRANSPORTS);
        }
        new IndexGeometry(epsilon, groupSize, leafCapacity, IndexGeometry.EMPTY_INDEX_GROUPS_DEFAULT); // validates them, naming the setting
        if (threads.isEmpty()) {
            throw new IllegalArgumentException("threads=[] needs at least one thread count");
        }
        for (int count : threads) {
            checkRange("threads", count, 1, MAX_THREADS);
        }
        if (threads.stream().distinct().count() != threads.size()) {
            throw new IllegalArgumentException("threads=" + threads + " lists a thread count twice");
        }
        checkRange("lookups", lookups, 1, MAX_COUNT);
        checkRange("inserts", inserts, 0, MAX_COUNT);
        checkRange("runs", runs, 1, 99);
        long insertKeys = (long) inserts * insertMeasurements(threads.size(), runs);
        if (keys + insertKeys > MAX_COUNT) {
            throw new IllegalArgumentException("keys=" + keys + " plus inserted keys=" + insertKeys + " exceed "
                    + MAX_COUNT + "; lower keys, inserts, runs or thread counts");
        }
        for (int count : threads) {
            if (lookups < count || (inserts > 0 && inserts < count)) {
                throw new IllegalArgumentException("lookups=" + lookups + " inserts=" + inserts
                        + " must be at least threads=" + count + " (or inserts=0)");
            }
        }
    }

    private static void checkRange(String name, long value, long low, long high) {
        if (value < low || value > high) {
            throw new IllegalArgumentException(name + "=" + value + " allowed=[" + low + "," + high + "]");
        }
    }

    /** Insert measurements of a run: the single-threaded cost pass, then every timed run of every thread count. */
    static int insertMeasurements(int threadCounts, int runs) {
        return 1 + threadCounts * runs;
    }

    /** Fresh keys the run inserts, all told: each insert measurement gets its own. */
    public int insertKeys() {
        return inserts * insertMeasurements(threads.size(), runs);
    }

    public IndexGeometry geometry() {
        return new IndexGeometry(epsilon, groupSize, leafCapacity, IndexGeometry.EMPTY_INDEX_GROUPS_DEFAULT);
    }

    /** The defaults: 1M uniform keys over loopback, the default geometry, 1, 2 and 8 threads. */
    public static IndexBenchConfig defaults() {
        return new IndexBenchConfig(KEYS_DEFAULT, IndexDataset.UNIFORM, CLUSTERS_DEFAULT, LoopbackTransport.NAME,
                IndexGeometry.EPSILON_DEFAULT, IndexGeometry.GROUP_SIZE_DEFAULT, IndexGeometry.LEAF_CAPACITY_DEFAULT,
                List.of(1, 2, 8), LOOKUPS_DEFAULT, INSERTS_DEFAULT, RUNS_DEFAULT, SEED_DEFAULT);
    }
}
