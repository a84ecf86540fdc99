package io.rolexkv.bench.ycsb;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.LongAdder;

/**
 * The exceptions the binding turned into YCSB's ERROR status in one phase: the first of each operation type is logged
 * with its stack trace, every one is counted. A broken engine then shows its cause once instead of burying the summary
 * under a million identical traces.
 */
public final class BindingErrors {
    private static final Logger LOG = LoggerFactory.getLogger(BindingErrors.class);

    private final AtomicBoolean[] logged = new AtomicBoolean[OperationType.values().length];
    private final LongAdder count = new LongAdder();

    public BindingErrors() {
        for (int i = 0; i < logged.length; i++) {
            logged[i] = new AtomicBoolean();
        }
    }

    /** Counts {@code failure} of an operation of {@code type} on {@code ycsbKey}; logs it if it is the type's first. */
    public void record(OperationType type, String ycsbKey, RuntimeException failure) {
        count.increment();
        if (logged[type.ordinal()].compareAndSet(false, true)) {
            LOG.error("YCSB {} of key={} failed; later failures of {} in this phase are only counted",
                    type.ycsbName(), ycsbKey, type.ycsbName(), failure);
        }
    }

    /** How many operations failed with an exception so far. */
    public long count() {
        return count.sum();
    }
}
