package io.rolexkv.common.fabric.fault;

/**
 * Which faults a {@link FaultInjectingTransport} or {@link FaultInjectingConnection} injects, and the seed of the
 * random choices it makes, so a failing test replays the same faults (as far as thread scheduling allows). Build one
 * with {@link #builder()}; {@link #NONE} injects nothing.
 *
 * @param seed               seed of the decorator's {@link java.util.Random}; a transport derives one seed per
 *                           connection from it, in the order the connections were opened
 * @param minLatencyMicros   least delay added before a batch reaches the delegate
 * @param maxLatencyMicros   most delay added; equal to the least for a fixed latency, drawn uniformly in between
 *                           otherwise
 * @param tearProbability    chance that a WRITE longer than 8 bytes in a batch is torn into pieces, in [0, 1]
 * @param maxTearPieces      most pieces a torn WRITE is cut into (at least 2; fewer if the WRITE spans fewer words)
 * @param maxTearPauseMicros most pause before each piece after the first, drawn uniformly from 0
 * @param dropAfterBatches   the connection drops when the caller posts batch number {@code dropAfterBatches + 1}
 *                           (the first {@code dropAfterBatches} run normally), or {@link #NEVER_DROP}
 */
public record FaultPlan(long seed, long minLatencyMicros, long maxLatencyMicros, double tearProbability,
                        int maxTearPieces, long maxTearPauseMicros, long dropAfterBatches) {
    public static final long SEED_DEFAULT = 42;
    public static final int MAX_TEAR_PIECES_DEFAULT = 4;
    public static final long NEVER_DROP = -1;
    /** No latency, no tearing, no drops: the decorator is a pass-through. */
    public static final FaultPlan NONE = builder().build();

    /** One second: more added latency than any test should want, so a typo in micros is caught. */
    private static final long MAX_MICROS = 1_000_000;

    public FaultPlan {
        checkMicros("min_latency_micros", minLatencyMicros);
        checkMicros("max_latency_micros", maxLatencyMicros);
        if (maxLatencyMicros < minLatencyMicros) {
            throw new IllegalArgumentException("max_latency_micros=" + maxLatencyMicros
                    + " must be >= min_latency_micros=" + minLatencyMicros);
        }
        if (!(tearProbability >= 0 && tearProbability <= 1)) {
            throw new IllegalArgumentException("tear_probability=" + tearProbability + " allowed=[0,1]");
        }
        if (maxTearPieces < 2) {
            throw new IllegalArgumentException("max_tear_pieces=" + maxTearPieces + " must be >= 2");
        }
        checkMicros("max_tear_pause_micros", maxTearPauseMicros);
        if (dropAfterBatches < NEVER_DROP) {
            throw new IllegalArgumentException("drop_after_batches=" + dropAfterBatches + " must be >= 0, or "
                    + NEVER_DROP + " for never");
        }
    }

    private static void checkMicros(String name, long micros) {
        if (micros < 0 || micros > MAX_MICROS) {
            throw new IllegalArgumentException(name + "=" + micros + " allowed=[0," + MAX_MICROS + "]");
        }
    }

    public static Builder builder() {
        return new Builder();
    }

    /** This plan with another seed (a transport gives each connection its own). */
    public FaultPlan withSeed(long newSeed) {
        return new FaultPlan(newSeed, minLatencyMicros, maxLatencyMicros, tearProbability, maxTearPieces,
                maxTearPauseMicros, dropAfterBatches);
    }

    public boolean addsLatency() {
        return maxLatencyMicros > 0;
    }

    public boolean tearsWrites() {
        return tearProbability > 0;
    }

    public boolean dropsAfterBatches() {
        return dropAfterBatches != NEVER_DROP;
    }

    /** Builds a {@link FaultPlan}; everything starts off (no latency, no tearing, no drop, seed 42). */
    public static final class Builder {
        private long seed = SEED_DEFAULT;
        private long minLatencyMicros;
        private long maxLatencyMicros;
        private double tearProbability;
        private int maxTearPieces = MAX_TEAR_PIECES_DEFAULT;
        private long maxTearPauseMicros;
        private long dropAfterBatches = NEVER_DROP;

        private Builder() {
        }

        public Builder seed(long seed) {
            this.seed = seed;
            return this;
        }

        /** Every batch waits exactly {@code micros} before it reaches the delegate. */
        public Builder fixedLatencyMicros(long micros) {
            return latencyMicros(micros, micros);
        }

        /** Every batch waits a uniformly drawn delay in [0, {@code upToMicros}] before it reaches the delegate. */
        public Builder randomLatencyMicros(long upToMicros) {
            return latencyMicros(0, upToMicros);
        }

        /** Every batch waits a uniformly drawn delay in [{@code minMicros}, {@code maxMicros}]. */
        public Builder latencyMicros(long minMicros, long maxMicros) {
            this.minLatencyMicros = minMicros;
            this.maxLatencyMicros = maxMicros;
            return this;
        }

        /**
         * Tears each WRITE longer than 8 bytes with {@code probability}: cut at 8-byte aligned addresses into at
         * most {@code maxPieces} pieces, applied out of order, each piece but the first after a pause drawn in
         * [0, {@code maxPauseMicros}].
         */
        public Builder tearWrites(double probability, int maxPieces, long maxPauseMicros) {
            this.tearProbability = probability;
            this.maxTearPieces = maxPieces;
            this.maxTearPauseMicros = maxPauseMicros;
            return this;
        }

        /** Each connection drops when its caller posts batch {@code batches + 1}. */
        public Builder dropAfterBatches(long batches) {
            this.dropAfterBatches = batches;
            return this;
        }

        public FaultPlan build() {
            return new FaultPlan(seed, minLatencyMicros, maxLatencyMicros, tearProbability, maxTearPieces,
                    maxTearPauseMicros, dropAfterBatches);
        }
    }
}
