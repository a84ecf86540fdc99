package io.rolexkv.bench.cli;

import io.rolexkv.bench.baseline.rpc.RpcKVServer;
import io.rolexkv.bench.baseline.rpc.RpcKVServerSettings;
import io.rolexkv.common.net.ClusterSecret;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.Optional;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** {@code ycsb --auth-secret-file}: proved to the servers it starts or is pointed at; mistakes are one line. */
@Timeout(value = 60, unit = java.util.concurrent.TimeUnit.SECONDS)
class YcsbAuthTest {
    private final ByteArrayOutputStream out = new ByteArrayOutputStream();
    private final StringWriter err = new StringWriter();

    @TempDir
    Path directory;

    private int execute(String... args) {
        CommandLine commandLine = new CommandLine(new YcsbCommand(new PrintStream(out, true, StandardCharsets.UTF_8)));
        commandLine.setErr(new PrintWriter(err, true));
        return commandLine.execute(args);
    }

    private Path secretFile(String name, String text) throws Exception {
        Path file = directory.resolve(name);
        Files.writeString(file, text);
        Files.setPosixFilePermissions(file, PosixFilePermissions.fromString("rw-------"));
        return file;
    }

    @Test
    void runsAgainstAServerThatRequiresTheSecret() throws Exception {
        Path file = secretFile("secret", "the benchmark's cluster secret\n");
        ClusterSecret secret = ClusterSecret.fromFile(file, "test");
        try (RpcKVServer server = RpcKVServer.start(RpcKVServerSettings.forMaxValueBytes(64).withSecret(Optional.of(secret)))) {
            int exit = execute("--system", "rpc", "--memory-nodes", server.endpoint(), "--workload", "c", "--records", "200",
                    "--operations", "200", "--value-size", "8", "--auth-secret-file", file.toString());
            assertEquals(YcsbCommand.EXIT_OK, exit, err.toString());
            assertEquals(0, server.authFailures());

            int before = err.toString().length();
            int refused = execute("--system", "rpc", "--memory-nodes", server.endpoint(), "--records", "10",
                    "--operations", "10");
            String line = err.toString().substring(before);
            assertEquals(YcsbCommand.EXIT_USAGE, refused, line);
            assertTrue(line.startsWith("ycsb: authentication failed with rpc server at endpoint=" + server.endpoint()), line);
            assertEquals(1, line.lines().count(), line);
        }
    }

    @Test
    void aBadSecretFileIsOneLineNamingTheOption() throws Exception {
        Path empty = secretFile("empty", "");
        int exit = execute("--records", "10", "--operations", "10", "--auth-secret-file", empty.toString());
        assertEquals(YcsbCommand.EXIT_USAGE, exit);
        assertEquals("ycsb: --auth-secret-file=" + empty + " is empty; allowed: a secret of 16 to 4096 bytes"
                + System.lineSeparator(), err.toString());
        assertEquals(0, out.size(), "nothing ran");
    }
}
