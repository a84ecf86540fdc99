package io.rolexkv.computenode.cli;

import io.rolexkv.common.kv.SortedMapKV;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

import java.io.ByteArrayInputStream;
import java.io.BufferedReader;
import java.io.StringReader;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

@Timeout(60)
class ShellTest {
    private final StringWriter out = new StringWriter();
    private final StringWriter err = new StringWriter();

    private String[] lines(StringWriter writer) {
        return writer.toString().lines().toArray(String[]::new);
    }

    private int shell(String script) {
        Shell shell = new Shell(new SortedMapKV(1 << 10), new PrintWriter(out), new PrintWriter(err), false);
        return shell.run(new BufferedReader(new StringReader(script)), false);
    }

    @Test
    void commandsReadKeysAndValuesInEveryNotation() {
        int failures = shell("""
                # a comment, then a blank line

                put 42 hello world
                get 42
                get 0x2a
                put 0xFFFFFFFFFFFFFFFF 0x00ff10
                get 18446744073709551615
                put 7 "tab\\there \\"quoted\\" \\x01"
                get 7
                put 8 ""
                get 8
                scan 0
                scan 8 42 1
                delete 42
                delete 42
                get 42
                quit
                get 7
                """);
        assertEquals(0, failures, err.toString());
        assertArrayEquals(new String[] {
                "ok", "\"hello world\"", "\"hello world\"",
                "ok", "0x00ff10",
                "ok", "0x7461620968657265202271756f746564222001", // a control byte: hex
                "ok", "\"\"",
                "7 0x7461620968657265202271756f746564222001", "8 \"\"", "42 \"hello world\"",
                "18446744073709551615 0x00ff10",
                "8 \"\"",
                "deleted", "absent", "(absent)"}, lines(out));
    }

    @Test
    void mistakesPrintAnErrorAndTheShellGoesOn() {
        int failures = shell("""
                get -1
                get 12x
                put 1
                put 1 0xabc
                put 1 "open
                put 1 "bad \\q escape"
                put 2 %s
                scan
                scan 0 10 many
                get 1 2
                frobnicate 3
                put 3 fine
                get 3
                """.formatted("x".repeat(1040)));
        assertEquals(11, failures, err.toString());
        String[] errors = lines(err);
        assertEquals("error: bad key: found=\"-1\" expected=an unsigned 64-bit key in decimal (\"42\") or hexadecimal (\"0x2a\")", errors[0]);
        assertTrue(errors[1].startsWith("error: bad key: found=\"12x\""), errors[1]);
        assertEquals("error: missing value; write \"\" for an empty one", errors[2]);
        assertTrue(errors[3].startsWith("error: bad hex value \"0xabc\""), errors[3]);
        assertEquals("error: unterminated quoted value: \"open", errors[4]);
        assertTrue(errors[5].startsWith("error: unknown escape \\q"), errors[5]);
        assertEquals("error: value bytes=1040 exceeds max_value_bytes=1024", errors[6]);
        assertEquals("error: usage: scan FROM [TO] [LIMIT]", errors[7]);
        assertTrue(errors[8].startsWith("error: bad limit \"many\""), errors[8]);
        assertEquals("error: unexpected \"2\"; usage: get KEY", errors[9]);
        assertEquals("error: unknown command \"frobnicate\"; try help", errors[10]);
        assertArrayEquals(new String[] {"ok", "\"fine\""}, lines(out));
    }

    @Test
    void valueTextRoundTripsBytesThroughItsPrintedForm() {
        for (byte[] value : new byte[][] {{}, {0}, {'a', '"', '\\', '\n'}, "smörgåsbord ✓".getBytes(StandardCharsets.UTF_8),
                {(byte) 0xff, (byte) 0xfe}, {27, '[', 'm'}}) {
            assertArrayEquals(value, ValueText.parse(ValueText.format(value, false)));
            assertArrayEquals(value, ValueText.parse(ValueText.format(value, true)));
        }
        assertThrows(IllegalArgumentException.class, () -> ValueText.parse("\"a\\\""));
    }

    // ---- the command line ----------------------------------------------------------------------------------------

    private int command(String stdin, String... args) {
        CommandLine commandLine = new CommandLine(new ShellCommand(new ByteArrayInputStream(stdin.getBytes(StandardCharsets.UTF_8))));
        commandLine.setOut(new PrintWriter(out));
        commandLine.setErr(new PrintWriter(err));
        return commandLine.execute(args);
    }

    @Test
    void theCommandRunsAScriptFromStdinAgainstAnInProcessStore(@TempDir Path directory) throws Exception {
        Path config = Files.writeString(directory.resolve("engine.json"), "{\"engine_type\": \"in_process\"}");
        assertEquals(0, command("put 1 one\nget 1\nstats\n", "--config", config.toString()));
        String[] printed = lines(out);
        assertEquals("ok", printed[0]);
        assertEquals("\"one\"", printed[1]);
        assertEquals("engine=SortedMapKV max_value_bytes=65536", printed[2]);
    }

    @Test
    void aLoopbackRolexConfigStartsItsMemoryNodesInTheShell(@TempDir Path directory) throws Exception {
        Path config = Files.writeString(directory.resolve("engine.json"), """
                {"engine_type": "rolex", "transport": "loopback",
                 "memory_nodes": [{"endpoint": "a"}, {"endpoint": "b"}]}
                """);
        int exit = command("", "--config", config.toString(), "--hex", "-e", "put 0x8000000000000000 AB", "-e",
                "put 1 0x0102", "-e", "scan 0", "-e", "get 2", "-e", "stats");
        assertEquals(0, exit, err.toString());
        String[] printed = lines(out);
        assertEquals("ok", printed[0]);
        assertEquals("ok", printed[1]);
        assertEquals("1 0x0102", printed[2]);
        assertEquals("9223372036854775808 0x4142", printed[3]);
        assertEquals("(absent)", printed[4]);
        assertEquals("engine=RolexKV max_value_bytes=65536", printed[5]);
        assertTrue(out.toString().contains("value_layout=blocks"), out.toString());
        assertTrue(out.toString().contains("doorbells="), out.toString());
        assertTrue(err.toString().contains("starting 2 in-process memory node(s) [a, b]"), err.toString());
    }

    @Test
    void exitCodesSayWhatWentWrong(@TempDir Path directory) throws Exception {
        Path good = Files.writeString(directory.resolve("good.json"), "{\"engine_type\": \"in_process\"}");
        assertEquals(ShellCommand.EXIT_COMMAND_FAILED, command("get nope\nget 1\n", "--config", good.toString()));

        Path bad = Files.writeString(directory.resolve("bad.json"), "{\"engine_type\": \"in_process\", \"transport\": \"tcp\"}");
        assertEquals(ShellCommand.EXIT_USAGE, command("", "--config", bad.toString()));
        assertTrue(err.toString().contains("unknown field field=transport allowed=[engine_type, max_value_bytes]"), err.toString());

        Path unreachable = Files.writeString(directory.resolve("far.json"), """
                {"engine_type": "rolex", "transport": "tcp", "memory_nodes": [{"endpoint": "127.0.0.1:1"}]}
                """);
        assertEquals(ShellCommand.EXIT_UNREACHABLE, command("", "--config", unreachable.toString()));
        assertTrue(err.toString().contains("cannot open the store"), err.toString());

        assertEquals(ShellCommand.EXIT_USAGE, command("", "--config", directory.resolve("missing.json").toString()));
        assertTrue(err.toString().contains("cannot read config file"), err.toString());
        assertEquals(CommandLine.ExitCode.USAGE, command(""), "--config is required");
    }
}
