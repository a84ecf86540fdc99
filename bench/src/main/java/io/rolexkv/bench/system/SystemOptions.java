package io.rolexkv.bench.system;

import io.rolexkv.common.net.ClusterSecret;

import java.nio.file.Path;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;

/**
 * What a benchmark asks of the system it opens.
 *
 * @param system        {@code rolex}, {@code btree}, {@code rpc} or {@code in_process}
 * @param fabric        the transport for systems with memory nodes: {@code loopback} or {@code tcp}
 * @param memoryNodes   {@code host:port} of running memory nodes to connect to; empty to start embedded ones
 * @param maxValueBytes the largest value the benchmark will store; the engine must accept values this long
 * @param clientThreads how many threads will call the engine at once (for sizing connection pools)
 * @param expectedRecords how many records the benchmark will store at most (for sizing embedded memory nodes)
 * @param authSecretFile the cluster secret's file, given to the memory nodes or rpc server it starts and proved by its
 *                      clients; empty for none
 * @param engineSettings fields laid over the engine config of the one-sided systems ({@code rolex}, {@code btree}),
 *                      name to value as typed (see {@link RolexEngineConfigs#withSettings}): an index geometry to
 *                      measure, for example; empty for the defaults
 */
public record SystemOptions(String system, String fabric, List<String> memoryNodes, int maxValueBytes,
                            int clientThreads, long expectedRecords, Optional<Path> authSecretFile,
                            Map<String, String> engineSettings) {
    public SystemOptions(String system, String fabric, List<String> memoryNodes, int maxValueBytes, int clientThreads,
                         long expectedRecords) {
        this(system, fabric, memoryNodes, maxValueBytes, clientThreads, expectedRecords, Optional.empty());
    }

    public SystemOptions(String system, String fabric, List<String> memoryNodes, int maxValueBytes, int clientThreads,
                         long expectedRecords, Optional<Path> authSecretFile) {
        this(system, fabric, memoryNodes, maxValueBytes, clientThreads, expectedRecords, authSecretFile, Map.of());
    }

    public SystemOptions {
        Objects.requireNonNull(authSecretFile, "authSecretFile");
        memoryNodes = List.copyOf(memoryNodes);
        engineSettings = Collections.unmodifiableMap(new LinkedHashMap<>(engineSettings));
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

    /** The secret in {@link #authSecretFile()}, or empty. */
    public Optional<ClusterSecret> secret() {
        return authSecretFile.map(file -> ClusterSecret.fromFile(file, "--auth-secret-file"));
    }

    /** The command-line options that hand the secret's file to a process this starts: none without one. */
    List<String> authSecretArguments() {
        return authSecretFile.map(file -> List.of("--auth-secret-file", file.toString())).orElse(List.of());
    }
}
