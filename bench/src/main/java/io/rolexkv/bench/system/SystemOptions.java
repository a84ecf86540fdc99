package io.rolexkv.bench.system;

import java.util.List;

/**
 * What a benchmark asks of the system it opens.
 *
 * @param system        {@code rolex}, {@code btree}, {@code rpc} or {@code in_process}
 * @param fabric        the transport for systems with memory nodes: {@code loopback} or {@code tcp}
 * @param memoryNodes   {@code host:port} of running memory nodes to connect to; empty to start embedded ones
 * @param maxValueBytes the largest value the benchmark will store; the engine must accept values this long
 * @param clientThreads how many threads will call the engine at once (for sizing connection pools)
 * @param expectedRecords how many records the benchmark will store at most (for sizing embedded memory nodes)
 */
public record SystemOptions(String system, String fabric, List<String> memoryNodes, int maxValueBytes,
                            int clientThreads, long expectedRecords) {
    public SystemOptions {
        memoryNodes = List.copyOf(memoryNodes);
        if (maxValueBytes < 0) {
            throw new IllegalArgumentException("max_value_bytes=" + maxValueBytes + " must be >= 0");
        }
        if (expectedRecords < 0) {
            throw new IllegalArgumentException("expected_records=" + expectedRecords + " must be >= 0");
        }
        if (clientThreads < 1) {
            throw new IllegalArgumentException("client_threads=" + clientThreads + " must be >= 1");
        }
    }
}
