package io.rolexkv.bench.ycsb;

import io.rolexkv.bench.system.RolexEngineConfigs;

import java.util.Properties;

/**
 * The YCSB properties this project adds, and how they map onto YCSB's own. All validated here, with messages that
 * name the property.
 *
 * <ul>
 *   <li>{@value #VALUE_SIZE_PROP_NAME}: a record of one field of exactly this many bytes; the value stored per key is
 *       those bytes and nothing else (see {@link YcsbRecordCodec}). Sets YCSB's {@code fieldcount=1},
 *       {@code fieldlength=N} and {@code fieldlengthdistribution=constant}; giving any of those a different value
 *       as well is an error.</li>
 * </ul>
 *
 * <p>When YCSB's own {@code site.ycsb.Client} runs the binding (no engine installed in {@link YcsbEngineRegistry}),
 * the binding opens a {@code rolex} engine itself ({@link StandaloneEngine}) from these:
 *
 * <ul>
 *   <li>{@value #MEMORY_NODES_PROP_NAME}: {@code host:port,...} of running memory nodes, in key order (an even split
 *       of the key space); required unless {@value #CONFIG_PROP_NAME} is given.</li>
 *   <li>{@value #FABRIC_PROP_NAME}: the transport to them, {@code tcp} (default) or {@code rdma}.</li>
 *   <li>{@value #ROOM_WAIT_MS_PROP_NAME}: how long a write into a model whose synonym table is full waits for the
 *       memory node's retrainer (default {@value RolexEngineConfigs#ROOM_WAIT_MILLIS_DEFAULT}).</li>
 *   <li>{@value #CONFIG_PROP_NAME}: instead of the three above, a JSON file holding the engine object exactly as the
 *       compute node reads it ({@code engine_type}, {@code transport}, {@code memory_nodes}, ...).</li>
 * </ul>
 */
public final class RolexKvYcsbProperties {
    public static final String VALUE_SIZE_PROP_NAME = "rolexkv.value_size";
    public static final String MEMORY_NODES_PROP_NAME = "rolexkv.memory_nodes";
    public static final String FABRIC_PROP_NAME = "rolexkv.fabric";
    public static final String FABRIC_DEFAULT = "tcp";
    public static final String ROOM_WAIT_MS_PROP_NAME = "rolexkv.index_room_wait_ms";
    public static final String CONFIG_PROP_NAME = "rolexkv.config";

    /** YCSB's names for the field shape, and their defaults in 0.17.0. */
    public static final String FIELD_LENGTH_PROP_NAME = "fieldlength";
    public static final int FIELD_LENGTH_DEFAULT = 100;
    public static final String FIELD_LENGTH_DISTRIBUTION_PROP_NAME = "fieldlengthdistribution";
    public static final String FIELD_LENGTH_DISTRIBUTION_DEFAULT = "constant";

    private RolexKvYcsbProperties() {
    }

    /**
     * Applies {@value #VALUE_SIZE_PROP_NAME}, if set, to YCSB's field properties in {@code properties}.
     *
     * @param explicit the properties the user gave one by one (which must not contradict the value size); the
     *                 workload file's field shape is simply replaced
     */
    public static void applyValueSize(Properties properties, Properties explicit) {
        String valueSize = properties.getProperty(VALUE_SIZE_PROP_NAME);
        if (valueSize == null) {
            return;
        }
        int bytes = valueSize(properties);
        refuseContradiction(explicit, YcsbRecordCodec.FIELD_COUNT_PROP_NAME, "1", bytes);
        refuseContradiction(explicit, FIELD_LENGTH_PROP_NAME, String.valueOf(bytes), bytes);
        refuseContradiction(explicit, FIELD_LENGTH_DISTRIBUTION_PROP_NAME, "constant", bytes);
        properties.setProperty(YcsbRecordCodec.FIELD_COUNT_PROP_NAME, "1");
        properties.setProperty(FIELD_LENGTH_PROP_NAME, String.valueOf(bytes));
        properties.setProperty(FIELD_LENGTH_DISTRIBUTION_PROP_NAME, "constant");
    }

    /**
     * Checks that YCSB's field properties match {@value #VALUE_SIZE_PROP_NAME} when it is set: what the binding does
     * in {@code init()}, so a run that bypassed {@link #applyValueSize} does not silently store other values.
     */
    public static void checkValueSize(Properties properties) {
        if (properties.getProperty(VALUE_SIZE_PROP_NAME) == null) {
            return;
        }
        int bytes = valueSize(properties);
        String fieldCount = properties.getProperty(YcsbRecordCodec.FIELD_COUNT_PROP_NAME,
                String.valueOf(YcsbRecordCodec.FIELD_COUNT_DEFAULT)).trim();
        String fieldLength = properties.getProperty(FIELD_LENGTH_PROP_NAME, String.valueOf(FIELD_LENGTH_DEFAULT)).trim();
        String distribution = properties.getProperty(FIELD_LENGTH_DISTRIBUTION_PROP_NAME,
                FIELD_LENGTH_DISTRIBUTION_DEFAULT).trim();
        if (!fieldCount.equals("1") || !fieldLength.equals(String.valueOf(bytes)) || !distribution.equals("constant")) {
            throw new IllegalArgumentException(VALUE_SIZE_PROP_NAME + "=" + bytes + " needs "
                    + YcsbRecordCodec.FIELD_COUNT_PROP_NAME + "=1 " + FIELD_LENGTH_PROP_NAME + "=" + bytes + " "
                    + FIELD_LENGTH_DISTRIBUTION_PROP_NAME + "=constant but found " + fieldCount + ", " + fieldLength
                    + ", " + distribution);
        }
    }

    /** The largest field YCSB will generate under {@code properties}. */
    public static int maxFieldBytes(Properties properties) {
        String distribution = properties.getProperty(FIELD_LENGTH_DISTRIBUTION_PROP_NAME,
                FIELD_LENGTH_DISTRIBUTION_DEFAULT).trim();
        if (distribution.equals("histogram")) {
            throw new IllegalArgumentException(FIELD_LENGTH_DISTRIBUTION_PROP_NAME + "=histogram is not supported:"
                    + " the harness must know the longest field; allowed=[constant, uniform, zipfian]");
        }
        String fieldLength = properties.getProperty(FIELD_LENGTH_PROP_NAME, String.valueOf(FIELD_LENGTH_DEFAULT)).trim();
        return intAtLeast(FIELD_LENGTH_PROP_NAME, fieldLength, 0);
    }

    private static int valueSize(Properties properties) {
        return intAtLeast(VALUE_SIZE_PROP_NAME, properties.getProperty(VALUE_SIZE_PROP_NAME).trim(), 1);
    }

    private static void refuseContradiction(Properties explicit, String name, String implied, int bytes) {
        String given = explicit.getProperty(name);
        if (given != null && !given.trim().equals(implied)) {
            throw new IllegalArgumentException(VALUE_SIZE_PROP_NAME + "=" + bytes + " sets " + name + "=" + implied
                    + " but " + name + "=" + given + " was also given");
        }
    }

    static int intAtLeast(String name, String value, int minimum) {
        try {
            int parsed = Integer.parseInt(value);
            if (parsed >= minimum) {
                return parsed;
            }
        } catch (NumberFormatException e) {
            // reported below with the allowed range
        }
        throw new IllegalArgumentException(name + "=" + value + " must be an integer >= " + minimum);
    }
}
