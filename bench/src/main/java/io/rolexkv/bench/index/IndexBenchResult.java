package io.rolexkv.bench.index;

import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Optional;

/**
 * What one index bench run measured. The counts (round trips, verbs, bytes) come from the client's fabric counters and
 * are exact and hardware-independent; the times are of this machine at this moment.
 *
 * @param config     what ran
 * @param shape      the index after the bulk load, as a compute node caches it
 * @param lookupCost single-threaded lookups on a warm cache, each measured alone
 * @param insertCost single-threaded inserts of fresh keys, each measured alone; empty when inserts were not run
 * @param throughput one point per thread count, in the order of {@link IndexBenchConfig#threads()}
 * @param lostKeys   keys the final check found missing, wrong or (for a rejected insert) present: must be 0
 * @param seconds    wall time of the whole run
 */
public record IndexBenchResult(IndexBenchConfig config, Shape shape, LookupCost lookupCost, Optional<InsertCost> insertCost,
                               List<ThroughputPoint> throughput, long lostKeys, double seconds) {

    public IndexBenchResult {
        throughput = List.copyOf(throughput);
    }

    /**
     * @param keys       keys bulk loaded
     * @param models     models trained
     * @param cacheBytes bytes of the compute node's model cache: model records, LT and SLT snapshots
     * @param leafBytes  bytes of one leaf
     */
    public record Shape(int keys, int models, long cacheBytes, int leafBytes) {
        public double cacheBytesPerKey() {
            return (double) cacheBytes / keys;
        }
    }

    /**
     * @param lookups              lookups measured
     * @param readingOne           lookups whose doorbells held one READ verb; likewise two, three, four or more
     * @param reads                READ verbs in all (group heads, base window, reuse floor, each delta leaf)
     * @param doorbells            round trips in all
     * @param bytesRead            bytes READ in all
     * @param misses               lookups of a loaded key that did not return its value: must be 0
     */
    public record LookupCost(long lookups, long readingOne, long readingTwo, long readingThree, long readingFourOrMore,
                             long reads, long doorbells, long bytesRead, long misses) {
        public double readsPerLookup() {
            return (double) reads / lookups;
        }

        public double roundTripsPerLookup() {
            return (double) doorbells / lookups;
        }

        public double bytesReadPerLookup() {
            return (double) bytesRead / lookups;
        }

        /** Percent of lookups whose doorbell held {@code reads} READ verbs (4 stands for four or more). */
        public double percentReading(int reads) {
            long count = switch (reads) {
                case 1 -> readingOne;
                case 2 -> readingTwo;
                case 3 -> readingThree;
                case 4 -> readingFourOrMore;
                default -> throw new IllegalArgumentException("reads=" + reads + " allowed=[1,4]");
            };
            return 100.0 * count / lookups;
        }
    }

    /**
     * @param inserts              inserts attempted
     * @param rejected             inserts refused with no room (a full synonym table; no retrainer runs in the bench)
     * @param doorbells            round trips in all
     * @param moreThanTwoRoundTrips inserts that took more than the common case's two round trips
     * @param bytesRead            bytes READ in all
     * @param bytesWritten         bytes written in all (WRITE, and 8 per CAS and FAA)
     * @param splits               new leaves made in all (a group's first delta leaf, or a split)
     */
    public record InsertCost(long inserts, long rejected, long doorbells, long moreThanTwoRoundTrips, long bytesRead,
                             long bytesWritten, long splits) {
        public double roundTripsPerInsert() {
            return (double) doorbells / inserts;
        }

        public double percentMoreThanTwoRoundTrips() {
            return 100.0 * moreThanTwoRoundTrips / inserts;
        }

        public double bytesReadPerInsert() {
            return (double) bytesRead / inserts;
        }

        public double bytesWrittenPerInsert() {
            return (double) bytesWritten / inserts;
        }

        public double splitsPerInsert() {
            return (double) splits / inserts;
        }
    }

    /**
     * The timed runs of one operation at one thread count.
     *
     * @param operations     operations per run (all threads together)
     * @param opsPerSecond   each run's throughput, in run order
     * @param p50Nanos       median latency over all runs' operations
     * @param p99Nanos       99th percentile latency over all runs' operations
     * @param doorbells      round trips of all runs, all clients
     * @param failures       misses (lookups) or rejections (inserts) over all runs
     * @param lockConflicts  lock CASes lost to another client, over all runs
     */
    public record TimedRuns(int operations, List<Double> opsPerSecond, long p50Nanos, long p99Nanos, long doorbells,
                            long failures, long lockConflicts) {
        public TimedRuns {
            opsPerSecond = List.copyOf(opsPerSecond);
        }

        public double medianOpsPerSecond() {
            List<Double> sorted = new ArrayList<>(opsPerSecond);
            Collections.sort(sorted);
            int middle = sorted.size() / 2;
            return sorted.size() % 2 == 1 ? sorted.get(middle) : (sorted.get(middle - 1) + sorted.get(middle)) / 2;
        }

        public double minOpsPerSecond() {
            return Collections.min(opsPerSecond);
        }

        public double maxOpsPerSecond() {
            return Collections.max(opsPerSecond);
        }

        private long totalOperations() {
            return (long) operations * opsPerSecond.size();
        }

        public double roundTripsPerOperation() {
            return (double) doorbells / totalOperations();
        }

        public double lockConflictsPerOperation() {
            return (double) lockConflicts / totalOperations();
        }
    }

    /** Lookups, and inserts if run, at one thread count. */
    public record ThroughputPoint(int threads, TimedRuns lookups, Optional<TimedRuns> inserts) {
    }

    /** The single-thread point, if the run had one. */
    public Optional<ThroughputPoint> singleThread() {
        return throughput.stream().filter(point -> point.threads() == 1).findFirst();
    }
}
