package io.rolexkv.computenode.contract;

/** The BaseKV contract on the rolex engine with three memory nodes over tcp (an even split of the key space). */
class RolexKVTcpThreeNodesContractTest extends RolexKVContractTestBase {
    RolexKVTcpThreeNodesContractTest() {
        super("tcp", 3);
    }
}
