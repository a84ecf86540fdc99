package io.rolexkv.bench.ycsb;

import java.lang.management.ManagementFactory;

/** CPU time of this process, all threads, as the operating system counts it. */
final class ProcessCpu {
    private ProcessCpu() {
    }

    /**
     * CPU nanoseconds this process has used so far.
     *
     * @throws IllegalStateException on a JVM that does not report it (every HotSpot JVM on Linux does)
     */
    static long nanos() {
        if (ManagementFactory.getOperatingSystemMXBean() instanceof com.sun.management.OperatingSystemMXBean os) {
            long nanos = os.getProcessCpuTime();
            if (nanos >= 0) {
                return nanos;
            }
        }
        throw new IllegalStateException("this JVM does not report its process CPU time");
    }
}
