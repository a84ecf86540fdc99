package io.rolexkv.bench.ycsb;

import site.ycsb.Client;
import site.ycsb.workloads.CoreWorkload;

import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Objects;
import java.util.Properties;

/**
 * One YCSB run, resolved and checked: the workload, the final YCSB properties, and how the harness runs the phases.
 * Built with {@link #builder()}; every check happens in {@link Builder#build()}, so a bad setting fails before any
 * system starts, with a message naming it.
 *
 * <p>Properties are layered as YCSB layers them: the workload file, then the harness's options ({@code recordcount},
 * {@code operationcount}, {@code threadcount}, {@value RolexKvYcsbProperties#VALUE_SIZE_PROP_NAME}), then every
 * {@code -p NAME=VALUE}, which wins. The settings YCSB 0.17.0 would answer with {@code System.exit} (data integrity
 * with variable field lengths, an insert range beyond the record count) are refused here instead.
 *
 * @param workload         the workload's name or file path, as given
 * @param properties       the final YCSB properties (a private copy)
 * @param bulkLoad         load the records with one {@code bulkLoad} instead of a put each
 * @param progressInterval how often a phase prints its progress line
 */
public record YcsbRunConfig(String workload, Properties properties, boolean bulkLoad, Duration progressInterval) {
    public static final int RECORDS_DEFAULT = 100_000;
    public static final int OPERATIONS_DEFAULT = 100_000;
    public static final int THREADS_DEFAULT = 2;
    public static final Duration PROGRESS_INTERVAL_DEFAULT = Duration.ofSeconds(5);

    static final String DATA_INTEGRITY_PROP_NAME = "dataintegrity";
    static final String INSERT_START_PROP_NAME = "insertstart";
    static final String MAX_EXECUTION_TIME_PROP_NAME = "maxexecutiontime";

    public YcsbRunConfig {
        Objects.requireNonNull(workload, "workload");
        properties = copy(properties);
        Objects.requireNonNull(progressInterval, "progressInterval");
    }

    @Override
    public Properties properties() {
        return copy(properties);
    }

    public static Builder builder() {
        return new Builder();
    }

    /** True for the load-only workload: no run phase, and the report describes the load. */
    public boolean loadOnly() {
        return YcsbWorkloads.isLoadOnly(workload);
    }

    public int records() {
        return Integer.parseInt(property(Client.RECORD_COUNT_PROPERTY));
    }

    public int operations() {
        return Integer.parseInt(property(Client.OPERATION_COUNT_PROPERTY));
    }

    public int threads() {
        return Integer.parseInt(property(Client.THREAD_COUNT_PROPERTY));
    }

    /** Inserts of the load phase: YCSB's {@code insertcount} if given, else every record. */
    public int loadOperations() {
        String insertCount = properties.getProperty(Client.INSERT_COUNT_PROPERTY);
        return insertCount == null ? records() : Integer.parseInt(insertCount.trim());
    }

    /** Bytes of field data per record: the value size for one-field records, field count times field length else. */
    public long valueSize() {
        return (long) YcsbRecordCodec.fromProperties(properties).fieldCount()
                * RolexKvYcsbProperties.maxFieldBytes(properties);
    }

    /** The longest value the binding will store: what the engine must accept. */
    public int maxValueBytes() {
        return YcsbRecordCodec.fromProperties(properties).maxValueBytes(RolexKvYcsbProperties.maxFieldBytes(properties));
    }

    private String property(String name) {
        return properties.getProperty(name).trim();
    }

    private static Properties copy(Properties source) {
        Properties copy = new Properties();
        copy.putAll(source);
        return copy;
    }

    /** Collects a run's settings; {@link #build()} resolves and checks them. */
    public static final class Builder {
        private String workload = "a";
        private int records = RECORDS_DEFAULT;
        private int operations = OPERATIONS_DEFAULT;
        private int threads = THREADS_DEFAULT;
        private Integer valueSize;
        private boolean bulkLoad;
        private Duration progressInterval = PROGRESS_INTERVAL_DEFAULT;
        private final Map<String, String> overrides = new LinkedHashMap<>();

        private Builder() {
        }

        /** One of {@link YcsbWorkloads#NAMES} or the path of a workload file. */
        public Builder workload(String nameOrPath) {
            this.workload = nameOrPath;
            return this;
        }

        public Builder records(int records) {
            this.records = records;
            return this;
        }

        public Builder operations(int operations) {
            this.operations = operations;
            return this;
        }

        public Builder threads(int threads) {
            this.threads = threads;
            return this;
        }

        /** One field of exactly {@code bytes} bytes per record, stored as the value itself; null for the workload's. */
        public Builder valueSize(Integer bytes) {
            this.valueSize = bytes;
            return this;
        }

        public Builder bulkLoad(boolean bulkLoad) {
            this.bulkLoad = bulkLoad;
            return this;
        }

        public Builder progressInterval(Duration interval) {
            this.progressInterval = interval;
            return this;
        }

