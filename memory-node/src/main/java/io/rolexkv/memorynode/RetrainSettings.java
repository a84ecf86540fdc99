package io.rolexkv.memorynode;

import com.fasterxml.jackson.databind.node.ObjectNode;
import io.rolexkv.common.config.ConfigNode;
import io.rolexkv.rolex.index.LeanRetrainer;
import io.rolexkv.rolex.layout.TablesDescriptor;

/**
 * How the memory node compacts and retrains ROLEX models in the background ({@code memory_node.retrain}).
 *
 * @param threads            background threads retraining; 0 turns retraining off. One thread is the most a
 *                           memory node's weak CPU should give, and the retrainer is single-threaded by design
 * @param minDeltaLeaves     never compact a model for this many delta leaves or fewer (unless half its SLT is used)
 * @param deltaLeafFraction  compact a model once its delta leaves also exceed this fraction of its groups
 * @param pollIntervalMillis how often an idle retrainer checks the synonym tables' fill
 * @see LeanRetrainer.Policy
 */
public record RetrainSettings(int threads, int minDeltaLeaves, double deltaLeafFraction, int pollIntervalMillis) {
    public static final String SECTION_NAME = "retrain";
    public static final String THREADS_PROP_NAME = "threads";
    public static final int THREADS_DEFAULT = 1;
    public static final int THREADS_MAX = 1;
    public static final String MIN_DELTA_LEAVES_PROP_NAME = "min_delta_leaves";
    public static final int MIN_DELTA_LEAVES_DEFAULT = LeanRetrainer.Policy.DEFAULT.minDeltaLeaves();
    public static final int MIN_DELTA_LEAVES_MAX = TablesDescriptor.USABLE_SYNONYM_SLOTS / 2 - 1;
    public static final String DELTA_LEAF_FRACTION_PROP_NAME = "delta_leaf_fraction";
    public static final double DELTA_LEAF_FRACTION_DEFAULT = LeanRetrainer.Policy.DEFAULT.deltaLeafFraction();
    public static final String POLL_INTERVAL_MS_PROP_NAME = "poll_interval_ms";
    public static final int POLL_INTERVAL_MS_DEFAULT = 5;

    public static final RetrainSettings DEFAULT = new RetrainSettings(THREADS_DEFAULT, MIN_DELTA_LEAVES_DEFAULT,
            DELTA_LEAF_FRACTION_DEFAULT, POLL_INTERVAL_MS_DEFAULT);

    /** Reads the optional {@value #SECTION_NAME} object of a memory node section. */
    static RetrainSettings from(ConfigNode memoryNodeSection) {
        if (!memoryNodeSection.has(SECTION_NAME)) {
            return DEFAULT;
        }
        ConfigNode section = memoryNodeSection.object(SECTION_NAME);
        int threads = section.optionalInt(THREADS_PROP_NAME, THREADS_DEFAULT, 0, THREADS_MAX);
        int minDeltaLeaves = section.optionalInt(MIN_DELTA_LEAVES_PROP_NAME, MIN_DELTA_LEAVES_DEFAULT, 0, MIN_DELTA_LEAVES_MAX);
        double fraction = section.optionalDouble(DELTA_LEAF_FRACTION_PROP_NAME, DELTA_LEAF_FRACTION_DEFAULT, 0, 1);
        if (!(fraction > 0)) {
            throw section.error(DELTA_LEAF_FRACTION_PROP_NAME, "must be above 0", "found=" + fraction + " allowed=(0,1]");
        }
        int poll = section.optionalInt(POLL_INTERVAL_MS_PROP_NAME, POLL_INTERVAL_MS_DEFAULT, 1, 60_000);
        section.rejectUnknownFields();
        return new RetrainSettings(threads, minDeltaLeaves, fraction, poll);
    }

    /** The retrainer's policy these settings describe; how much one pass does stays the retrainer's own. */
    LeanRetrainer.Policy policy() {
        LeanRetrainer.Policy defaults = LeanRetrainer.Policy.DEFAULT;
        return new LeanRetrainer.Policy(minDeltaLeaves, deltaLeafFraction, defaults.minModelKeys(),
                defaults.maxModelKeys(), defaults.maxKeysPerPass());
    }

    ObjectNode toJson() {
        ObjectNode json = ConfigNode.newObject();
        json.put(THREADS_PROP_NAME, threads);
        json.put(MIN_DELTA_LEAVES_PROP_NAME, minDeltaLeaves);
        json.put(DELTA_LEAF_FRACTION_PROP_NAME, deltaLeafFraction);
        json.put(POLL_INTERVAL_MS_PROP_NAME, pollIntervalMillis);
        return json;
    }
}
