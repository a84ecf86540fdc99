package io.rolexkv.common.fabric;

import io.rolexkv.common.fabric.fault.FaultInjectingTransport;
import io.rolexkv.common.fabric.fault.FaultPlan;
import io.rolexkv.common.fabric.loopback.LoopbackTransport;
import io.rolexkv.common.fabric.tcp.TcpTransport;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The reconnecting connection against a memory node that stops and starts again on the same endpoint with the same
 * memory (what {@code --data-dir} gives a restarted node), one that comes back with fresh memory (restarted without
 * its data), one that never comes back, and one that comes back as another node.
 */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class ReconnectingConnectionTest {
    private static final int NODE = 3;
    private static final int FIRST_REGION = firstRegionId();

    private static int firstRegionId() {
        try (RegisteredMemory probe = new RegisteredMemory(0)) {
            return probe.allocate("probe", 64).id();
        }
    }

    /** A node's memory, served and stopped at will on one endpoint, as a process restarted on the same port. */
    private static final class RestartableNode implements AutoCloseable {
        RegisteredMemory memory;
        final FabricTransport transport;
        final String endpoint;
        final int region;
        private FabricServer server;

        RestartableNode(String transportName, int nodeId) {
            memory = new RegisteredMemory(nodeId);
            region = memory.allocate("data", 4096).id();
            transport = transportName.equals(TcpTransport.NAME) ? new TcpTransport() : new LoopbackTransport();
            server = transport.serve(memory, transportName.equals(TcpTransport.NAME) ? "127.0.0.1:0" : "restartable");
            endpoint = server.endpoint();
        }

        void stop() {
            server.close();
            server = null;
        }

        void start() {
            server = transport.serve(memory, endpoint);
        }

        /** Stops, and starts again on the same endpoint as the same node with the same regions, but fresh memory. */
        void restartWithoutData() {
            stop();
            RegisteredMemory fresh = new RegisteredMemory(memory.memoryNodeId());
            assertEquals(region, fresh.allocate("data", memory.regions().get(region).length()).id());
            memory.close();
            memory = fresh;
            start();
        }

        long word(int offset) {
            return memory.segment(region).get(java.lang.foreign.ValueLayout.JAVA_LONG_UNALIGNED, offset);
        }

        @Override
        public void close() {
            if (server != null) {
                server.close();
            }
            transport.close();
            memory.close();
        }
    }

    /** The one region of every node here is the first registered; both nodes number it alike. */
    private static long address(int offset) {
        return GlobalAddress.of(NODE, FIRST_REGION, offset);
    }

    private static DoorbellBatch writeWord(int offset, long value) {
        DoorbellBatch batch = new DoorbellBatch();
        batch.writeLong(address(offset), value);
        return batch;
    }

    private static long readWord(FabricConnection connection, int offset) {
        DoorbellBatch batch = new DoorbellBatch();
        int read = batch.read(address(offset), 8);
        return connection.execute(batch).readLong(read, 0);
    }

    @ParameterizedTest
    @ValueSource(strings = {"tcp", "loopback"})
    void aRestartedNodeIsReconnectedAndKeepsWhatWasAcknowledged(String transportName) throws Exception {
        try (RestartableNode node = new RestartableNode(transportName, NODE);
             ReconnectingConnection connection = new ReconnectingConnection(node.transport, node.endpoint, null,
                     ReconnectingConnection.Policy.withDeadline(20_000))) {
            connection.execute(writeWord(0, 41));
            assertEquals(node.memory.incarnation(), connection.incarnation());
            node.stop();
            // Posted while the node is away: a READ finds the break and is posted again once the node is back; the
            // write after it waits for the restart instead of failing (or spinning). (A write that found the break
            // itself would fail with ConnectionLostException, outcome unknown: the last test shows that.)
            CompletableFuture<Long> duringOutage = CompletableFuture.supplyAsync(() -> {
                long before = readWord(connection, 0);
                connection.execute(writeWord(8, 42));
                return before;
            });
            Thread.sleep(300);
            assertFalse(duringOutage.isDone(), "an operation during the outage waits for the node");
            node.start();
            assertEquals(41, duringOutage.get(20, TimeUnit.SECONDS), "acknowledged before the restart, read after it");
            assertEquals(42, node.word(8), "the write posted during the outage reached the node once it was back");
            assertEquals(42, readWord(connection, 8));
            assertTrue(connection.reconnects() >= 1);
            assertTrue(connection.isOpen());
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"tcp", "loopback"})
    void aNodeRestartedWithoutItsDataIsMarkedDownAndNothingIsReadFromItsEmptyMemory(String transportName) {
        try (RestartableNode node = new RestartableNode(transportName, NODE);
             ReconnectingConnection connection = new ReconnectingConnection(node.transport, node.endpoint, null,
                     ReconnectingConnection.Policy.withDeadline(20_000))) {
            connection.execute(writeWord(0, 41));
            long first = connection.incarnation();
            node.restartWithoutData();
            long fresh = node.memory.incarnation();
            assertNotEquals(first, fresh, "fresh memory has a new incarnation");

            // The READ would find 0 in the new memory, and a caller would take that for data: it fails instead.
            MemoryNodeDataLostException lost = assertThrows(MemoryNodeDataLostException.class,
                    () -> readWord(connection, 0));
            assertEquals(NODE, lost.memoryNodeId());
            assertEquals(node.endpoint, lost.endpoint());
            assertEquals(fresh, lost.incarnation());
            assertEquals(first, lost.previousIncarnation());
            assertTrue(lost.getMessage().startsWith("memory node " + NODE + " at endpoint=" + node.endpoint
                    + " is down: it restarted without its data: incarnation "
                    + RegisteredMemory.incarnationText(fresh) + ", was " + RegisteredMemory.incarnationText(first)),
                    lost.getMessage());
            assertInstanceOf(MemoryNodeDownException.class, lost, "callers that stop on a down node stop on this too");

            // Down for good: later batches are refused before they are sent, so the new memory stays untouched.
            assertThrows(MemoryNodeDataLostException.class, () -> connection.execute(writeWord(8, 5)));
            assertThrows(MemoryNodeDataLostException.class, () -> readWord(connection, 8));
            assertEquals(0, node.word(8));
            assertFalse(connection.isOpen());
            assertTrue(connection.isDown());
        }
    }

    @Test
    void aNodeThatNeverComesBackIsMarkedDownWithinTheDeadlineWithoutSpinning() {
        long deadlineMillis = 500;
        try (RestartableNode node = new RestartableNode(TcpTransport.NAME, NODE);
             ReconnectingConnection connection = new ReconnectingConnection(node.transport, node.endpoint, null,
                     ReconnectingConnection.Policy.withDeadline(deadlineMillis))) {
            readWord(connection, 0);
            node.stop();
            long start = System.nanoTime();
            MemoryNodeDownException down = assertThrows(MemoryNodeDownException.class, () -> readWord(connection, 0));
            long waitedMillis = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - start);
            assertTrue(waitedMillis >= deadlineMillis && waitedMillis < deadlineMillis + 10_000, "waited " + waitedMillis);
            assertEquals(NODE, down.memoryNodeId());
            assertEquals(node.endpoint, down.endpoint());
            assertTrue(down.getMessage().contains("memory node " + NODE + " at endpoint=" + node.endpoint)
                    && down.getMessage().contains("reconnect_deadline_ms=" + deadlineMillis), down.getMessage());
            // Backoff from 20 ms doubling: about 6 tries in half a second, where a spinning loop would make thousands.
            long attempts = connection.connectAttempts();
            assertTrue(attempts >= 3 && attempts <= 15, "connect attempts=" + attempts);
            assertFalse(connection.isOpen());
            // Down stays down, and says so at once, without trying again.
            node.start();
            long again = System.nanoTime();
            assertThrows(MemoryNodeDownException.class, () -> connection.execute(writeWord(0, 1)));
            assertTrue(TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - again) < deadlineMillis);
            assertEquals(attempts, connection.connectAttempts());
            assertEquals(0, node.word(0), "nothing of a batch refused by a down node was sent");
        }
    }

    @Test
    void anotherNodeAtTheEndpointMarksItDown() {
        try (RestartableNode node = new RestartableNode(TcpTransport.NAME, NODE);
             ReconnectingConnection connection = new ReconnectingConnection(node.transport, node.endpoint, null,
                     ReconnectingConnection.Policy.withDeadline(20_000))) {
            readWord(connection, 0);
            node.stop();
            try (RegisteredMemory other = new RegisteredMemory(NODE + 1)) {
                other.allocate("data", 4096);
                try (FabricServer impostor = node.transport.serve(other, node.endpoint)) {
                    MemoryNodeDownException down = assertThrows(MemoryNodeDownException.class,
                            () -> readWord(connection, 0));
                    assertTrue(down.getMessage().contains("another memory node answers there now: memory_node="
                            + (NODE + 1)), down.getMessage());
                }
            }
        }
    }

    @Test
    void aReadInFlightIsPostedAgainAndAWriteInFlightHasAnUnknownOutcome() {
        // Every connection this transport opens drops when its third batch is posted, with that batch in flight.
        try (RestartableNode node = new RestartableNode(TcpTransport.NAME, NODE);
             FaultInjectingTransport dropping = new FaultInjectingTransport(node.transport,
                     FaultPlan.builder().dropAfterBatches(2).build());
             ReconnectingConnection connection = new ReconnectingConnection(dropping, node.endpoint, null,
                     ReconnectingConnection.Policy.withDeadline(20_000))) {
            connection.execute(writeWord(0, 7));
            readWord(connection, 0);
            assertEquals(7, readWord(connection, 0), "a READ whose connection dropped is answered on the next one");
            assertEquals(1, connection.reconnects());

            connection.execute(writeWord(0, 8));
            ConnectionLostException lost = assertThrows(ConnectionLostException.class,
                    () -> connection.execute(writeWord(0, 9)));
            assertTrue(lost.getMessage().contains("outcome unknown") && lost.getMessage().contains("memory node " + NODE),
                    lost.getMessage());
            assertInstanceOf(FabricException.class, lost);
            long after = readWord(connection, 0);
            assertTrue(after == 8 || after == 9, "later operations go through on the next connection; found " + after);
            assertEquals(2, connection.reconnects());
        }
    }

    @Test
    void closingStopsAReconnectAndFailsItsWaiters() throws Exception {
        try (RestartableNode node = new RestartableNode(TcpTransport.NAME, NODE)) {
            ReconnectingConnection connection = new ReconnectingConnection(node.transport, node.endpoint, null,
                    ReconnectingConnection.Policy.withDeadline(60_000));
            node.stop();
            CompletableFuture<Long> waiting = CompletableFuture.supplyAsync(() -> readWord(connection, 0));
            Thread.sleep(200);
            connection.close();
            Exception failure = assertThrows(Exception.class, () -> waiting.get(10, TimeUnit.SECONDS));
            assertInstanceOf(ConnectionLostException.class, failure.getCause(), failure.toString());
        }
    }
}
