package io.rolexkv.computenode.contract;

import io.rolexkv.common.config.ConfigNode;
import io.rolexkv.common.kv.BaseKV;
import io.rolexkv.common.kv.BaseKVContractTest;
import io.rolexkv.computenode.KVEngines;

/** The BaseKV contract on the in-process engine as the factory opens it from a config. */
class InProcessEngineContractTest extends BaseKVContractTest {
    @Override
    protected BaseKV newEngine(int maxValueBytes) {
        return KVEngines.open(ConfigNode.parse("{\"engine_type\": \"in_process\", \"max_value_bytes\": " + maxValueBytes + "}", "test"));
    }
}
