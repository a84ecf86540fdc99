package io.rolexkv.common.fabric.tcp;

import io.rolexkv.common.fabric.ConnectionLostException;
import io.rolexkv.common.fabric.DoorbellBatch;
import io.rolexkv.common.fabric.FabricCounters;
import io.rolexkv.common.fabric.FabricException;
import io.rolexkv.common.fabric.FabricLimits;
import io.rolexkv.common.fabric.GlobalAddress;
import io.rolexkv.common.fabric.RegionInfo;
import io.rolexkv.common.fabric.RegisteredMemory;
import io.rolexkv.common.net.FrameConnection;
import io.rolexkv.common.net.NetSettings;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.lang.foreign.ValueLayout;
import java.util.ArrayList;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * A fabric connection's lanes: one socket at first, another for each thread that posts, up to the setting, each
 * thread keeping its own; the threads' FAA sums come out exact; one lane lost loses them all.
 */
@Timeout(60)
class TcpLanesTest {
    private static final int LANES = 3;

    private RegisteredMemory memory;
    private TcpTransport transport;
    private TcpFabricServer server;
    private RegionInfo region;

    @BeforeEach
    void start() {
        memory = TcpTestSupport.newMemory();
        region = memory.regions().getFirst();
        transport = new TcpTransport(FabricLimits.DEFAULT, NetSettings.DEFAULT.withConnections(LANES));
        server = (TcpFabricServer) transport.serve(memory, TcpTestSupport.LOCALHOST_ANY_PORT);
    }

    @AfterEach
    void stop() {
        transport.close();
        memory.close();
    }

    private long counter() {
        return GlobalAddress.of(TcpTestSupport.MEMORY_NODE, region.id(), 0);
    }

    private static DoorbellBatch add(long address) {
        DoorbellBatch batch = new DoorbellBatch();
        batch.fetchAndAdd(address, 1);
        return batch;
    }

    @Test
    void eachPostingThreadGetsALaneUpToTheSettingAndTheSumsAreExact() throws Exception {
        TcpConnection connection = transport.connect(server.endpoint(), new FabricCounters(null));
        assertEquals(1, server.connectionCount(), "one socket until a thread posts");
        long before = memory.segment(region.id()).get(ValueLayout.JAVA_LONG_UNALIGNED, 0);
        int threads = 5;
        int addsPerThread = 200;
        List<Thread> posters = new ArrayList<>();
        for (int t = 0; t < threads; t++) {
            posters.add(Thread.ofPlatform().start(() -> {
                for (int i = 0; i < addsPerThread; i++) {
                    connection.execute(add(counter()));
                }
            }));
        }
        for (Thread poster : posters) {
            poster.join();
        }
        assertEquals(LANES, server.connectionCount(), "lanes at most the setting");
        DoorbellBatch read = new DoorbellBatch();
        read.read(counter(), Long.BYTES);
        long sum = connection.execute(read).read(0).get(ValueLayout.JAVA_LONG_UNALIGNED, 0);
        assertEquals((long) threads * addsPerThread, sum - before, "every add counted once");
    }

    @Test
    void oneLaneLostLosesThemAll() throws Exception {
        TcpConnection connection = transport.connect(server.endpoint(), new FabricCounters(null));
        Thread other = Thread.ofPlatform().start(() -> connection.execute(add(counter())));
        other.join();
        connection.execute(add(counter()));
        assertEquals(2, server.connectionCount());
        server.close();
        FabricException lost = assertThrows(FabricException.class, () -> connection.execute(add(counter())));
        assertInstanceOf(ConnectionLostException.class, lost);
        assertFalse(connection.isOpen());
    }

    /**
     * A lane is opened when a thread first posts, which may be after the node restarted without its data (before the
     * first lane noticed): a lane that reaches other memory of the same node id is not used, and the thread stays on
     * the first lane, so its batch runs against the memory its caller knows.
     */
    @Test
    void aLaneThatReachesAnotherIncarnationIsNotUsed() throws Exception {
        RegisteredMemory fresh = TcpTestSupport.newMemory();
        try (TcpFabricServer restarted = (TcpFabricServer) transport.serve(fresh, TcpTestSupport.LOCALHOST_ANY_PORT)) {
            NetSettings settings = NetSettings.DEFAULT.withConnections(LANES);
            TcpConnection connection = new TcpConnection(
                    FrameConnection.open(server.endpoint(), TcpConnection.PROTOCOL, settings),
                    () -> FrameConnection.open(restarted.endpoint(), TcpConnection.PROTOCOL, settings), LANES,
                    new FabricCounters(null), closed -> { });
            try {
                connection.execute(add(counter())); // this thread takes the first lane; the next thread a new one
                Thread other = Thread.ofPlatform().start(() -> connection.execute(add(counter())));
                other.join();
                assertEquals(2, memory.segment(region.id()).get(ValueLayout.JAVA_LONG_UNALIGNED, 0),
                        "both adds ran on the first lane's memory");
                assertEquals(0, fresh.segment(region.id()).get(ValueLayout.JAVA_LONG_UNALIGNED, 0),
                        "nothing ran on the other incarnation");
                assertTrue(connection.isOpen());
            } finally {
                connection.close();
            }
        } finally {
            fresh.close();
        }
    }
}
