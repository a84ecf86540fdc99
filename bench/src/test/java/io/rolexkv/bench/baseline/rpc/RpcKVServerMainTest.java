package io.rolexkv.bench.baseline.rpc;

import io.rolexkv.common.fabric.ConnectionLostException;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

import java.io.BufferedReader;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.PrintStream;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The server as the YCSB harness runs it: a process of its own that prints where it listens, serves clients, reports
 * its figures, and stops on SIGTERM or at the end of its standard input, after which its clients see the node gone.
 */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class RpcKVServerMainTest {
    private static final long EXIT_WAIT_SECONDS = 20;

    @TempDir
    Path scratch;

    @Test
    void servesAsAProcessAndStopsOnSigterm() throws Exception {
        Process process = launch("--port", "0", "--max-value-bytes", "2048", "--io-threads", "1");
        try (BufferedReader out = stdout(process)) {
            String endpoint = endpointOf(process, out.readLine());
            try (RpcKV client = RpcKV.connect(endpoint)) {
                assertEquals(2048, client.maxValueBytes(), "the client learns the limit from the server");
                client.put(1, new byte[] {1, 2});
                assertArrayEquals(new byte[] {1, 2}, client.get(1).orElseThrow());
                RpcServerStats stats = client.serverStats();
                assertEquals(3, stats.requests(), "put, get and this stats request");
                assertTrue(stats.ioThreadCpuNanos() > 0 && stats.processCpuNanos() > 0, stats.toString());

                // SIGTERM through the handle: Process.destroy() would also close our end of its standard output.
                assertTrue(process.toHandle().destroy(), "SIGTERM sent");
                assertTrue(process.waitFor(EXIT_WAIT_SECONDS, TimeUnit.SECONDS), "the server stops on SIGTERM");
                String stopped = out.readLine();
                assertNotNull(stopped, "a last line with the figures: " + stderr());
                assertTrue(stopped.startsWith("rpc_server stopped requests=3 "), stopped);
                assertTrue(stopped.contains(" io_thread_cpu_ns=") && stopped.contains(" process_cpu_ns="), stopped);
                assertThrows(ConnectionLostException.class, () -> client.get(1), "the client sees the node gone");
            }
        } finally {
            process.destroyForcibly();
        }
    }

    @Test
    void stopsWhenItsStandardInputEnds() throws Exception {
        Process process = launch("--port", "0", "--stop-on-stdin-close");
        try (BufferedReader out = stdout(process)) {
            endpointOf(process, out.readLine());
            process.getOutputStream().close();
            assertTrue(process.waitFor(EXIT_WAIT_SECONDS, TimeUnit.SECONDS), "the launcher went away, so does the server");
            assertEquals(0, process.exitValue(), stderr());
            String stopped = out.readLine();
            assertNotNull(stopped, stderr());
            assertTrue(stopped.startsWith("rpc_server stopped requests=0 "), stopped);
        } finally {
            process.destroyForcibly();
        }
    }

    @Test
    void badSettingsAreRefusedNamingTheSetting() {
        StringWriter errors = new StringWriter();
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        CommandLine command = new CommandLine(new RpcKVServerMain(new PrintStream(out, true, StandardCharsets.UTF_8),
                new ByteArrayInputStream(new byte[0])));
        command.setErr(new PrintWriter(errors, true));
        int exitCode = command.execute("--max-value-bytes", "1000", "--max-frame-bytes", "100");
        assertNotEquals(0, exitCode);
        assertTrue(errors.toString().contains("rpc_max_frame_bytes=100"), errors.toString());
        assertEquals("", out.toString(StandardCharsets.UTF_8), "nothing was started");
    }

    private Process launch(String... arguments) throws IOException {
        List<String> command = new ArrayList<>(List.of(
                Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "-Xmx128m", "-XX:+UseSerialGC", "-XX:TieredStopAtLevel=1",
                "-cp", System.getProperty("java.class.path"),
                RpcKVServerMain.class.getName()));
        command.addAll(List.of(arguments));
        return new ProcessBuilder(command)
                .redirectError(scratch.resolve("stderr.txt").toFile())
                .start();
    }

    private static BufferedReader stdout(Process process) {
        return new BufferedReader(new InputStreamReader(process.getInputStream(), StandardCharsets.UTF_8));
    }

    private String endpointOf(Process process, String line) throws IOException {
        assertNotNull(line, "the server printed nothing; alive=" + process.isAlive() + " stderr: " + stderr());
        assertTrue(line.startsWith(RpcKVServerMain.LISTENING_LINE_PREFIX), line);
        int start = RpcKVServerMain.LISTENING_LINE_PREFIX.length();
        return line.substring(start, line.indexOf(' ', start));
    }

    private String stderr() throws IOException {
        Path file = scratch.resolve("stderr.txt");
        return Files.exists(file) ? Files.readString(file) : "";
    }
}
