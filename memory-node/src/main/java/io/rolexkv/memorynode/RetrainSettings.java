package io.rolexkv.memorynode;

import com.fasterxml.jackson.databind.node.ObjectNode;
import io.rolexkv.common.config.ConfigNode;
import io.rolexkv.rolex.index.Retrainer;
import io.rolexkv.rolex.layout.TablesDescriptor;

/**
 * How the memory node retrains ROLEX models in the background ({@code memory_node.retrain}).
 *
 * @param threads            background threads retraining; 0 turns retraining off. One thread is the most a
 *                           memory node's weak CPU should give, and the retrainer is single-threaded by design
 * @param freeSlots           retrain a model when this many or fewer of its synonym slots are free, whatever its size
 * @param minSynonymLeaves    never retrain a model for this many synonym leaves or fewer; the last model (which takes
 *                            appends past the largest key) is retrained as soon as it has more
 * @param synonymLeafFraction retrain a model once its synonym leaves exceed this fraction of its leaves
 * @param pollIntervalMillis  how often an idle retrainer checks the synonym tables' fill
 * @see Retrainer.Policy
 */
public record RetrainSettings(int threads, int freeSlots, int minSynonymLeaves, double synonymLeafFraction,
                              int pollIntervalMillis) {
    public static final String SECTION_NAME = "retrain";
    public static final String THREADS_PROP_NAME = "threads";
    public static final int THREADS_DEFAULT = 1;
    public static final int THREADS_MAX = 1;
    public static final String FREE_SLOTS_PROP_NAME = "free_slots";
    public static final int FREE_SLOTS_DEFAULT = Retrainer.Policy.FREE_SLOTS_DEFAULT;
    public static final String MIN_SYNONYM_LEAVES_PROP_NAME = "min_synonym_leaves";
    public static final int MIN_SYNONYM_LEAVES_DEFAULT = Retrainer.Policy.MIN_SYNONYM_LEAVES_DEFAULT;
    public static final String SYNONYM_LEAF_FRACTION_PROP_NAME = "synonym_leaf_fraction";
    public static final double SYNONYM_LEAF_FRACTION_DEFAULT = Retrainer.Policy.SYNONYM_LEAF_FRACTION_DEFAULT;
    public static final String POLL_INTERVAL_MS_PROP_NAME = "poll_interval_ms";
    public static final int POLL_INTERVAL_MS_DEFAULT = 5;

    public static final RetrainSettings DEFAULT = new RetrainSettings(THREADS_DEFAULT, FREE_SLOTS_DEFAULT,
            MIN_SYNONYM_LEAVES_DEFAULT, SYNONYM_LEAF_FRACTION_DEFAULT, POLL_INTERVAL_MS_DEFAULT);

    /** Reads the optional {@value #SECTION_NAME} object of a memory node section. */
    static RetrainSettings from(ConfigNode memoryNodeSection) {
        if (!memoryNodeSection.has(SECTION_NAME)) {
            return DEFAULT;
        }
        ConfigNode section = memoryNodeSection.object(SECTION_NAME);
        RetrainSettings settings = new RetrainSettings(
                section.optionalInt(THREADS_PROP_NAME, THREADS_DEFAULT, 0, THREADS_MAX),
                section.optionalInt(FREE_SLOTS_PROP_NAME, FREE_SLOTS_DEFAULT, 0, TablesDescriptor.USABLE_SYNONYM_SLOTS - 1),
                section.optionalInt(MIN_SYNONYM_LEAVES_PROP_NAME, MIN_SYNONYM_LEAVES_DEFAULT, 0,
                        TablesDescriptor.USABLE_SYNONYM_SLOTS - 1),
                section.optionalDouble(SYNONYM_LEAF_FRACTION_PROP_NAME, SYNONYM_LEAF_FRACTION_DEFAULT, 0, 1),
                section.optionalInt(POLL_INTERVAL_MS_PROP_NAME, POLL_INTERVAL_MS_DEFAULT, 1, 60_000));
        section.rejectUnknownFields();
        return settings;
    }

    /** The retrainer's policy these settings describe. */
    Retrainer.Policy policy() {
        return new Retrainer.Policy(freeSlots, minSynonymLeaves, synonymLeafFraction);
    }

    ObjectNode toJson() {
        ObjectNode json = ConfigNode.newObject();
        json.put(THREADS_PROP_NAME, threads);
        json.put(FREE_SLOTS_PROP_NAME, freeSlots);
        json.put(MIN_SYNONYM_LEAVES_PROP_NAME, minSynonymLeaves);
        json.put(SYNONYM_LEAF_FRACTION_PROP_NAME, synonymLeafFraction);
        json.put(POLL_INTERVAL_MS_PROP_NAME, pollIntervalMillis);
        return json;
    }
}
