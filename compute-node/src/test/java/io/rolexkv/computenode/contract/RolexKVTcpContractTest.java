package io.rolexkv.computenode.contract;

/** The BaseKV contract on the rolex engine with one memory node over tcp. */
class RolexKVTcpContractTest extends RolexKVContractTestBase {
    RolexKVTcpContractTest() {
        super("tcp", 1);
    }
}
