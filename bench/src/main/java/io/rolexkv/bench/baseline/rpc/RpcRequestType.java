package io.rolexkv.bench.baseline.rpc;

/** The operations a client asks the rpc server to execute, with their wire codes ({@link RpcFrameDescriptor}). */
public enum RpcRequestType {
    GET(1),
    PUT(2),
    DELETE(3),
    BATCH_GET(4),
    BATCH_PUT(5),
    SCAN(6),
    COMPARE_AND_SET(7),
    BULK_LOAD(8),
    CLEAR(9),
    STATS(10);

    private static final RpcRequestType[] BY_CODE = new RpcRequestType[STATS.code + 1];

    static {
        for (RpcRequestType type : values()) {
            BY_CODE[type.code] = type;
        }
    }

    private final byte code;

    RpcRequestType(int code) {
        this.code = (byte) code;
    }

    /** The type byte of a request frame. */
    public byte code() {
        return code;
    }

    /** The type byte of the response to this request. */
    public byte responseCode() {
        return (byte) (code | RpcFrameDescriptor.RESPONSE_TYPE_BIT);
    }

    /** The request type with {@code code}, or {@code null} if there is none. */
    static RpcRequestType fromCode(byte code) {
        return code > 0 && code < BY_CODE.length ? BY_CODE[code] : null;
    }
}
