package io.rolexkv.rolex.index;

import java.util.List;

/** The transports every index test runs over. */
final class IndexTransports {
    static final List<String> NAMES = List.of("loopback", "tcp");
    /** Transports for the concurrency tests; the fault-injecting ones tear writes. */
    static final List<String> CONCURRENCY_NAMES = List.of("loopback", IndexFixture.TORN, "tcp");

    private IndexTransports() {
    }
}
