package io.rolexkv.rolex.model;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.List;

/**
 * A trained model set: the ROLEX lower level (the segments of a piecewise-linear approximation, one
 * {@link LinearModel} each) and its upper level (a binary search over the models' first keys), immutable.
 *
 * <h2>Ranks and leaves</h2>
 * Model {@code m} covers the consecutive ranks {@code [firstRank(m), lastRank(m)]}; together the models cover
 * {@code [0, rankCount())} with no gap. ROLEX packs each model's training keys into that model's own leaves, in
 * rank order, {@code leafCapacity} keys per leaf: the training key of rank {@code r} sits in leaf
 * {@code (r - firstRank(m)) / leafCapacity} of model {@code m}. A key's candidate leaves are therefore
 * {@code (lowRank - firstRank) / leafCapacity .. (highRank - firstRank) / leafCapacity} of its model
 * ({@link #leafRange(long, int)}), which is exactly what a lookup reads (plus the synonym leaves of those).
 *
 * <h2>Monotonicity, and keys that arrive after training</h2>
 * Rank, low rank and high rank are each monotone non-decreasing in the key over the whole set: within a model the
 * line has a non-negative slope and is clamped to the model's ranks, and a later model's ranks all lie above an
 * earlier model's. Let a key {@code k} that was not trained on fall between the training keys of ranks
 * {@code r - 1} and {@code r} (its insertion rank is {@code r}). Monotonicity gives
 * {@code lowRank(k) <= lowRank(key_r) <= r} and {@code highRank(k) >= highRank(key_(r-1)) >= r - 1}: the range
 * of {@code k} meets {@code {r - 1, r}}, so an insert that places {@code k} next to one of its neighbours puts it
 * where a later lookup of {@code k} reads. Keys below the first model's first key go to the first model, keys
 * above the last training key stay in the last model.
 *
 * <h2>An index that starts empty</h2>
 * {@link #forEmptyIndex(long, int)} maps the whole unsigned key space linearly onto a fixed number of leaves, with
 * epsilon 0: each key has exactly one leaf, and keys spread evenly if they are spread evenly.
 *
 * <p>Model parameters sit in parallel arrays, not objects, so a prediction touches a few cache lines. Serialized
 * by {@link LearnedModelsDescriptor}.
 */
public final class LearnedModels {
    private final long[] firstKeys;
    /** firstKeys with the sign bit flipped: signed order of these is unsigned order of the keys. */
    private final long[] searchKeys;
    private final double[] slopes;
    private final double[] intercepts;
    private final long[] firstRanks;
    private final long[] lastRanks;
    private final int[] epsilons;

    /** Takes ownership of the arrays; validates the invariants a model set must keep. */
    LearnedModels(long[] firstKeys, double[] slopes, double[] intercepts, long[] firstRanks, long[] lastRanks,
                  int[] epsilons) {
        int count = firstKeys.length;
        if (count == 0) {
            throw new IllegalArgumentException("modelCount=0: a model set has at least one model");
        }
        if (slopes.length != count || intercepts.length != count || firstRanks.length != count
            || lastRanks.length != count || epsilons.length != count) {
            throw new IllegalArgumentException("model arrays differ in length: firstKeys=" + count);
        }
        this.firstKeys = firstKeys;
        this.slopes = slopes;
        this.intercepts = intercepts;
        this.firstRanks = firstRanks;
        this.lastRanks = lastRanks;
        this.epsilons = epsilons;
        this.searchKeys = new long[count];
        for (int i = 0; i < count; i++) {
            // The record's constructor checks each model's own fields.
            LinearModel model = model(i);
            long expectedFirstRank = i == 0 ? 0 : lastRanks[i - 1] + 1;
            if (model.firstRank() != expectedFirstRank) {
                throw new IllegalArgumentException("model ranks must be contiguous from 0: modelIndex=" + i
                    + " firstRank=" + model.firstRank() + " expected=" + expectedFirstRank);
            }
            if (i > 0 && Long.compareUnsigned(firstKeys[i - 1], firstKeys[i]) >= 0) {
                throw new IllegalArgumentException("model first keys must be strictly increasing (unsigned):"
                    + " modelIndex=" + i + " firstKey=" + UnsignedKeys.toString(firstKeys[i])
                    + " previousFirstKey=" + UnsignedKeys.toString(firstKeys[i - 1]));
            }
            searchKeys[i] = firstKeys[i] ^ Long.MIN_VALUE;
        }
    }

