package io.rolexkv.bench.baseline.rpc;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import io.rolexkv.common.net.FrameFormatException;
import io.rolexkv.common.net.FrameHeader;
import io.rolexkv.common.net.FrameServer;
import io.rolexkv.common.net.RequestHandler;
import io.rolexkv.common.net.TcpEndpoint;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.lang.management.ManagementFactory;
import java.lang.management.OperatingSystemMXBean;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.LongAdder;

/**
 * The rpc baseline's server: the traditional design, where the memory node's CPU executes every operation. It runs
 * on the network layer's {@link FrameServer}, as the tcp fabric's memory node does; its handler decodes each REQUEST
 * frame ({@link RpcFrameDescriptor}), executes it on the store ({@link RpcKVStore}, a
 * {@link java.util.concurrent.ConcurrentSkipListMap} with the unsigned order) in the connection's event loop, and
 * answers with one RESPONSE frame. It is what the one-sided engines are measured against: the same operations, one
 * round trip each, with the server's CPU doing the work; {@link #stats()} says how much.
 *
 * <p>A refused request (bad argument) is an answer, not a failure: the client gets BAD_ARGUMENT and the connection
 * stays open. A frame that breaks the layout, or is larger than the max frame, closes that one connection, and a
 * client that stops reading is back-pressured, as {@link FrameServer} says.
 *
 * <p>Start one in-process with {@link #start} (port 0 binds any free port; {@link #endpoint()} names the real one),
 * or as a process with {@link RpcKVServerMain}. Closing it closes every connection, so clients see the node die.
 */
public final class RpcKVServer implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(RpcKVServer.class);

    private final RpcKVServerSettings settings;
    private final RpcKVStore store;
    private final FrameServer server;
    private final AtomicBoolean closed = new AtomicBoolean();

    private final LongAdder requests = new LongAdder();
    private final LongAdder bytesReceived = new LongAdder();
    private final LongAdder bytesSent = new LongAdder();

    private RpcKVServer(String bindEndpoint, RpcKVServerSettings settings) {
        this.settings = settings;
        this.store = new RpcKVStore(settings.maxValueBytes(), settings.maxFrameBytes(), this::stats);
        this.server = FrameServer.start("rpc_server", bindEndpoint, settings.ioThreads(), settings.maxFrameBytes(),
                OperationHandler::new);
    }

    /** Serves on a free port of the loopback interface. */
    public static RpcKVServer start(RpcKVServerSettings settings) {
        return start("127.0.0.1", 0, settings);
    }

    /**
     * Serves at {@code host:port} (port 0: any free port).
     *
     * @throws IllegalStateException if the endpoint cannot be bound, naming it
     */
    public static RpcKVServer start(String host, int port, RpcKVServerSettings settings) {
        RpcKVServer server = new RpcKVServer(new TcpEndpoint(host, port).toString(), settings);
        LOG.info("rpc_server started endpoint={} max_value_bytes={} max_frame_bytes={} io_threads={}", server.endpoint(),
                settings.maxValueBytes(), settings.maxFrameBytes(), settings.ioThreads());
        return server;
    }

    /** {@code host:port} with the port actually bound. */
    public String endpoint() {
        return server.endpoint();
    }

    public int port() {
        return server.port();
    }

    public RpcKVServerSettings settings() {
        return settings;
    }

    /** Connections open right now. */
    public int connectionCount() {
        return server.connectionCount();
    }

    /**
     * What the server has done and what it cost, since it started: requests, bytes, and the CPU time of its event
     * loop threads (the server's own work even in a shared JVM) and of its whole process.
     */
    public RpcServerStats stats() {
        return new RpcServerStats(requests.sum(), bytesReceived.sum(), bytesSent.sum(), server.ioThreadCpuNanos(),
                processCpuNanos());
    }

    /** CPU time of this whole process, or -1 where the platform does not report it. */
    static long processCpuNanos() {
        OperatingSystemMXBean system = ManagementFactory.getOperatingSystemMXBean();
        if (system instanceof com.sun.management.OperatingSystemMXBean withCpu) {
            return withCpu.getProcessCpuTime();
        }
        return -1;
    }

    /** Stops accepting, closes every connection (clients see the node die) and stops the event loops. Idempotent. */
    @Override
    public void close() {
        if (!closed.compareAndSet(false, true)) {
            return;
        }
        server.close();
        RpcServerStats last = stats();
        LOG.info("rpc_server stopped endpoint={} requests={} io_thread_cpu_ms={}", endpoint(), last.requests(),
                TimeUnit.NANOSECONDS.toMillis(last.ioThreadCpuNanos()));
    }

    @Override
    public String toString() {
        return "RpcKVServer[endpoint=" + endpoint() + "]";
    }

    /** One per connection: decodes a request, runs it on the store, encodes the answer. */
    private final class OperationHandler implements RequestHandler {
        @Override
        public ByteBuf hello(ByteBufAllocator allocator) {
            ByteBuf hello = RpcFrameCodec.encodeHello(allocator, settings.maxValueBytes(), settings.maxFrameBytes());
            bytesSent.add(hello.readableBytes());
            return hello;
        }

        @Override
        public ByteBuf answer(ByteBufAllocator allocator, ByteBuf frame) throws FrameFormatException {
            RpcRequest request = RpcFrameCodec.decodeRequest(frame);
            requests.increment();
            bytesReceived.add(frame.readableBytes());
            ByteBuf response = RpcFrameCodec.encodeReply(allocator, FrameHeader.requestId(frame), request.type(),
                    execute(request));
            bytesSent.add(response.readableBytes());
            return response;
        }

        private RpcReply execute(RpcRequest request) {
            try {
                return store.execute(request);
            } catch (RuntimeException e) {
                LOG.error("rpc_server could not execute type={}", request.type(), e);
                return new RpcReply.Failed("type=" + request.type() + " error=" + e);
            }
        }
    }
}
