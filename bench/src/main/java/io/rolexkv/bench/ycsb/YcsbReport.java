package io.rolexkv.bench.ycsb;

import com.fasterxml.jackson.annotation.JsonIgnore;
import com.fasterxml.jackson.annotation.JsonProperty;
import com.fasterxml.jackson.annotation.JsonPropertyOrder;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.ToDoubleFunction;

/**
 * The report of one YCSB run, as {@code --report FILE} writes it: one JSON object with exactly these fields. It
 * describes the run phase (the load phase for the load-only workload). {@code model_cache_bytes} and {@code retrains}
 * are null for systems that have no such thing (the in-process engine has none); they are the system's totals when the
 * phase ended. The two CPU figures cover the reported phase only, so that divided by {@code operations} they are CPU
 * per operation: {@code client_cpu_seconds} is the whole client process (YCSB's threads and the engine, plus memory
 * nodes when they are embedded in it), {@code memory_node_cpu_seconds} the system's own memory-node (or rpc server)
 * processes, null when it has none.
 *
 * @param system               {@code rolex}, {@code btree}, {@code rpc}, {@code in_process}
 * @param fabric               the transport, or {@code none}
 * @param workload             the workload's name ({@code a} .. {@code f}, {@code load}) or file
 * @param records              records loaded ({@code recordcount})
 * @param operations           operations completed in the reported phase
 * @param threads              YCSB client threads
 * @param valueSize            bytes of field data per record
 * @param throughput           operations per second in the reported phase
 * @param failedOperations     operations that did not answer OK, plus data integrity failures, as YCSB counted them
 * @param modelCacheBytes      model state cached on the compute node
 * @param retrains             retrains completed
 * @param clientCpuSeconds     CPU the client process used in the phase
 * @param memoryNodeCpuSeconds CPU the memory-node processes used in the phase
 * @param operationsByType     per YCSB operation name
 * @param memoryNodes          per memory node in key order, for systems that split keys over memory nodes (empty for
 *                             others): its records when the phase ended and the client's traffic to it in the phase
 */
@JsonPropertyOrder({"system", "fabric", "workload", "records", "operations", "threads", "value_size",
        "throughput_ops_per_s", "failed_operations", "model_cache_bytes", "retrains", "client_cpu_seconds",
        "memory_node_cpu_seconds",
        "operations_by_type", "memory_nodes"})
public record YcsbReport(
        @JsonProperty("system") String system,
        @JsonProperty("fabric") String fabric,
        @JsonProperty("workload") String workload,
        @JsonProperty("records") long records,
        @JsonProperty("operations") long operations,
        @JsonProperty("threads") int threads,
        @JsonProperty("value_size") long valueSize,
        @JsonProperty("throughput_ops_per_s") double throughput,
        @JsonProperty("failed_operations") long failedOperations,
        @JsonProperty("model_cache_bytes") Long modelCacheBytes,
        @JsonProperty("retrains") Long retrains,
        @JsonProperty("client_cpu_seconds") double clientCpuSeconds,
        @JsonProperty("memory_node_cpu_seconds") Double memoryNodeCpuSeconds,
        @JsonProperty("operations_by_type") Map<String, OperationReport> operationsByType,
        @JsonProperty("memory_nodes") List<MemoryNodeReport> memoryNodes) {

    private static final ObjectMapper JSON = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);

    public YcsbReport {
        operationsByType = Collections.unmodifiableMap(new LinkedHashMap<>(operationsByType));
        memoryNodes = memoryNodes == null ? List.of() : List.copyOf(memoryNodes);
    }

    /**
     * One memory node in the report.
     *
     * @param endpoint     where the client reached it
     * @param records      records in its key range when the phase ended
     * @param roundTrips   doorbells the client posted to it in the phase
     * @param bytesRead    bytes the client read from it in the phase
     * @param bytesWritten bytes the client wrote to it in the phase
     */
    @JsonPropertyOrder({"endpoint", "records", "round_trips", "bytes_read", "bytes_written"})
    public record MemoryNodeReport(
            @JsonProperty("endpoint") String endpoint,
            @JsonProperty("records") long records,
            @JsonProperty("round_trips") long roundTrips,
            @JsonProperty("bytes_read") long bytesRead,
            @JsonProperty("bytes_written") long bytesWritten) {
    }

    /**
     * One operation type's figures in the report.
     *
     * @param count              operations of the type
     * @param p50Micros          median latency, microseconds
     * @param p99Micros          99th percentile latency, microseconds
     * @param roundTripsPerOp    doorbells per operation
     * @param bytesReadPerOp     bytes read from memory nodes per operation
     * @param bytesWrittenPerOp  bytes written to memory nodes per operation
     */
    @JsonPropertyOrder({"count", "p50_us", "p99_us", "round_trips_per_op", "bytes_read_per_op", "bytes_written_per_op"})
    public record OperationReport(
            @JsonProperty("count") long count,
            @JsonProperty("p50_us") double p50Micros,
            @JsonProperty("p99_us") double p99Micros,
            @JsonProperty("round_trips_per_op") double roundTripsPerOp,
            @JsonProperty("bytes_read_per_op") double bytesReadPerOp,
            @JsonProperty("bytes_written_per_op") double bytesWrittenPerOp) {

        static OperationReport of(OperationFigures figures) {
            return new OperationReport(figures.count(), figures.p50Micros(), figures.p99Micros(),
                    figures.roundTripsPerOp(), figures.bytesReadPerOp(), figures.bytesWrittenPerOp());
        }
    }

    /** This report as indented JSON. */
    public String toJson() {
        try {
            return JSON.writeValueAsString(this);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot write the YCSB report as JSON", e);
        }
    }

    /**
     * Reads a report {@link #write} wrote.
     *
     * @throws UncheckedIOException if the file cannot be read or is not such a report (naming the file)
     */
    public static YcsbReport read(Path file) {
        try {
            return JSON.readValue(file.toFile(), YcsbReport.class);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read a YCSB report from " + file + ": " + e.getMessage(), e);
        }
    }

    /**
     * Round trips per operation over every operation type of the phase, weighted by how many of each ran; zero when
     * none ran.
     */
    @JsonIgnore
    public double roundTripsPerOp() {
        return weightedPerOp(OperationReport::roundTripsPerOp);
    }

    /** Bytes read from memory nodes per operation, over every operation type, weighted by count. */
    @JsonIgnore
    public double bytesReadPerOp() {
        return weightedPerOp(OperationReport::bytesReadPerOp);
    }

    /** Bytes written to memory nodes per operation, over every operation type, weighted by count. */
    @JsonIgnore
    public double bytesWrittenPerOp() {
        return weightedPerOp(OperationReport::bytesWrittenPerOp);
    }

    private double weightedPerOp(ToDoubleFunction<OperationReport> perOp) {
        long count = 0;
        double total = 0;
        for (OperationReport operation : operationsByType.values()) {
            count += operation.count();
            total += perOp.applyAsDouble(operation) * operation.count();
        }
        return count == 0 ? 0 : total / count;
    }

    /** Writes {@link #toJson()} to {@code file}, replacing it. */
    public void write(Path file) {
        try {
            Path parent = file.toAbsolutePath().getParent();
            if (parent != null) {
                Files.createDirectories(parent);
            }
            Files.writeString(file, toJson() + System.lineSeparator());
        } catch (IOException e) {
            throw new UncheckedIOException("cannot write the YCSB report to " + file, e);
        }
    }
}
