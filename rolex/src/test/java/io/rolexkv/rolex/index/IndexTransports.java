package io.rolexkv.rolex.index;

import java.util.List;

/** The transports every index test runs over. */
final class IndexTransports {
    static final List<String> NAMES = List.of("loopback", "tcp");

    private IndexTransports() {
    }
}
