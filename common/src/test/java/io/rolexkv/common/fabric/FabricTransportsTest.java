package io.rolexkv.common.fabric;

import io.rolexkv.common.fabric.loopback.LoopbackTransport;
import io.rolexkv.common.fabric.rdma.RdmaUnavailableException;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class FabricTransportsTest {

    @Test
    void everyListedNameCreatesATransportOfThatName() {
        for (String name : FabricTransports.NAMES) {
            try (FabricTransport transport = FabricTransports.create(name, FabricLimits.DEFAULT)) {
                assertEquals(name, transport.name());
            } catch (RdmaUnavailableException refused) {
                // No RDMA device or native DiSNI here: refusing with the diagnosis is the rdma transport's contract.
                assertEquals("rdma", name);
                assertTrue(refused.getMessage().contains("rdma transport unavailable"), refused.getMessage());
            }
        }
    }

    @Test
    void loopbackCreatesTheLoopbackTransport() {
        try (FabricTransport transport = FabricTransports.create("loopback", FabricLimits.DEFAULT)) {
            assertInstanceOf(LoopbackTransport.class, transport);
        }
    }

    @Test
    void createdTransportEnforcesTheGivenLimits() {
        FabricLimits limits = new FabricLimits(2, 64);
        try (FabricTransport transport = FabricTransports.create("loopback", limits);
             RegisteredMemory memory = new RegisteredMemory(0)) {
            memory.allocate("data", 4096);
            transport.serve(memory, "limits-node");
            try (FabricConnection connection = transport.connect("limits-node", null)) {
                DoorbellBatch batch = new DoorbellBatch();
                for (int i = 0; i < 3; i++) {
                    batch.read(GlobalAddress.of(0, 0, 8L * i), 8);
                }
                VerbRejectedException rejected = assertThrows(VerbRejectedException.class,
                        () -> connection.execute(batch));
                assertEquals(VerbRejectedException.Reason.OVERSIZE_BATCH, rejected.reason());
            }
        }
    }

    @Test
    void unknownNameIsRefusedWithTheAllowedNames() {
        IllegalArgumentException refused = assertThrows(IllegalArgumentException.class,
                () -> FabricTransports.create("carrier-pigeon", FabricLimits.DEFAULT));
        String message = refused.getMessage();
        assertTrue(message.contains("transport=carrier-pigeon"), message);
        for (String name : FabricTransports.NAMES) {
            assertTrue(message.contains(name), "message lacks allowed name " + name + ": " + message);
        }
        assertTrue(message.contains("allowed="), message);
    }

    @Test
    void namesAreMatchedExactly() {
        assertThrows(IllegalArgumentException.class, () -> FabricTransports.create("Loopback", FabricLimits.DEFAULT));
        assertThrows(IllegalArgumentException.class, () -> FabricTransports.create(" loopback", FabricLimits.DEFAULT));
    }
}
