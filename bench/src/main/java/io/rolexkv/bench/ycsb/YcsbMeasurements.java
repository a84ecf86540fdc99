package io.rolexkv.bench.ycsb;

import site.ycsb.measurements.Measurements;
import site.ycsb.measurements.exporter.MeasurementsExporter;
import site.ycsb.measurements.exporter.TextMeasurementsExporter;

import java.io.FilterOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.lang.reflect.Field;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Properties;

/**
 * YCSB's own measurements ({@link Measurements}) across the phases of one process, and its summary.
 *
 * <p>YCSB keeps its measurements in a process-wide singleton that nothing public resets, because YCSB runs each phase
 * in a process of its own. The harness runs load and run in one process, so {@link #startPhase} clears the singleton
 * by reflection before each phase (YCSB 0.17.0's private static field {@code singleton}); otherwise the run phase's
 * summary would count the load phase's inserts too. If a YCSB version lacks that field, the harness refuses to start
 * rather than print mixed figures.
 *
 * <p>{@link #exportPhase} prints YCSB's summary exactly as YCSB's {@code Client} does ({@code [OVERALL], RunTime(ms)},
 * {@code Throughput(ops/sec)}, then each measurement) and returns YCSB's status counts
 * ({@code [READ], Return=OK, 500}), from which the harness takes the failed operations.
 */
final class YcsbMeasurements {
    private static final String SINGLETON_FIELD = "singleton";
    private static final String RETURN_PREFIX = "Return=";

    private YcsbMeasurements() {
    }

    /** Gives the coming phase a fresh YCSB measurements singleton configured from {@code properties}. */
    static void startPhase(Properties properties) {
        try {
            Field singleton = Measurements.class.getDeclaredField(SINGLETON_FIELD);
            singleton.setAccessible(true);
            synchronized (Measurements.class) {
                singleton.set(null, null);
                Measurements.setProperties(properties);
            }
        } catch (ReflectiveOperationException | RuntimeException e) {
            throw new IllegalStateException("cannot reset YCSB's measurements between phases (field "
                    + Measurements.class.getName() + "." + SINGLETON_FIELD + "); this harness needs YCSB 0.17.0", e);
        }
    }

    /**
     * Writes YCSB's summary of the phase that just ended to {@code out} (left open) and returns YCSB's status counts:
     * measurement name ({@code READ}, {@code VERIFY}, ...) to status name ({@code OK}, {@code NOT_FOUND}, ...) to count.
     */
    static Map<String, Map<String, Long>> exportPhase(OutputStream out, long operations, long runtimeMillis) {
        Map<String, Map<String, Long>> statusCounts = new LinkedHashMap<>();
        OutputStream keptOpen = new FilterOutputStream(out) {
            @Override
            public void write(byte[] bytes, int offset, int length) throws IOException {
                out.write(bytes, offset, length);
            }

            @Override
            public void close() throws IOException {
                flush();
            }
        };
        try (MeasurementsExporter exporter = new StatusCapturingExporter(new TextMeasurementsExporter(keptOpen),
                statusCounts)) {
            exporter.write("OVERALL", "RunTime(ms)", runtimeMillis);
            exporter.write("OVERALL", "Throughput(ops/sec)", runtimeMillis == 0 ? 0.0 : 1000.0 * operations / runtimeMillis);
            Measurements.getMeasurements().exportMeasurements(exporter);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot write YCSB's summary", e);
        }
        return statusCounts;
    }

    /** Passes everything on to YCSB's text exporter and keeps the {@code Return=} counts. */
    private static final class StatusCapturingExporter implements MeasurementsExporter {
        private final MeasurementsExporter delegate;
        private final Map<String, Map<String, Long>> statusCounts;

        StatusCapturingExporter(MeasurementsExporter delegate, Map<String, Map<String, Long>> statusCounts) {
            this.delegate = delegate;
            this.statusCounts = statusCounts;
        }

        @Override
        public void write(String metric, String measurement, int value) throws IOException {
            capture(metric, measurement, value);
            delegate.write(metric, measurement, value);
        }

        @Override
        public void write(String metric, String measurement, long value) throws IOException {
            capture(metric, measurement, value);
            delegate.write(metric, measurement, value);
        }

        @Override
        public void write(String metric, String measurement, double value) throws IOException {
            delegate.write(metric, measurement, value);
        }

        @Override
        public void close() throws IOException {
            delegate.close();
        }

        private void capture(String metric, String measurement, long value) {
            if (measurement.startsWith(RETURN_PREFIX)) {
                statusCounts.computeIfAbsent(metric, name -> new LinkedHashMap<>())
                        .merge(measurement.substring(RETURN_PREFIX.length()), value, Long::sum);
            }
        }
    }
}
