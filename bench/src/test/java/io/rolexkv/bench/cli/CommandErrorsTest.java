package io.rolexkv.bench.cli;

import io.rolexkv.common.cli.UnexpectedFailures;
import io.rolexkv.computenode.EmbeddedCluster;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Every command answers a user's mistake with one line that names what is wrong and how to fix it, exit code 2, and no
 * stack trace; a failure that is not the user's mistake prints one line too, and leaves its stack trace in a log file
 * that line names.
 */
@Timeout(60)
class CommandErrorsTest {
    @TempDir
    Path logs;
    private String previousLogDir;

    @BeforeEach
    void logsGoToATempFolder() {
        previousLogDir = System.getProperty(UnexpectedFailures.LOG_DIR_PROP_NAME);
        System.setProperty(UnexpectedFailures.LOG_DIR_PROP_NAME, logs.toString());
    }

    @AfterEach
    void restoreLogDir() {
        if (previousLogDir == null) {
            System.clearProperty(UnexpectedFailures.LOG_DIR_PROP_NAME);
        } else {
            System.setProperty(UnexpectedFailures.LOG_DIR_PROP_NAME, previousLogDir);
        }
    }

    private static void assertOneLineWithoutStackTrace(RolexKvCliTest.Run run) {
        assertEquals(1, run.err().lines().count(), run.err());
        assertFalse(run.err().contains("\tat "), run.err());
        assertFalse(run.err().contains("Exception:"), run.err());
    }

    @Test
    void twoMemoryNodesWithTheSameIdAreOneLineThatSaysToGiveEachItsOwnNodeId() {
        // Two memory nodes, each started without --node-id: both are node 0.
        try (EmbeddedCluster first = EmbeddedCluster.start("tcp", 1, EmbeddedCluster.Regions.SMALL);
             EmbeddedCluster second = EmbeddedCluster.start("tcp", 1, EmbeddedCluster.Regions.SMALL)) {
            String endpoints = first.endpoints().getFirst() + "," + second.endpoints().getFirst();
            RolexKvCliTest.Run run = RolexKvCliTest.run("ycsb", "--memory-nodes", endpoints, "--records", "10",
                    "--operations", "10", "--value-size", "8");
            assertEquals(2, run.exitCode(), run.err());
            assertOneLineWithoutStackTrace(run);
            String line = run.err().strip();
            assertTrue(line.startsWith("ycsb: two endpoints reach the same memory node option=--memory-nodes found=\""
                    + second.endpoints().getFirst() + "\" memory_node_id=0"), line);
            assertTrue(line.endsWith("start each with its own --node-id (or memory_node.memory_node_id in its config)"), line);
        }
    }

    @Test
    void aMemoryNodeThatCannotBeReachedIsOneLineAndTheStackTraceGoesToTheLog() throws IOException {
        RolexKvCliTest.Run run = RolexKvCliTest.run("ycsb", "--memory-nodes", "127.0.0.1:1", "--records", "10",
                "--operations", "10", "--value-size", "8");
        assertEquals(YcsbCommand.EXIT_USAGE, run.exitCode(), run.err());
        assertEquals(1, run.err().lines().count(), run.err());
        assertFalse(run.err().contains("\tat "), run.err());
        String line = run.err().strip();
        assertTrue(line.startsWith("ycsb: cannot start system=rolex: "), line);
        assertTrue(line.contains("127.0.0.1:1"), line);
        assertStackTraceLogged(line);
    }

    @Test
    void anUnexpectedFailureOfAnyCommandIsOneLineWithItsStackTraceInTheLog(@TempDir Path folder) throws IOException {
        Path notAFolder = Files.writeString(folder.resolve("taken"), "a file where the output folder should go");
        RolexKvCliTest.Run run = RolexKvCliTest.run("compare", "--render-only", "--workloads", "b", "--systems", "rpc",
                "--out", notAFolder.toString());
        assertEquals(1, run.exitCode(), run.err());
        assertEquals(1, run.err().lines().count(), run.err());
        assertFalse(run.err().contains("\tat "), run.err());
        String line = run.err().strip();
        assertTrue(line.startsWith("rolexkv compare: failed: cannot write " + notAFolder), line);
        assertStackTraceLogged(line);
    }

    @Test
    void aBadConfigFileIsOneLineNamingTheFieldForEveryCommand(@TempDir Path folder) throws IOException {
        Path config = Files.writeString(folder.resolve("bad.json"), "{\"engine_type\": \"rolex\", \"transport\": \"tcp\","
                + " \"memory_nodes\": [{\"endpoint\": \"127.0.0.1:7000\"}], \"max_value_bytes\": -3}");
        RolexKvCliTest.Run shell = RolexKvCliTest.run("shell", "--config", config.toString(), "-e", "get 1");
        assertEquals(2, shell.exitCode(), shell.err());
        assertOneLineWithoutStackTrace(shell);
        assertTrue(shell.err().contains("field=max_value_bytes found=-3"), shell.err());

        Path nodeConfig = Files.writeString(folder.resolve("node.json"), "{\"memory_node\": {\"port\": 70000}}");
        RolexKvCliTest.Run node = RolexKvCliTest.run("memory-node", "--config", nodeConfig.toString());
        assertEquals(2, node.exitCode(), node.err());
        assertOneLineWithoutStackTrace(node);
        assertTrue(node.err().contains("field=memory_node.port found=70000 allowed=[0,65535]"), node.err());
    }

    private void assertStackTraceLogged(String line) throws IOException {
        int at = line.indexOf("(stack trace in ");
        assertTrue(at > 0, line);
        Path log = Path.of(line.substring(at + "(stack trace in ".length(), line.length() - 1));
        assertTrue(log.startsWith(logs), log + " is not under " + logs);
        assertTrue(Files.readString(log).contains("\tat "), "the log holds the stack trace");
    }
}
