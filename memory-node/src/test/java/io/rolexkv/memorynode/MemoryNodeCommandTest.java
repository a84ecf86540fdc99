package io.rolexkv.memorynode;

import io.rolexkv.common.config.ConfigNode;
import io.rolexkv.common.fabric.DoorbellBatch;
import io.rolexkv.common.fabric.FabricConnection;
import io.rolexkv.common.fabric.GlobalAddress;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

@Timeout(30)
class MemoryNodeCommandTest {
    private static final String SMALL_NODE = """
            {"memory_node": {"transport": "loopback", "port": 7100, "host": "10.1.2.3",
              "regions": [{"name": "meta", "bytes": "4KiB"}, {"name": "leaves", "bytes": "64KiB"}]}}
            """;

    /** One run of the command with its output captured. */
    record Run(int exitCode, String out, String err) {
        MemoryNodeConfig printedConfig() {
            return MemoryNodeConfig.fromRoot(ConfigNode.parse(out, "printed"));
        }
    }

    static Run run(String... args) {
        return run(new MemoryNodeCommand(), args);
    }

    static Run run(MemoryNodeCommand command, String... args) {
        StringWriter out = new StringWriter();
        StringWriter err = new StringWriter();
        CommandLine commandLine = new CommandLine(command);
        commandLine.setOut(new PrintWriter(out, true));
        commandLine.setErr(new PrintWriter(err, true));
        int exitCode = commandLine.execute(args);
        return new Run(exitCode, out.toString(), err.toString());
    }

    private static Path write(Path directory, String text) throws Exception {
        Path file = directory.resolve("node.json");
        Files.writeString(file, text);
        return file;
    }

    @Test
    void optionsOverrideTheConfigFile(@TempDir Path directory) throws Exception {
        Path config = write(directory, SMALL_NODE);
        Run run = run("--config", config.toString(), "--port", "7200", "--node-id", "9", "--host", "0.0.0.0",
                "--region", "leaves=2MiB", "--region", "extra=8KiB@" + directory.resolve("extra.bin"), "--print-config");
        assertEquals(0, run.exitCode(), run.err());
        MemoryNodeConfig printed = run.printedConfig();
        assertEquals(9, printed.memoryNodeId());
        assertEquals("0.0.0.0", printed.host());
        assertEquals(7200, printed.port());
        assertEquals("loopback", printed.transport(), "fields no option names stay as the file has them");
        assertEquals(List.of(RegionConfig.anonymous("meta", 4096), RegionConfig.anonymous("leaves", 2L << 20),
                new RegionConfig("extra", 8192, Optional.of(directory.resolve("extra.bin")))), printed.regions());
    }

    @Test
    void withoutAConfigFileTheDefaultsApplyAndRegionOptionsAdjustThem(@TempDir Path directory) {
        Run run = run("--transport", "loopback", "--region", "leaves=1GiB", "--data-dir", directory.toString(), "--print-config");
        assertEquals(0, run.exitCode(), run.err());
        MemoryNodeConfig printed = run.printedConfig();
        assertEquals(MemoryNodeConfig.PORT_DEFAULT, printed.port());
        assertEquals(MemoryNodeConfig.HOST_DEFAULT, printed.host());
        assertEquals(List.of("meta", "leaves", "tables", "models", "values"), printed.regions().stream().map(RegionConfig::name).toList());
        assertEquals(1L << 30, printed.regions().get(1).bytes());
        assertEquals(Optional.of(directory.resolve("values.region")), printed.regions().get(4).file());
    }

    @Test
    void badOptionValueExitsWithUsageCodeNamingTheOption() {
        Run notANumber = run("--transport", "loopback", "--port", "abc");
        assertEquals(2, notANumber.exitCode());
        assertTrue(notANumber.err().contains("'--port'"), notANumber.err());

        Run outOfRange = run("--transport", "loopback", "--port", "70000");
        assertEquals(2, outOfRange.exitCode());
        assertEquals("memory-node: out of range option=--port found=70000 allowed=[0,65535]" + System.lineSeparator(), outOfRange.err());

        Run nodeId = run("--transport", "loopback", "--node-id", "300");
        assertEquals("memory-node: out of range option=--node-id found=300 allowed=[0,255]" + System.lineSeparator(), nodeId.err());

        Run transport = run("--transport", "carrier-pigeon");
        assertEquals(2, transport.exitCode());
        assertTrue(transport.err().startsWith("memory-node: unknown value option=--transport found=\"carrier-pigeon\" allowed=["),
                transport.err());
    }

