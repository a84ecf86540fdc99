package io.rolexkv.bench.baseline.rpc;

import io.rolexkv.common.net.AuthenticationFailedException;
import io.rolexkv.common.net.ClusterSecret;
import io.rolexkv.common.net.NetSettings;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.nio.charset.StandardCharsets;
import java.util.Optional;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The rpc baseline's server admits only clients that prove its cluster secret, as a memory node does. */
@Timeout(60)
class RpcKVAuthenticationTest {
    private static final ClusterSecret SECRET = secret("the rpc cluster's secret, 1");
    private static final ClusterSecret OTHER_SECRET = secret("not the rpc cluster's secret");

    private static ClusterSecret secret(String text) {
        return ClusterSecret.of(text.getBytes(StandardCharsets.UTF_8), "test");
    }

    @Test
    void onlyAClientWithTheSecretIsServed() throws Exception {
        try (RpcKVServer server = RpcKVServer.start(RpcKVServerSettings.forMaxValueBytes(64).withSecret(Optional.of(SECRET)));
             RpcKV good = RpcKV.connect(server.endpoint(), NetSettings.DEFAULT.withSecret(SECRET))) {
            good.put(7, "seven".getBytes(StandardCharsets.UTF_8));

            for (NetSettings bad : new NetSettings[] {NetSettings.DEFAULT.withSecret(OTHER_SECRET), NetSettings.DEFAULT}) {
                AuthenticationFailedException e = assertThrows(AuthenticationFailedException.class,
                        () -> RpcKV.connect(server.endpoint(), bad).close());
                assertTrue(e.getMessage().contains("authentication failed"), e.getMessage());
                assertTrue(e.getMessage().contains("endpoint=" + server.endpoint()), e.getMessage());
            }

            assertArrayEquals("seven".getBytes(StandardCharsets.UTF_8), good.get(7).orElseThrow(),
                    "the good client is still served");
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
            while (server.authFailures() < 2 && System.nanoTime() < deadline) {
                Thread.sleep(10);
            }
            assertEquals(2, server.authFailures());
        }
    }

    @Test
    void aClientWithASecretRefusesAServerWithout() {
        try (RpcKVServer server = RpcKVServer.start(RpcKVServerSettings.forMaxValueBytes(64))) {
            AuthenticationFailedException e = assertThrows(AuthenticationFailedException.class,
                    () -> RpcKV.connect(server.endpoint(), NetSettings.DEFAULT.withSecret(SECRET)).close());
            assertTrue(e.getMessage().contains("rpc server at endpoint=" + server.endpoint()), e.getMessage());
            assertEquals(0, server.authFailures());
        }
    }
}
