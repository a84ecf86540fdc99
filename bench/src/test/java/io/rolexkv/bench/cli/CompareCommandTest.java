package io.rolexkv.bench.cli;

import io.rolexkv.bench.ycsb.YcsbReport;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

import javax.imageio.ImageIO;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

@Timeout(value = 120, unit = java.util.concurrent.TimeUnit.SECONDS)
class CompareCommandTest {
    private final ByteArrayOutputStream out = new ByteArrayOutputStream();
    private final StringWriter err = new StringWriter();

    private int execute(String... args) {
        CommandLine commandLine = new CommandLine(new CompareCommand(new PrintStream(out, true, StandardCharsets.UTF_8)));
        commandLine.setErr(new PrintWriter(err, true));
        return commandLine.execute(args);
    }

    @Test
    void runsEveryWorkloadOnEverySystemAndWritesTableAndChart(@TempDir Path folder) throws Exception {
        int exit = execute("--workloads", "a,e", "--systems", "rolex,in_process", "--fabric", "loopback",
                "--records", "300", "--operations", "300", "--threads", "2", "--value-size", "8",
                "-p", "dataintegrity=true", "--out", folder.toString());
        String printed = out.toString(StandardCharsets.UTF_8);
        assertEquals(YcsbCommand.EXIT_OK, exit, printed + err);
        for (String name : new String[] {"rolex-a", "in_process-a", "rolex-e", "in_process-e"}) {
            YcsbReport report = YcsbReport.read(folder.resolve("reports").resolve(name + ".json"));
            assertEquals(0, report.failedOperations(), name);
            assertEquals(300, report.records(), name);
            assertTrue(Files.size(folder.resolve("logs").resolve(name + ".log")) > 0, name);
        }
        assertTrue(YcsbReport.read(folder.resolve("reports/rolex-e.json")).operationsByType().containsKey("SCAN"));

        String markdown = Files.readString(folder.resolve(CompareCommand.MARKDOWN));
        assertTrue(markdown.contains("| workload | rolex | in_process | rolex / in_process |"), markdown);
        assertTrue(markdown.lines().anyMatch(line -> line.startsWith("| E | SCAN | rolex | ")), markdown);
        assertTrue(markdown.contains("Made with `scripts/rolexkv compare --workloads a,e --systems rolex,in_process"),
                markdown);
        assertNotNull(ImageIO.read(folder.resolve(CompareCommand.CHART).toFile()));
        assertTrue(printed.contains("[4/4] workload e on in_process: "), printed);

        // Rendering again from the reports gives the same tables.
        Files.delete(folder.resolve(CompareCommand.CHART));
        out.reset();
        assertEquals(YcsbCommand.EXIT_OK, execute("--workloads", "a,e", "--systems", "rolex,in_process",
                "--render-only", "--out", folder.toString()), err.toString());
        assertTrue(Files.exists(folder.resolve(CompareCommand.CHART)));
        assertFalse(out.toString(StandardCharsets.UTF_8).contains("[1/4]"));
        assertEquals(markdown, Files.readString(folder.resolve(CompareCommand.MARKDOWN)), "the redraw names the runs' command");
    }

    @Test
    void runsThatFailAreRecordedAndTheComparisonGoesOn(@TempDir Path folder) throws Exception {
        // A property every run refuses at start-up (exit code 2): each cell fails, each is recorded, all are tried.
        int exit = execute("--workloads", "c", "--systems", "rolex,in_process", "--records", "50", "--operations",
                "50", "--threads", "1", "--fabric", "loopback", "-p", "fieldlengthdistribution=histogram",
                "--out", folder.toString());
        String printed = out.toString(StandardCharsets.UTF_8);
        assertEquals(YcsbCommand.EXIT_FAILED_OPERATIONS, exit, printed + err);
        assertTrue(printed.contains("[2/2] workload c on in_process: FAILED (exit code 2, no report"), printed);
        String markdown = Files.readString(folder.resolve(CompareCommand.MARKDOWN));
        assertTrue(markdown.contains("| C | failed: exit code 2, no report | failed: exit code 2, no report | – |"), markdown);
        assertTrue(Files.readString(folder.resolve("logs/rolex-c.log")).contains("histogram"));
        assertNotNull(ImageIO.read(folder.resolve(CompareCommand.CHART).toFile()));
    }

    @Test
    void theTableShowsTheCommandAsTypedThroughTheProjectCommandLine(@TempDir Path folder) throws Exception {
        CommandLine commandLine = RolexKvCli.commandLine();
        commandLine.setErr(new PrintWriter(err, true));
        int exit = commandLine.execute("compare", "--render-only", "--workloads", "b", "--systems", "rpc",
                "--out", folder.toString());
        assertEquals(YcsbCommand.EXIT_FAILED_OPERATIONS, exit, err.toString()); // nothing ran: no report to show
        assertTrue(Files.readString(folder.resolve(CompareCommand.MARKDOWN)).contains(
                "Made with `scripts/rolexkv compare --render-only --workloads b --systems rpc --out "), err.toString());
    }

    @Test
    void badOptionsFailBeforeAnythingRuns(@TempDir Path folder) {
        assertEquals(YcsbCommand.EXIT_USAGE, execute("--systems", "rolex,mongo", "--out", folder.toString()));
        assertTrue(err.toString().contains("system=mongo allowed="), err.toString());
        assertEquals(YcsbCommand.EXIT_USAGE, execute("--workloads", "a,load", "--out", folder.toString()));
        assertTrue(err.toString().contains("workload=load allowed=[a, b, c, d, e, f]"), err.toString());
        assertFalse(Files.exists(folder.resolve("reports")));
    }
}
