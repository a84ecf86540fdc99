package io.rolexkv.common.fabric.tcp;

import io.rolexkv.common.net.FrameFormatException;
import io.rolexkv.common.net.FrameSplitter;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.WriteBufferWaterMark;
import io.netty.channel.embedded.EmbeddedChannel;
import io.rolexkv.common.fabric.DoorbellBatch;
import io.rolexkv.common.fabric.FabricLimits;
import io.rolexkv.common.fabric.GlobalAddress;
import io.rolexkv.common.fabric.RegisteredMemory;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.lang.foreign.ValueLayout;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The memory node's connection handler, driven through an embedded channel so writability is under the test's
 * control: no completion is made while the client is not taking them, however many requests one read brought in,
 * and every held-back request is answered, in order, once it does.
 */
@Timeout(30)
class TcpServerBackPressureTest {
    private static final int BURST = 100;

    private RegisteredMemory memory;
    private TcpFabricServer server;

    @BeforeEach
    void start() {
        memory = TcpTestSupport.newMemory();
        server = TcpFabricServer.start(memory, FabricLimits.DEFAULT, TcpTestSupport.LOCALHOST_ANY_PORT);
    }

    @AfterEach
    void stop() {
        server.close();
        memory.close();
    }

    @Test
    void requestsOfOneBurstWaitWhileTheChannelIsUnwritableAndAllRunInOrderAfter() throws FrameFormatException {
        EmbeddedChannel channel = new EmbeddedChannel(new FrameSplitter(Integer.MAX_VALUE), server.newConnectionHandler());
        ByteBuf hello = channel.readOutbound();
        assertEquals(TcpTestSupport.MEMORY_NODE, FrameCodec.decodeHello(hello).memoryNodeId());
        hello.release();

        DoorbellBatch batch = new DoorbellBatch();
        int add = batch.fetchAndAdd(GlobalAddress.of(TcpTestSupport.MEMORY_NODE, 0, 0), 1);
        ByteBuf burst = Unpooled.buffer();
        for (int i = 0; i < BURST; i++) {
            burst.writeBytes(FrameCodecTest.encodeRequest(i, batch));
        }
        channel.unsafe().outboundBuffer().setUserDefinedWritability(1, false);
        channel.writeInbound(burst);

        assertNull(channel.readOutbound(), "a completion was made while the client was not taking them");
        assertFalse(channel.config().isAutoRead(), "reading must stop while requests wait");
        assertEquals(0, memory.segment(0).get(ValueLayout.JAVA_LONG, 0), "a held-back batch ran");

        channel.unsafe().outboundBuffer().setUserDefinedWritability(1, true);
        channel.runPendingTasks();

        for (int i = 0; i < BURST; i++) {
            ByteBuf completion = channel.readOutbound();
            try {
                assertEquals(i, FrameCodec.completionBatchId(completion));
                FrameCodec.Done done = assertInstanceOf(FrameCodec.Done.class, FrameCodec.decodeCompletion(completion, batch));
                assertEquals(i, done.result().oldValue(add), "batches must run in the order they arrived");
            } finally {
                completion.release();
            }
        }
        assertNull(channel.readOutbound());
        assertTrue(channel.config().isAutoRead(), "reading must resume once the backlog is answered");
        assertTrue(channel.isOpen());
        channel.finishAndReleaseAll();
    }

    @Test
    void channelThatTurnsWritableAgainDuringItsOwnFlushKeepsReading() throws FrameFormatException {
        EmbeddedChannel channel = new EmbeddedChannel(new FrameSplitter(Integer.MAX_VALUE), server.newConnectionHandler());
        // Every completion crosses the high-water mark, and each flush (which an embedded channel completes at once)
        // makes the channel writable again from inside the handler's own call: the case a socket that drains fast
        // produces.
        channel.config().setWriteBufferWaterMark(new WriteBufferWaterMark(8, 16));
        ((ByteBuf) channel.readOutbound()).release();
        DoorbellBatch batch = new DoorbellBatch();
        int read = batch.read(GlobalAddress.of(TcpTestSupport.MEMORY_NODE, 0, 0), 256);
        ByteBuf burst = Unpooled.buffer();
        for (int i = 0; i < BURST; i++) {
            burst.writeBytes(FrameCodecTest.encodeRequest(i, batch));
        }
        channel.writeInbound(burst);
        channel.runPendingTasks();

        for (int i = 0; i < BURST; i++) {
            ByteBuf completion = channel.readOutbound();
            try {
                assertEquals(i, FrameCodec.completionBatchId(completion), "completion " + i + " missing or out of order");
                FrameCodec.Done done = assertInstanceOf(FrameCodec.Done.class, FrameCodec.decodeCompletion(completion, batch));
                assertEquals(256, done.result().readBytes(read).length);
            } finally {
                completion.release();
            }
        }
        assertTrue(channel.config().isAutoRead(), "a writable channel with nothing held back must be read from");
        channel.finishAndReleaseAll();
    }
}
