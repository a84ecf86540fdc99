package io.rolexkv.bench.baseline.btree;

import java.util.List;

/** The transports every B+tree test runs over; a new transport is one more name here. */
final class BTreeTransports {
    static final List<String> NAMES = List.of("loopback", "tcp");

    private BTreeTransports() {
    }
}
