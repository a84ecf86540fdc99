package io.rolexkv.common.fabric.tcp;

import io.rolexkv.common.fabric.FabricContractTest;
import io.rolexkv.common.fabric.FabricLimits;
import io.rolexkv.common.fabric.RegisteredMemory;

/** The tcp transport against the fabric contract: the same semantics as loopback, over Netty on 127.0.0.1. */
class TcpFabricContractTest extends FabricContractTest {

    @Override
    protected Fixture start(RegisteredMemory memory, FabricLimits limits) {
        return Fixture.serving(new TcpTransport(limits), memory, "127.0.0.1:0");
    }
}
