package io.rolexkv.bench.baseline.rpc;

import io.rolexkv.common.net.NetSettings;
import io.rolexkv.common.kv.BaseKV;
import io.rolexkv.common.kv.BaseKVContractTest;

import java.util.ArrayList;
import java.util.List;

/**
 * The rpc baseline holds itself to the BaseKV contract: each engine is a client with two connections (so calls of one
 * test spread over both) to its own in-process server on a loopback port.
 */
class RpcKVContractTest extends BaseKVContractTest {
    private final List<RpcKVServer> servers = new ArrayList<>();

    protected RpcKVServerSettings serverSettings(int maxValueBytes) {
        return RpcKVServerSettings.forMaxValueBytes(maxValueBytes).withIoThreads(2);
    }

    @Override
    protected BaseKV newEngine(int maxValueBytes) {
        RpcKVServer server = RpcKVServer.start(serverSettings(maxValueBytes));
        servers.add(server);
        return RpcKV.connect(server.endpoint(), NetSettings.DEFAULT.withConnections(2));
    }

    @Override
    protected void releaseResources() {
        for (RpcKVServer server : servers) {
            server.close();
        }
        servers.clear();
    }
}
