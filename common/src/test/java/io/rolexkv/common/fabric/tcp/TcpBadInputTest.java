package io.rolexkv.common.fabric.tcp;

import io.rolexkv.common.fabric.BatchResult;
import io.rolexkv.common.fabric.DoorbellBatch;
import io.rolexkv.common.fabric.FabricConnection;
import io.rolexkv.common.fabric.FabricLimits;
import io.rolexkv.common.fabric.FabricServer;
import io.rolexkv.common.fabric.GlobalAddress;
import io.rolexkv.common.fabric.RegisteredMemory;
import io.rolexkv.common.fabric.VerbRejectedException;
import io.rolexkv.common.fabric.VerbRejectedException.Reason;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

import java.util.function.Consumer;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Every kind of bad verb over tcp: the batch is refused whole with an exception naming the verb, its address and the
 * rule it broke; memory is untouched, even by the good verb placed before the bad one; and the same connection and
 * another connection go on working.
 */
@Timeout(60)
class TcpBadInputTest {
    private static final int NODE = TcpTestSupport.MEMORY_NODE;
    private static final FabricLimits LIMITS = new FabricLimits(16, 4096);
    /** A good WRITE every bad batch starts with: it must not land. */
    private static final long GOOD_WRITE_ADDRESS = GlobalAddress.of(NODE, 0, 64);

    private static RegisteredMemory memory;
    private static TcpTransport transport;
    private static FabricServer server;
    private static FabricConnection connection;
    private static FabricConnection otherConnection;

    @BeforeAll
    static void start() {
        memory = TcpTestSupport.newMemory();
        TcpTestSupport.fillAlike(3, memory);
        transport = new TcpTransport(LIMITS);
        server = transport.serve(memory, TcpTestSupport.LOCALHOST_ANY_PORT);
        connection = transport.connect(server.endpoint(), null);
        otherConnection = transport.connect(server.endpoint(), null);
    }

    @AfterAll
    static void stop() {
        transport.close();
        memory.close();
    }

    /** A bad verb: how to add it, the reason it must be refused for, and its index in the batch (-1: whole batch). */
    private record BadVerb(Consumer<DoorbellBatch> append, Reason reason, int verbIndex, String messagePart) {
    }

    static Stream<Arguments> badVerbs() {
        long unknownRegion = GlobalAddress.of(NODE, 7, 0);
        long pastAlpha = GlobalAddress.of(NODE, 0, 4090);
        long pastBeta = GlobalAddress.of(NODE, 1, 1000);
        long unaligned = GlobalAddress.of(NODE, 0, 12);
        long otherNode = GlobalAddress.of(0, 0, 0);
        return Stream.of(
                Arguments.of("READ of an unknown region", new BadVerb(b -> b.read(unknownRegion, 8), Reason.UNKNOWN_REGION, 1,
                        "address=" + GlobalAddress.toString(unknownRegion))),
                Arguments.of("READ past the region's end", new BadVerb(b -> b.read(pastAlpha, 16), Reason.OUT_OF_BOUNDS, 1,
                        "address=" + GlobalAddress.toString(pastAlpha) + " length=16 region_length=4096")),
                Arguments.of("WRITE past the region's end", new BadVerb(b -> b.write(pastBeta, new byte[5]), Reason.OUT_OF_BOUNDS, 1,
                        "kind=WRITE address=" + GlobalAddress.toString(pastBeta))),
                Arguments.of("CAS past the region's end", new BadVerb(b -> b.compareAndSwap(pastBeta, 0, 1), Reason.OUT_OF_BOUNDS, 1,
                        "kind=CAS address=" + GlobalAddress.toString(pastBeta))),
                Arguments.of("unaligned CAS", new BadVerb(b -> b.compareAndSwap(unaligned, 0, 1), Reason.UNALIGNED_ATOMIC, 1,
                        "kind=CAS address=" + GlobalAddress.toString(unaligned))),
                Arguments.of("unaligned FAA", new BadVerb(b -> b.fetchAndAdd(unaligned, 1), Reason.UNALIGNED_ATOMIC, 1,
                        "kind=FAA address=" + GlobalAddress.toString(unaligned))),
                Arguments.of("READ on another memory node", new BadVerb(b -> b.read(otherNode, 8), Reason.WRONG_MEMORY_NODE, 1,
                        "address=" + GlobalAddress.toString(otherNode) + " length=8 memory_node=" + NODE)),
                Arguments.of("more verbs than the node takes", new BadVerb(b -> {
                    for (int i = 0; i < LIMITS.maxVerbsPerBatch(); i++) {
                        b.read(GlobalAddress.of(NODE, 0, 0), 8);
                    }
                }, Reason.OVERSIZE_BATCH, -1, "verbs=17 max_verbs_per_batch=16")),
                Arguments.of("more READ bytes than the node takes", new BadVerb(b -> b.read(GlobalAddress.of(NODE, 0, 0), 4096),
                        Reason.OVERSIZE_BATCH, -1, "bytes=4104 max_bytes_per_batch=4096")),
                Arguments.of("more WRITE bytes than a frame holds", new BadVerb(b -> b.write(GlobalAddress.of(NODE, 0, 0), new byte[8192]),
                        Reason.OVERSIZE_BATCH, -1, "bytes=8200 max_bytes_per_batch=4096")));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("badVerbs")
    void badVerbRefusesItsBatchAndLeavesEverythingElseWorking(String name, BadVerb bad) {
        byte[] alphaBefore = TcpTestSupport.bytes(memory, 0);
        byte[] betaBefore = TcpTestSupport.bytes(memory, 1);
        DoorbellBatch batch = new DoorbellBatch();
        batch.writeLong(GOOD_WRITE_ADDRESS, 0xBAD_BAD_BADL);
        bad.append().accept(batch);

        VerbRejectedException e = assertThrows(VerbRejectedException.class, () -> connection.execute(batch), name);

        assertEquals(bad.reason(), e.reason(), name);
        assertEquals(bad.verbIndex(), e.verbIndex(), name);
        assertTrue(e.getMessage().startsWith(bad.reason().name() + ": "), e.getMessage());
        if (bad.verbIndex() >= 0) {
            assertTrue(e.getMessage().contains("verb=" + bad.verbIndex()), e.getMessage());
        }
        assertTrue(e.getMessage().contains(bad.messagePart()), name + ": " + e.getMessage());
        assertArrayEquals(alphaBefore, TcpTestSupport.bytes(memory, 0), name + ": region alpha changed");
        assertArrayEquals(betaBefore, TcpTestSupport.bytes(memory, 1), name + ": region beta changed");

        assertTrue(connection.isOpen(), name);
        assertStillServes(connection, 0x1000L + name.length());
        assertStillServes(otherConnection, 0x2000L + name.length());
    }

    /** A WRITE then a READ and an FAA of the same word, in one batch, on a word no bad batch touches. */
    private static void assertStillServes(FabricConnection which, long value) {
        long address = GlobalAddress.of(NODE, 1, 512);
        DoorbellBatch batch = new DoorbellBatch();
        batch.writeLong(address, value);
        int read = batch.read(address, 8);
        int add = batch.fetchAndAdd(address, 1);
        BatchResult result = which.execute(batch);
        assertEquals(value, result.readLong(read, 0));
        assertEquals(value, result.oldValue(add));
    }
}
