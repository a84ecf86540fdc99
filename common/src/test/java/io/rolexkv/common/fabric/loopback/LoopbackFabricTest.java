package io.rolexkv.common.fabric.loopback;

import io.rolexkv.common.fabric.FabricContractTest;
import io.rolexkv.common.fabric.FabricLimits;
import io.rolexkv.common.fabric.RegisteredMemory;

/** The loopback transport against the fabric contract: the reference every other transport is held to. */
class LoopbackFabricTest extends FabricContractTest {

    @Override
    protected Fixture start(RegisteredMemory memory, FabricLimits limits) {
        return Fixture.serving(new LoopbackTransport(limits), memory, "contract-memory-node");
    }
}