    @Test
    void badRegionOptionsNameTheOption() {
        Run shape = run("--transport", "loopback", "--region", "leaves");
        assertEquals(2, shape.exitCode());
        assertTrue(shape.err().contains("option '--region' (NAME=SIZE[@FILE]): 'leaves' is not NAME=SIZE"), shape.err());

        Run noFile = run("--transport", "loopback", "--region", "leaves=1MiB@");
        assertEquals(2, noFile.exitCode());
        assertTrue(noFile.err().contains("option '--region' (NAME=SIZE[@FILE]): 'leaves=1MiB@' is not NAME=SIZE@FILE"), noFile.err());

        Run size = run("--transport", "loopback", "--region", "leaves=12XB");
        assertEquals(2, size.exitCode());
        assertTrue(size.err().startsWith("memory-node: bad size option=--region leaves=12XB found=\"12XB\" unit=\"XB\""), size.err());

        Run negative = run("--transport", "loopback", "--region", "tiny=-1");
        assertEquals(2, negative.exitCode());
        assertTrue(negative.err().startsWith("memory-node: out of range option=--region tiny=-1 found=\"-1\" allowed=[0,"), negative.err());

        Run name = run("--transport", "loopback", "--region", "a/b=1MiB");
        assertEquals(2, name.exitCode());
        assertTrue(name.err().startsWith("memory-node: bad region name option=--region a/b=1MiB"), name.err());
    }

    @Test
    void configFileErrorsNameTheFieldAndTheFile(@TempDir Path directory) throws Exception {
        Path config = write(directory, "{\"memory_node\": {\"transport\": \"loopback\", \"regions\": [{\"name\": \"a\", \"bytes\": -5}]}}");
        Run run = run("--config", config.toString());
        assertEquals(2, run.exitCode());
        assertEquals("memory-node: out of range field=memory_node.regions[0].bytes found=-5 allowed=[0," + GlobalAddress.MAX_OFFSET
                + "] config=" + config + System.lineSeparator(), run.err());

        Path noSection = write(directory, "{\"memory-node\": {}}");
        Run missing = run("--config", noSection.toString(), "--port", "1");
        assertEquals(2, missing.exitCode());
        assertEquals("memory-node: missing field=memory_node expected=object config=" + noSection + System.lineSeparator(), missing.err());

        Run absent = run("--config", directory.resolve("absent.json").toString());
        assertEquals(2, absent.exitCode());
        assertTrue(absent.err().startsWith("memory-node: cannot read config file file=" + directory.resolve("absent.json")), absent.err());

        Path malformed = write(directory, "{\"memory_node\": {\"port\": }}");
        Run syntax = run("--config", malformed.toString());
        assertEquals(2, syntax.exitCode());
        assertTrue(syntax.err().startsWith("memory-node: malformed JSON source=" + malformed + " line=1 column=26: "), syntax.err());
        assertEquals(1, syntax.err().lines().count(), "one line, no stack trace: " + syntax.err());
    }

    @Test
    void runsUntilStoppedServingItsRegions(@TempDir Path directory) throws Exception {
        Path config = write(directory, SMALL_NODE);
        MemoryNodeCommand command = new MemoryNodeCommand();
        CompletableFuture<Run> running = CompletableFuture.supplyAsync(() -> run(command,
                "--config", config.toString(), "--host", "127.0.0.1", "--port", "0", "--data-dir", directory.toString()));
        MemoryNode node = command.awaitStarted(20, TimeUnit.SECONDS);
        assertNotNull(node, "the node did not start");
        try (FabricConnection connection = node.transport().connect(node.endpoint(), null)) {
            assertEquals(List.of("meta", "leaves"), connection.regions().stream().map(region -> region.name()).toList());
            DoorbellBatch batch = new DoorbellBatch();
            batch.writeLong(GlobalAddress.of(0, 1, 64), 123);
            connection.execute(batch);
            command.requestStop();
            Run run = running.get(20, TimeUnit.SECONDS);
            assertEquals(0, run.exitCode(), run.err());
            assertTrue(run.out().startsWith("memory node ready memory_node=0 transport=loopback endpoint=127.0.0.1:0 regions=2"
                    + " bytes=68KiB"), run.out());
            assertFalse(connection.isOpen(), "stopping the command stops the node");
        }
        byte[] leaves = Files.readAllBytes(directory.resolve("leaves.region"));
        assertEquals(123, leaves[64], "file-mapped regions are flushed on stop");
    }

    @Test
    void aNodeThatCannotStartExitsWithOneLine(@TempDir Path directory) throws Exception {
        Path file = directory.resolve("leaves.region");
        Files.write(file, new byte[8192]);
        Run run = run("--transport", "loopback", "--region", "leaves=4KiB@" + file, "--region", "meta=0", "--region", "tables=0",
                "--region", "models=0", "--region", "values=0");
        assertEquals(1, run.exitCode());
        assertTrue(run.err().startsWith("memory-node: cannot start: region leaves file=" + file + " holds bytes=8192"), run.err());
        assertEquals(1, run.err().lines().count(), run.err());
    }

    @Test
    void helpListsEveryOption() {
        Run run = run("--help");
        assertEquals(0, run.exitCode());
        for (String option : List.of("--config", "--node-id", "--transport", "--host", "--port", "--region", "--data-dir", "--print-config")) {
            assertTrue(run.out().contains(option), option + " missing from:\n" + run.out());
        }
    }
}