        /** A YCSB property given on its own ({@code -p NAME=VALUE}); wins over the workload file and the options. */
        public Builder property(String name, String value) {
            overrides.put(name, value);
            return this;
        }

        public YcsbRunConfig build() {
            if (records < 1) {
                throw new IllegalArgumentException("records=" + records + " must be >= 1");
            }
            if (operations < 0) {
                throw new IllegalArgumentException("operations=" + operations + " must be >= 0");
            }
            if (threads < 1) {
                throw new IllegalArgumentException("threads=" + threads + " must be >= 1");
            }
            if (valueSize != null && valueSize < 1) {
                throw new IllegalArgumentException("value_size=" + valueSize + " must be >= 1");
            }
            if (progressInterval.isNegative() || progressInterval.isZero()) {
                throw new IllegalArgumentException("progress_interval=" + progressInterval + " must be positive");
            }
            Properties explicit = new Properties();
            explicit.putAll(overrides);
            String explicitValueSize = explicit.getProperty(RolexKvYcsbProperties.VALUE_SIZE_PROP_NAME);
            if (valueSize != null && explicitValueSize != null && !explicitValueSize.trim().equals(valueSize.toString())) {
                throw new IllegalArgumentException("value_size=" + valueSize + " contradicts "
                        + RolexKvYcsbProperties.VALUE_SIZE_PROP_NAME + "=" + explicitValueSize);
            }

            Properties properties = YcsbWorkloads.load(workload);
            properties.setProperty(Client.RECORD_COUNT_PROPERTY, String.valueOf(records));
            properties.setProperty(Client.OPERATION_COUNT_PROPERTY, String.valueOf(operations));
            properties.setProperty(Client.THREAD_COUNT_PROPERTY, String.valueOf(threads));
            if (valueSize != null) {
                properties.setProperty(RolexKvYcsbProperties.VALUE_SIZE_PROP_NAME, valueSize.toString());
            }
            properties.putAll(explicit);
            RolexKvYcsbProperties.applyValueSize(properties, explicit);
            check(properties);
            return new YcsbRunConfig(workload, properties, bulkLoad, progressInterval);
        }

        private static void check(Properties properties) {
            int records = intProperty(properties, Client.RECORD_COUNT_PROPERTY, 1);
            intProperty(properties, Client.OPERATION_COUNT_PROPERTY, 0);
            intProperty(properties, Client.THREAD_COUNT_PROPERTY, 1);
            long insertStart = Long.parseLong(properties.getProperty(INSERT_START_PROP_NAME, "0").trim());
            String insertCountText = properties.getProperty(Client.INSERT_COUNT_PROPERTY);
            long insertCount = insertCountText == null ? records - insertStart
                    : intProperty(properties, Client.INSERT_COUNT_PROPERTY, 0);
            if (insertStart < 0 || insertStart + insertCount > records) {
                throw new IllegalArgumentException(INSERT_START_PROP_NAME + "=" + insertStart + " "
                        + Client.INSERT_COUNT_PROPERTY + "=" + insertCount + " must lie within "
                        + Client.RECORD_COUNT_PROPERTY + "=" + records);
            }
            boolean dataIntegrity = Boolean.parseBoolean(properties.getProperty(DATA_INTEGRITY_PROP_NAME, "false").trim());
            String distribution = properties.getProperty(RolexKvYcsbProperties.FIELD_LENGTH_DISTRIBUTION_PROP_NAME,
                    RolexKvYcsbProperties.FIELD_LENGTH_DISTRIBUTION_DEFAULT).trim();
            if (dataIntegrity && !distribution.equals("constant")) {
                throw new IllegalArgumentException(DATA_INTEGRITY_PROP_NAME + "=true needs "
                        + RolexKvYcsbProperties.FIELD_LENGTH_DISTRIBUTION_PROP_NAME + "=constant, not " + distribution);
            }
            String maxExecutionTime = properties.getProperty(MAX_EXECUTION_TIME_PROP_NAME);
            if (maxExecutionTime != null) {
                intProperty(properties, MAX_EXECUTION_TIME_PROP_NAME, 0);
            }
            // Both codecs and the value bound must be constructible: fail now, not in every client thread.
            YcsbKeyCodec.fromProperties(properties);
            RolexKvYcsbProperties.checkValueSize(properties);
            YcsbRecordCodec.fromProperties(properties).maxValueBytes(RolexKvYcsbProperties.maxFieldBytes(properties));
            YcsbRunner.workloadClass(properties);
        }

        private static int intProperty(Properties properties, String name, int minimum) {
            return RolexKvYcsbProperties.intAtLeast(name, properties.getProperty(name, "").trim(), minimum);
        }
    }

    /** The workload class a stock YCSB would run for these properties. */
    static String configuredWorkloadClass(Properties properties) {
        return properties.getProperty(Client.WORKLOAD_PROPERTY, CoreWorkload.class.getName()).trim();
    }
}