    /** A model set of the given models, in key order, covering ranks from 0 with no gap. */
    public static LearnedModels of(List<LinearModel> models) {
        int count = models.size();
        long[] firstKeys = new long[count];
        double[] slopes = new double[count];
        double[] intercepts = new double[count];
        long[] firstRanks = new long[count];
        long[] lastRanks = new long[count];
        int[] epsilons = new int[count];
        for (int i = 0; i < count; i++) {
            LinearModel model = models.get(i);
            firstKeys[i] = model.firstKey();
            slopes[i] = model.slope();
            intercepts[i] = model.intercept();
            firstRanks[i] = model.firstRank();
            lastRanks[i] = model.lastRank();
            epsilons[i] = model.epsilon();
        }
        return new LearnedModels(firstKeys, slopes, intercepts, firstRanks, lastRanks, epsilons);
    }

    /** Largest leaf-slot count {@link #forEmptyIndex} takes: keeps the slope and every rank exact in a double. */
    public static final long MAX_EMPTY_INDEX_RANKS = 1L << 52;

    /**
     * The model of an index that starts empty: one model over the whole unsigned key space with epsilon 0, mapping
     * key {@code k} to rank {@code ~ k * leafCount * leafCapacity / 2^64}, so to leaf {@code ~ k * leafCount / 2^64}
     * (exactly one leaf per key; boundaries may differ by one rank from the exact quotient where it is an integer).
     *
     * @param leafCount    leaves to spread the key space over, {@code >= 1}
     * @param leafCapacity keys per leaf, the same value later passed to {@link #leafRange(long, int)}
     */
    public static LearnedModels forEmptyIndex(long leafCount, int leafCapacity) {
        LinearModel.requireLeafCapacity(leafCapacity);
        if (leafCount < 1 || leafCount > MAX_EMPTY_INDEX_RANKS / leafCapacity) {
            throw new IllegalArgumentException("leafCount=" + leafCount + " leafCapacity=" + leafCapacity
                + " must satisfy leafCount >= 1 and leafCount * leafCapacity <= " + MAX_EMPTY_INDEX_RANKS);
        }
        long ranks = leafCount * leafCapacity;
        // Intercept -0.5 turns the rounding of the prediction into (almost) the floor of k * ranks / 2^64.
        LinearModel whole = new LinearModel(0L, ranks / UnsignedKeys.TWO_TO_THE_64, -0.5, 0L, ranks - 1, 0);
        return of(List.of(whole));
    }

    public int modelCount() {
        return firstKeys.length;
    }

    /** Ranks covered: the number of training keys (or leaf slots, for an empty-index model). */
    public long rankCount() {
        return lastRanks[lastRanks.length - 1] + 1;
    }

    public LinearModel model(int modelIndex) {
        return new LinearModel(firstKeys[modelIndex], slopes[modelIndex], intercepts[modelIndex],
            firstRanks[modelIndex], lastRanks[modelIndex], epsilons[modelIndex]);
    }

    public List<LinearModel> models() {
        List<LinearModel> models = new ArrayList<>(firstKeys.length);
        for (int i = 0; i < firstKeys.length; i++) {
            models.add(model(i));
        }
        return Collections.unmodifiableList(models);
    }

    /**
     * The upper level: the model that owns {@code key}, the last model whose first key is at or below it (unsigned),
     * or model 0 for keys below every first key.
     */
    public int modelIndexFor(long key) {
        // Branch-free search (the conditional compiles to a conditional move): the answer stays in
        // [base, base + length), and a lookup of a random key costs no mispredicted branches.
        long target = key ^ Long.MIN_VALUE;
        long[] keys = searchKeys;
        int base = 0;
        int length = keys.length;
        while (length > 1) {
            int half = length >>> 1;
            base = keys[base + half] <= target ? base + half : base;
            length -= half;
        }
        return base;
    }

