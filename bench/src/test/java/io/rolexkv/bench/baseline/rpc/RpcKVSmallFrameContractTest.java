package io.rolexkv.bench.baseline.rpc;

/**
 * The contract again with the smallest frames the server allows (two largest values and a header), so the suite's
 * 64 KB values, large scans and batches take the paths that split them over several frames: batch gets answered in
 * part, scans continued after their last key, batch puts and bulk loads pipelined in several frames.
 */
class RpcKVSmallFrameContractTest extends RpcKVContractTest {
    @Override
    protected RpcKVServerSettings serverSettings(int maxValueBytes) {
        return super.serverSettings(maxValueBytes)
                .withMaxFrameBytes((int) RpcFrameDescriptor.minMaxFrameBytes(maxValueBytes));
    }
}
