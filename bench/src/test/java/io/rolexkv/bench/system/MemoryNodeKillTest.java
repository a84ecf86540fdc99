package io.rolexkv.bench.system;

import io.rolexkv.common.config.ConfigNode;
import io.rolexkv.computenode.KVEngines;
import io.rolexkv.computenode.engine.AcknowledgedWritesWorkload;
import io.rolexkv.computenode.engine.RolexKV;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.util.List;
import java.util.Random;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The real thing: a memory node process with a data directory, killed with SIGKILL (no flush, no goodbye) and started
 * again on the same port while an engine in this JVM keeps reading and writing. Every acknowledged put must be there
 * afterwards; a put that failed as a transport failure may or may not be.
 */
@Tag("slow")
@Timeout(value = 5, unit = TimeUnit.MINUTES)
class MemoryNodeKillTest {
    private static final int NODE_ID = 2;

    @TempDir
    Path dataDirectory;

    private ChildProcess startNode(int port) {
        return ChildProcess.start("memory-node-" + NODE_ID, "io.rolexkv.bench.cli.RolexKvCli", List.of("memory-node",
                        "--host", "127.0.0.1", "--port", String.valueOf(port), "--node-id", String.valueOf(NODE_ID),
                        "--data-dir", dataDirectory.toString(), "--region", "leaves=16MiB", "--region", "tables=4MiB",
                        "--region", "models=1MiB", "--region", "values=32MiB"),
                ChildProcess.valueOn("memory node ready", "endpoint"));
    }

    @Test
    void everyAcknowledgedPutSurvivesKillNineAndTheEngineCarriesOn() throws Exception {
        ChildProcess node = startNode(0);
        String endpoint = node.readyLine();
        int port = Integer.parseInt(endpoint.substring(endpoint.lastIndexOf(':') + 1));
        long[] keys = new Random(5).longs(400).distinct().toArray();
        try (RolexKV engine = (RolexKV) KVEngines.open(ConfigNode.parse("{\"engine_type\": \"rolex\", \"transport\":"
                + " \"tcp\", \"memory_nodes\": [{\"endpoint\": \"" + endpoint + "\"}]}", "test"));
             AcknowledgedWritesWorkload workload = AcknowledgedWritesWorkload.start(engine, keys, 2, 1.0 / 3, 50)) {
            for (int kill = 0; kill < 3; kill++) {
                Thread.sleep(1_500);
                node.kill();
                long before = workload.succeeded();
                node = startNode(port);
                Thread.sleep(1_500);
                assertTrue(workload.succeeded() > before, "operations succeed after restart " + kill);
            }
            workload.stopAndCheck();
            assertTrue(workload.acknowledgedPuts() > 50, "puts went through: " + workload.acknowledgedPuts());
        } finally {
            node.close();
        }
    }
}
