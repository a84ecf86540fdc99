package io.rolexkv.bench.ycsb;

import site.ycsb.Status;

/** How one operation ended, as the binding answers YCSB: the three statuses it ever returns. */
public enum OperationOutcome {
    OK,
    NOT_FOUND,
    ERROR;

    /** The outcome of a YCSB status: anything not OK or NOT_FOUND is an error. */
    public static OperationOutcome of(Status status) {
        if (status.isOk()) {
            return OK;
        }
        return Status.NOT_FOUND.equals(status) ? NOT_FOUND : ERROR;
    }

    /** The worse of two outcomes (ERROR over NOT_FOUND over OK): a compound operation ends as its worst part. */
    OperationOutcome worse(OperationOutcome other) {
        return compareTo(other) >= 0 ? this : other;
    }
}
