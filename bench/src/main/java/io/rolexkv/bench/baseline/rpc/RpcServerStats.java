package io.rolexkv.bench.baseline.rpc;

/**
 * What the rpc server has done and what it cost its CPU, since it started: the figure the one-sided engines avoid
 * paying. Subtract two snapshots to get the cost of what ran between them.
 *
 * @param requests       request frames executed (STATS requests included)
 * @param bytesReceived  request frame bytes received, length fields included
 * @param bytesSent      response frame bytes sent, HELLOs included
 * @param ioThreadCpuNanos CPU time of the server's event loop threads, which decode, execute and answer every
 *                       request: the server's own work, even when client and server share a process
 * @param processCpuNanos CPU time of the whole server process (everything in it, so it includes clients started in
 *                       the same JVM); -1 where the platform does not say
 */
public record RpcServerStats(long requests, long bytesReceived, long bytesSent, long ioThreadCpuNanos,
                             long processCpuNanos) {

    public RpcServerStats minus(RpcServerStats earlier) {
        return new RpcServerStats(requests - earlier.requests, bytesReceived - earlier.bytesReceived,
                bytesSent - earlier.bytesSent, ioThreadCpuNanos - earlier.ioThreadCpuNanos,
                processCpuNanos < 0 || earlier.processCpuNanos < 0 ? -1 : processCpuNanos - earlier.processCpuNanos);
    }
}
