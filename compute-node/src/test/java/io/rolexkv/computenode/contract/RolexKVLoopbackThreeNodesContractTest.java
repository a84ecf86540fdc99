package io.rolexkv.computenode.contract;

/** The BaseKV contract on the rolex engine with three memory nodes over loopback (an even split of the key space). */
class RolexKVLoopbackThreeNodesContractTest extends RolexKVContractTestBase {
    RolexKVLoopbackThreeNodesContractTest() {
        super("loopback", 3);
    }
}
