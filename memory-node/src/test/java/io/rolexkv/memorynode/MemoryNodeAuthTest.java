package io.rolexkv.memorynode;

import io.rolexkv.common.fabric.FabricConnection;
import io.rolexkv.common.fabric.FabricLimits;
import io.rolexkv.common.fabric.tcp.TcpTransport;
import io.rolexkv.common.net.AuthenticationFailedException;
import io.rolexkv.common.net.ClusterSecret;
import io.rolexkv.common.net.NetSettings;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

import static io.rolexkv.memorynode.MemoryNodeCommandTest.run;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** {@code --auth-secret-file} and {@code auth_secret_file}: read at start-up, errors one line naming them. */
@Timeout(60)
class MemoryNodeAuthTest {
    private static final String SECRET_TEXT = "a memory node's cluster secret";

    private static Path secretFile(Path directory, String name, String text, String permissions) throws Exception {
        Path file = directory.resolve(name);
        Files.writeString(file, text);
        Files.setPosixFilePermissions(file, PosixFilePermissions.fromString(permissions));
        return file;
    }

    @Test
    void theOptionSetsTheFieldAndTheNodeServesOnlyClientsWithTheSecret(@TempDir Path directory) throws Exception {
        Path file = secretFile(directory, "secret", SECRET_TEXT + "\n", "rw-------");
        MemoryNodeConfig printed = run("--auth-secret-file", file.toString(), "--print-config").printedConfig();
        assertEquals(Optional.of(file), printed.authSecretFile());

        MemoryNodeCommand command = new MemoryNodeCommand();
        CompletableFuture<MemoryNodeCommandTest.Run> running = CompletableFuture.supplyAsync(() -> run(command,
                "--transport", "tcp", "--host", "127.0.0.1", "--port", "0", "--region", "leaves=64KiB",
                "--auth-secret-file", file.toString()));
        MemoryNode node = command.awaitStarted(20, TimeUnit.SECONDS);
        assertNotNull(node, "the node did not start");
        try (TcpTransport withSecret = new TcpTransport(FabricLimits.DEFAULT, NetSettings.DEFAULT.withSecret(
                     ClusterSecret.of(SECRET_TEXT.getBytes(), "test")));
             TcpTransport without = new TcpTransport(FabricLimits.DEFAULT, NetSettings.DEFAULT)) {
            FabricConnection connection = withSecret.connect(node.endpoint(), null);
            assertTrue(connection.isOpen());
            AuthenticationFailedException e = assertThrows(AuthenticationFailedException.class,
                    () -> without.connect(node.endpoint(), null));
            assertTrue(e.getMessage().contains("endpoint=" + node.endpoint()), e.getMessage());
        } finally {
            command.requestStop();
        }
        assertEquals(0, running.get(20, TimeUnit.SECONDS).exitCode());
    }

    @Test
    void badSecretFilesAreOneLineNamingTheOptionOrTheField(@TempDir Path directory) throws Exception {
        Path empty = secretFile(directory, "empty", "", "rw-------");
        MemoryNodeCommandTest.Run option = run("--auth-secret-file", empty.toString());
        assertEquals(2, option.exitCode());
        assertTrue(option.err().startsWith("memory-node: bad secret file option=--auth-secret-file "), option.err());
        assertTrue(option.err().contains("is empty"), option.err());
        assertEquals(1, option.err().lines().count(), option.err());

        Path shared = secretFile(directory, "shared", SECRET_TEXT, "rw-r--r--");
        Path config = directory.resolve("node.json");
        Files.writeString(config, "{\"memory_node\": {\"auth_secret_file\": \"" + shared + "\"}}");
        MemoryNodeCommandTest.Run field = run("--config", config.toString());
        assertEquals(2, field.exitCode());
        assertTrue(field.err().startsWith("memory-node: bad secret file field=memory_node.auth_secret_file "), field.err());
        assertTrue(field.err().contains("readable by group or others"), field.err());
        assertEquals(1, field.err().lines().count(), field.err());

        Path good = secretFile(directory, "good", SECRET_TEXT, "rw-------");
        MemoryNodeCommandTest.Run rdma = run("--transport", "rdma", "--auth-secret-file", good.toString());
        assertEquals(2, rdma.exitCode());
        assertTrue(rdma.err().startsWith("memory-node: not supported with transport=rdma option=--auth-secret-file"),
                rdma.err());
        assertEquals(1, rdma.err().lines().count(), rdma.err());
    }
}
