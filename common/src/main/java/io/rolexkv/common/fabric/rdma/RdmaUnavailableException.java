package io.rolexkv.common.fabric.rdma;

/**
 * This JVM cannot run the rdma transport: the native library, an RDMA device, an atomics-capable DiSNI or a JVM flag
 * is missing. The message names each problem and what to install, build or pass; {@link #report()} has them as data.
 * A configuration problem of the host, not of a batch, hence not a {@code FabricException}.
 */
public final class RdmaUnavailableException extends IllegalStateException {
    private static final long serialVersionUID = 1L;

    private final transient RdmaAvailability.Report report;

    public RdmaUnavailableException(RdmaAvailability.Report report) {
        super(report.describe());
        this.report = report;
    }

    /** What the start-up check found. */
    public RdmaAvailability.Report report() {
        return report;
    }
}