    /** The predicted rank of {@code key}; monotone non-decreasing in the key. */
    public long predictRank(long key) {
        return predictRank(modelIndexFor(key), key);
    }

    /** The model, predicted rank and the ranks that hold {@code key} if it was a training key. */
    public RankPrediction predict(long key) {
        int modelIndex = modelIndexFor(key);
        long rank = predictRank(modelIndex, key);
        return new RankPrediction(modelIndex, rank,
            Math.max(firstRanks[modelIndex], rank - epsilons[modelIndex]),
            Math.min(lastRanks[modelIndex], rank + epsilons[modelIndex]));
    }

    /**
     * The leaves of its model that hold {@code key} if it was a training key, when the training keys were packed
     * {@code leafCapacity} to a leaf per model: {@code (lowRank - firstRank) / leafCapacity .. (highRank - firstRank)
     * / leafCapacity}. This is the set of leaves a lookup reads (with their synonym leaves); an insert of a new key
     * goes into one of them (see the class comment).
     *
     * @param leafCapacity keys per leaf at training (the fill used when loading, if the loader leaves free slots)
     */
    public LeafRange leafRange(long key, int leafCapacity) {
        LinearModel.requireLeafCapacity(leafCapacity);
        int modelIndex = modelIndexFor(key);
        long rank = predictRank(modelIndex, key);
        long firstRank = firstRanks[modelIndex];
        long lowRank = Math.max(firstRank, rank - epsilons[modelIndex]);
        long highRank = Math.min(lastRanks[modelIndex], rank + epsilons[modelIndex]);
        return new LeafRange(modelIndex, (lowRank - firstRank) / leafCapacity, (highRank - firstRank) / leafCapacity);
    }

    /** Leaves model {@code modelIndex} fills at training: {@code ceil(rankCount / leafCapacity)}. */
    public long leafCount(int modelIndex, int leafCapacity) {
        LinearModel.requireLeafCapacity(leafCapacity);
        long ranks = lastRanks[modelIndex] - firstRanks[modelIndex] + 1;
        return (ranks + leafCapacity - 1) / leafCapacity;
    }

    /** The first key of model {@code modelIndex}. */
    public long firstKey(int modelIndex) {
        return firstKeys[modelIndex];
    }

    private long predictRank(int modelIndex, long key) {
        return LinearModel.predictRank(firstKeys[modelIndex], slopes[modelIndex], intercepts[modelIndex],
            firstRanks[modelIndex], lastRanks[modelIndex], key);
    }

    // Package access for the descriptor, which writes the arrays without building records.
    long[] firstKeys() {
        return firstKeys;
    }

    double[] slopes() {
        return slopes;
    }

    double[] intercepts() {
        return intercepts;
    }

    long[] firstRanks() {
        return firstRanks;
    }

    long[] lastRanks() {
        return lastRanks;
    }

    int[] epsilons() {
        return epsilons;
    }

    @Override
    public boolean equals(Object other) {
        if (this == other) {
            return true;
        }
        if (!(other instanceof LearnedModels that)) {
            return false;
        }
        return Arrays.equals(firstKeys, that.firstKeys) && Arrays.equals(slopes, that.slopes)
            && Arrays.equals(intercepts, that.intercepts) && Arrays.equals(firstRanks, that.firstRanks)
            && Arrays.equals(lastRanks, that.lastRanks) && Arrays.equals(epsilons, that.epsilons);
    }

    @Override
    public int hashCode() {
        int result = Arrays.hashCode(firstKeys);
        result = 31 * result + Arrays.hashCode(slopes);
        result = 31 * result + Arrays.hashCode(intercepts);
        return 31 * result + Arrays.hashCode(lastRanks);
    }

    @Override
    public String toString() {
        return "LearnedModels[modelCount=" + modelCount() + " rankCount=" + rankCount() + "]";
    }
}
