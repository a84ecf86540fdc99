package io.rolexkv.bench.cli;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import picocli.CommandLine;

import java.io.PrintWriter;
import java.io.StringWriter;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

@Timeout(30)
class RolexKvCliTest {

    record Run(int exitCode, String out, String err) {
    }

    static Run run(String... args) {
        StringWriter out = new StringWriter();
        StringWriter err = new StringWriter();
        CommandLine commandLine = RolexKvCli.commandLine();
        commandLine.setOut(new PrintWriter(out, true));
        commandLine.setErr(new PrintWriter(err, true));
        int exitCode = commandLine.execute(args);
        return new Run(exitCode, out.toString(), err.toString());
    }

    @Test
    void helpListsMemoryNodeFirst() {
        Run run = run("--help");
        assertEquals(0, run.exitCode());
        assertTrue(run.out().contains("Usage: rolexkv"), run.out());
        String commands = run.out().substring(run.out().indexOf("Commands:"));
        assertTrue(commands.lines().skip(1).findFirst().orElseThrow().strip().startsWith("memory-node"), commands);
        assertEquals("memory-node", RolexKvCli.commandLine().getSubcommands().keySet().iterator().next());
    }

    @Test
    void versionNamesTheProjectVersion() {
        Run run = run("--version");
        assertEquals(0, run.exitCode());
        assertTrue(run.out().matches("(?s)rolexkv \\d+\\.\\d+\\.\\d+(-SNAPSHOT)?\\R.*"), run.out());
    }

    @Test
    void subcommandHelpWorksThroughTheTopLevel() {
        Run run = run("memory-node", "--help");
        assertEquals(0, run.exitCode());
        assertTrue(run.out().contains("Usage: rolexkv memory-node"), run.out());
        assertTrue(run.out().contains("--region=NAME=SIZE[@FILE]"), run.out());
    }

    @Test
    void badOptionValueIsOneLineNamingTheOptionAndExitsTwo() {
        Run run = run("memory-node", "--port", "abc");
        assertEquals(2, run.exitCode());
        assertEquals("rolexkv memory-node: Invalid value for option '--port': 'abc' is not an int (see 'rolexkv memory-node --help')"
                + System.lineSeparator(), run.err());
    }

    @Test
    void unknownOptionSuggestsTheNearestOne() {
        Run run = run("memory-node", "--prot", "7000");
        assertEquals(2, run.exitCode());
        assertEquals(1, run.err().lines().count(), run.err());
        assertTrue(run.err().startsWith("rolexkv memory-node: Unknown options: '--prot', '7000'; did you mean --port?"), run.err());
    }

    @Test
    void configErrorsFromTheSubcommandAreOneLineToo() {
        Run run = run("memory-node", "--transport", "loopback", "--port", "70000");
        assertEquals(2, run.exitCode());
        assertEquals("rolexkv memory-node: out of range option=--port found=70000 allowed=[0,65535]" + System.lineSeparator(), run.err());
    }

    @Test
    void suggestionsAreTheNearestNamesOnly() {
        assertEquals(java.util.List.of("--port"), RolexKvCli.nearest("--prot", java.util.List.of("--port", "--print-config", "--host")));
        assertEquals(java.util.List.of("--host", "--port"), RolexKvCli.nearest("--hort", java.util.List.of("--port", "--host")));
        assertEquals(java.util.List.of(), RolexKvCli.nearest("--verbose", java.util.List.of("--port", "--host")));
        assertEquals(1, RolexKvCli.editDistance("memroy-node", "memory-node"));
        assertEquals(3, RolexKvCli.editDistance("kitten", "sitting"));
        assertEquals(0, RolexKvCli.editDistance("", ""));
    }

    @Test
    void noCommandIsAUsageError() {
        Run run = run();
        assertEquals(2, run.exitCode());
        assertTrue(run.err().startsWith("rolexkv: missing command; one of [memory-node, shell, ycsb, compare, help]"), run.err());
    }

    @Test
    void unknownCommandIsAUsageError() {
        Run run = run("memroy-node");
        assertEquals(2, run.exitCode());
        assertTrue(run.err().startsWith("rolexkv: Unmatched argument at index 0: 'memroy-node'; did you mean memory-node?"), run.err());
    }
}
