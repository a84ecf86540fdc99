package io.rolexkv.common.kv;

/** The reference engine holds itself to the contract every other engine is tested against. */
class SortedMapKVContractTest extends BaseKVContractTest {
    @Override
    protected BaseKV newEngine(int maxValueBytes) {
        return new SortedMapKV(maxValueBytes);
    }
}
