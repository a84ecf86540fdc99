package io.rolexkv.bench.ycsb;

/**
 * The YCSB operation types the harness measures, under the names YCSB itself reports them by. A read-modify-write is
 * YCSB's compound of one read and one update of the same key: its parts are counted as a READ and an UPDATE too, as
 * YCSB counts them.
 */
public enum OperationType {
    READ("READ"),
    UPDATE("UPDATE"),
    INSERT("INSERT"),
    SCAN("SCAN"),
    READ_MODIFY_WRITE("READ-MODIFY-WRITE"),
    DELETE("DELETE");

    private final String ycsbName;

    OperationType(String ycsbName) {
        this.ycsbName = ycsbName;
    }

    /** The name in YCSB's output and in the report's {@code operations_by_type}. */
    public String ycsbName() {
        return ycsbName;
    }
}
