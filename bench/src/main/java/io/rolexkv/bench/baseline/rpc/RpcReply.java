package io.rolexkv.bench.baseline.rpc;

import io.rolexkv.common.kv.KeyValueBytes;

import java.util.List;

/**
 * What the server answers to one request, before {@link RpcFrameCodec} encodes it into a RESPONSE frame. A
 * {@code null} value stands for absent, as in {@link RpcRequest}. Value arrays are the store's own (never changed
 * once stored), so a reply must be encoded before anything else sees it.
 */
sealed interface RpcReply {

    /** OK with no body: PUT, BATCH_PUT, a successful COMPARE_AND_SET, BULK_LOAD, CLEAR. */
    record Done() implements RpcReply {
    }

    Done DONE = new Done();

    /** OK answer to GET. */
    record Value(byte[] value) implements RpcReply {
    }

    /** OK answer to DELETE. */
    record Removed(boolean removed) implements RpcReply {
    }

    /** OK answer to BATCH_GET: the values of the first {@code values.length} keys asked. */
    record Values(byte[][] values) implements RpcReply {
    }

    /** OK answer to SCAN; {@code more}: the frame filled up before the range or the limit ended. */
    record ScanPage(List<KeyValueBytes> pairs, boolean more) implements RpcReply {
    }

    /** CONFLICT answer to COMPARE_AND_SET, with the value that is stored now. */
    record Conflict(byte[] current) implements RpcReply {
    }

    /** OK answer to STATS. */
    record Stats(RpcServerStats stats) implements RpcReply {
    }

    /** BAD_ARGUMENT: the request was refused and changed nothing. */
    record Refused(String message) implements RpcReply {
    }

    /** FAILED: the server could not execute the request. */
    record Failed(String message) implements RpcReply {
    }
}
