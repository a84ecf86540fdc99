package io.rolexkv.computenode.engine;

import io.rolexkv.common.config.ConfigException;
import io.rolexkv.common.config.ConfigNode;
import io.rolexkv.common.fabric.FabricLimits;
import io.rolexkv.common.fabric.FabricTransport;
import io.rolexkv.common.fabric.FabricTransports;
import io.rolexkv.common.fabric.tcp.TcpTransport;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.Optional;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The engine's {@code auth_secret_file}: read with the config, its errors one line naming the field. */
class RolexKVConfigAuthTest {
    @TempDir
    Path directory;

    private static RolexKVConfig parse(String fields) {
        return RolexKVConfig.from(ConfigNode.parse("{\"engine_type\": \"rolex\", \"memory_nodes\": [{\"endpoint\": "
                + "\"127.0.0.1:7000\"}]" + fields + "}", "engine.json"));
    }

    private Path secretFile(String name, String text, String permissions) throws Exception {
        Path file = directory.resolve(name);
        Files.writeString(file, text);
        Files.setPosixFilePermissions(file, PosixFilePermissions.fromString(permissions));
        return file;
    }

    @Test
    void theFieldNamesTheSecretTheEngineProves() throws Exception {
        Path file = secretFile("secret", "an engine's cluster secret\n", "r--------");
        RolexKVConfig config = parse(", \"auth_secret_file\": \"" + file + "\"");
        assertEquals(Optional.of(file), config.authSecretFile());
        assertEquals(Optional.empty(), parse("").authSecretFile());
        try (FabricTransport transport = FabricTransports.create(config.transport(), FabricLimits.DEFAULT,
                FabricTransports.secret(config.authSecretFile()))) {
            assertTrue(((TcpTransport) transport).settings().secret().isPresent());
        }
    }

    @Test
    void badSecretFilesAreOneLineNamingTheField() throws Exception {
        Path empty = secretFile("empty", "\n", "rw-------");
        ConfigException e = assertThrows(ConfigException.class, () -> parse(", \"auth_secret_file\": \"" + empty + "\""));
        assertEquals("auth_secret_file", e.field());
        assertTrue(e.getMessage().contains("is empty"), e.getMessage());
        assertEquals(1, e.getMessage().lines().count(), e.getMessage());

        Path good = secretFile("good", "an engine's cluster secret", "rw-------");
        ConfigException rdma = assertThrows(ConfigException.class,
                () -> parse(", \"transport\": \"rdma\", \"auth_secret_file\": \"" + good + "\""));
        assertTrue(rdma.getMessage().contains("not supported with transport=rdma"), rdma.getMessage());

        IllegalArgumentException direct = assertThrows(IllegalArgumentException.class,
                () -> FabricTransports.create("rdma", FabricLimits.DEFAULT, FabricTransports.secret(Optional.of(good))));
        assertTrue(direct.getMessage().contains("auth_secret_file is not supported by transport=rdma"), direct.getMessage());
    }
}
