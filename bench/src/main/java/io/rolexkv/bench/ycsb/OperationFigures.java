package io.rolexkv.bench.ycsb;

/**
 * What one operation type did in one phase: the figures of the report's {@code operations_by_type}, plus the outcomes
 * for the text summary. Latencies are measured around the binding's call on the client thread, in nanoseconds, and
 * given here in microseconds with fractions; costs are per operation, averaged over all operations of the type.
 *
 * @param operation          YCSB's name for the type, e.g. {@code READ-MODIFY-WRITE}
 * @param count              operations of this type, whatever their outcome
 * @param notFound           of them, those that answered NOT_FOUND
 * @param errors             of them, those that answered ERROR
 * @param p50Micros          median latency
 * @param p99Micros          99th percentile latency
 * @param roundTripsPerOp    doorbells (network round trips) per operation
 * @param verbsPerOp         one-sided verbs per operation
 * @param bytesReadPerOp     bytes read from memory nodes per operation
 * @param bytesWrittenPerOp  bytes written to memory nodes per operation
 */
public record OperationFigures(String operation, long count, long notFound, long errors, double p50Micros,
                               double p99Micros, double roundTripsPerOp, double verbsPerOp, double bytesReadPerOp,
                               double bytesWrittenPerOp) {
}
