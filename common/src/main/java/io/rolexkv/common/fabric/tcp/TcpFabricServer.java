package io.rolexkv.common.fabric.tcp;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.rolexkv.common.fabric.DoorbellBatch;
import io.rolexkv.common.fabric.FabricLimits;
import io.rolexkv.common.fabric.FabricServer;
import io.rolexkv.common.fabric.RegisteredMemory;
import io.rolexkv.common.fabric.VerbExecutor;
import io.rolexkv.common.fabric.VerbRejectedException;
import io.rolexkv.common.net.FrameFormatException;
import io.rolexkv.common.net.FrameServer;
import io.rolexkv.common.net.NetSettings;
import io.rolexkv.common.net.RequestHandler;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.util.function.Consumer;

/**
 * A memory node's registered memory served over tcp: the software stand-in for an RDMA NIC, on the network layer's
 * {@link FrameServer}. Each connection is one queue pair. Its handler does what a NIC does and nothing more: decode a
 * REQUEST frame into the connection's one reusable batch, check it with {@link VerbExecutor}, and run it straight
 * into the COMPLETION frame (READ data is copied once, from registered memory into the frame). No index logic runs
 * here, and a batch allocates nothing on the node beyond its completion frame.
 *
 * <p>A refused batch ({@link VerbRejectedException}) is an answer, not a failure: the client gets a REFUSED
 * completion and the connection stays open. A frame that breaks {@link FrameDescriptor}'s layout or exceeds
 * {@link FabricLimits#maxFrameBytes()} closes that one connection, and a client that stops reading is back-pressured,
 * as {@link FrameServer} says.
 *
 * <p>Start one with {@link #start} ({@code host:0} binds any free port; {@link #endpoint()} then names the real one).
 * Closing it closes every connection, so clients see the node die, but does not free the memory: the memory node
 * owns that.
 */
public final class TcpFabricServer implements FabricServer {
    private static final Logger LOG = LoggerFactory.getLogger(TcpFabricServer.class);

    private final RegisteredMemory memory;
    private final FabricLimits limits;
    private final FrameServer server;
    private final Consumer<TcpFabricServer> onClose;

    private TcpFabricServer(RegisteredMemory memory, FabricLimits limits, String bindEndpoint, NetSettings settings,
                            Consumer<TcpFabricServer> onClose) {
        this.memory = memory;
        this.limits = limits;
        this.onClose = onClose;
        this.server = FrameServer.start("memory_node=" + memory.memoryNodeId(), bindEndpoint,
                settings.ioThreads(), FrameDescriptor.maxFrameBytes(limits), settings.secret(), VerbHandler::new);
    }

    /** Serves {@code memory} at {@code bindEndpoint} ({@code host:port}, port 0 for any free port) with default settings. */
    public static TcpFabricServer start(RegisteredMemory memory, FabricLimits limits, String bindEndpoint) {
        return start(memory, limits, bindEndpoint, NetSettings.DEFAULT);
    }

    /**
     * Serves {@code memory} at {@code bindEndpoint} with {@code settings.ioThreads()} event loops.
     *
     * @throws IllegalStateException if the endpoint cannot be bound, naming it
     */
    public static TcpFabricServer start(RegisteredMemory memory, FabricLimits limits, String bindEndpoint, NetSettings settings) {
        return start(memory, limits, bindEndpoint, settings, server -> { });
    }

    static TcpFabricServer start(RegisteredMemory memory, FabricLimits limits, String bindEndpoint, NetSettings settings,
                                 Consumer<TcpFabricServer> onClose) {
        TcpFabricServer server = new TcpFabricServer(memory, limits, bindEndpoint, settings, onClose);
        LOG.info("tcp_server started memory_node={} endpoint={} regions={} max_frame_bytes={} auth={}",
                memory.memoryNodeId(), server.endpoint(), memory.regions().size(), FrameDescriptor.maxFrameBytes(limits),
                settings.secret().isPresent() ? "cluster_secret" : "none");
        return server;
    }

    /** {@code host:port} with the port actually bound. */
    @Override
    public String endpoint() {
        return server.endpoint();
    }

    public int memoryNodeId() {
        return memory.memoryNodeId();
    }

    /** Connections open right now. */
    public int connectionCount() {
        return server.connectionCount();
    }

    /** Connections closed because of what the peer sent. */
    public long refusedConnections() {
        return server.refusedConnections();
    }

    /** Connections closed because they did not prove the cluster secret (also counted in refused connections). */
    public long authFailures() {
        return server.authFailures();
    }

    /** Stops accepting, closes every connection (clients see the node die) and stops the event loops. Idempotent. */
    @Override
    public void close() {
        server.close();
        onClose.accept(this);
        LOG.info("tcp_server stopped memory_node={} endpoint={}", memory.memoryNodeId(), endpoint());
    }

    /** The handler one connection gets; for tests that drive it through an embedded channel. */
    ChannelInboundHandlerAdapter newConnectionHandler() {
        return server.newConnectionHandler();
    }

    @Override
    public String toString() {
        return "TcpFabricServer[memoryNode=" + memory.memoryNodeId() + " endpoint=" + endpoint() + "]";
    }

    /** One per connection: the NIC of one queue pair, with the batch and the result writer it reuses. */
    private final class VerbHandler implements RequestHandler {
        private final DoorbellBatch batch = new DoorbellBatch();
        private final FrameCodec.DoneWriter results = new FrameCodec.DoneWriter();

        @Override
        public ByteBuf hello(ByteBufAllocator allocator) {
            return FrameCodec.encodeHello(allocator, memory.memoryNodeId(), memory.incarnation(), limits,
                    memory.regions());
        }

        /** Runs the batch; WRITE payloads are views of the request frame, which stays retained until this returns. */
        @Override
        public ByteBuf answer(ByteBufAllocator allocator, ByteBuf frame) throws FrameFormatException {
            long batchId = FrameCodec.decodeRequest(frame, batch);
            try {
                VerbExecutor.validate(memory, limits, batch);
            } catch (VerbRejectedException rejected) {
                return FrameCodec.encodeRefused(allocator, batchId, rejected);
            }
            ByteBuf completion = FrameCodec.startDone(allocator, batchId, batch);
            try {
                VerbExecutor.apply(memory, batch, results.target(completion));
            } catch (RuntimeException e) {
                results.forget();
                completion.release();
                throw e;
            } finally {
                batch.clear();
            }
            return results.finish();
        }
    }
}
