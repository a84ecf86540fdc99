package io.rolexkv.computenode.contract;

/** The BaseKV contract on the rolex engine with one memory node over loopback. */
class RolexKVLoopbackContractTest extends RolexKVContractTestBase {
    RolexKVLoopbackContractTest() {
        super("loopback", 1);
    }
}
