package io.rolexkv.bench.baseline.rpc;

import java.util.List;

/**
 * A request as the server decoded it from a REQUEST frame ({@link RpcFrameDescriptor}). Inside this package a
 * {@code null} value stands for an absent optional value on the wire; value arrays are fresh copies out of the frame,
 * owned by whoever decoded them.
 */
sealed interface RpcRequest {

    RpcRequestType type();

    record Get(long key) implements RpcRequest {
        @Override
        public RpcRequestType type() {
            return RpcRequestType.GET;
        }
    }

    record Put(long key, byte[] value) implements RpcRequest {
        @Override
        public RpcRequestType type() {
            return RpcRequestType.PUT;
        }
    }

    record Delete(long key) implements RpcRequest {
        @Override
        public RpcRequestType type() {
            return RpcRequestType.DELETE;
        }
    }

    record BatchGet(long[] keys) implements RpcRequest {
        @Override
        public RpcRequestType type() {
            return RpcRequestType.BATCH_GET;
        }
    }

    record BatchPut(long[] keys, List<byte[]> values) implements RpcRequest {
        @Override
        public RpcRequestType type() {
            return RpcRequestType.BATCH_PUT;
        }
    }

    record Scan(long fromKey, long toKey, int limit) implements RpcRequest {
        @Override
        public RpcRequestType type() {
            return RpcRequestType.SCAN;
        }
    }

    /** {@code expected} and {@code desired} are {@code null} for absent. */
    record CompareAndSet(long key, byte[] expected, byte[] desired) implements RpcRequest {
        @Override
        public RpcRequestType type() {
            return RpcRequestType.COMPARE_AND_SET;
        }
    }

    record BulkLoad(boolean replace, long[] keys, List<byte[]> values) implements RpcRequest {
        @Override
        public RpcRequestType type() {
            return RpcRequestType.BULK_LOAD;
        }
    }

    record Clear() implements RpcRequest {
        @Override
        public RpcRequestType type() {
            return RpcRequestType.CLEAR;
        }
    }

    record Stats() implements RpcRequest {
        @Override
        public RpcRequestType type() {
            return RpcRequestType.STATS;
        }
    }
}
