package io.rolexkv.common.fabric.rdma;

import io.rolexkv.common.fabric.FabricLimits;
import io.rolexkv.common.fabric.FabricTransports;
import io.rolexkv.common.fabric.RegisteredMemory;
import org.junit.jupiter.api.Test;

import java.io.File;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeFalse;

/**
 * The start-up check on this kind of machine (no libdisni, no RDMA device, DiSNI 2.1 from the registry) and the
 * atomics probe on both serialized layouts. The assumptions skip only where a machine really has libdisni.
 */
class RdmaAvailabilityTest {

    /** An independent look for the library: a file named libdisni.so in a java.library.path directory. */
    private static boolean libdisniOnLibraryPath() {
        String name = System.mapLibraryName(RdmaAvailability.NATIVE_LIBRARY_NAME);
        return Arrays.stream(System.getProperty("java.library.path", "").split(File.pathSeparator))
                .filter(directory -> !directory.isEmpty())
                .anyMatch(directory -> Files.exists(Path.of(directory, name)));
    }

    private static boolean atomicsFixPresent() {
        try {
            Class.forName(RdmaAvailability.ATOMIC_SERIALIZER_CLASS, false, RdmaAvailabilityTest.class.getClassLoader());
            return true;
        } catch (ClassNotFoundException e) {
            return false;
        }
    }

    @Test
    void reportNamesTheMissingLibraryFirstWithWhatToInstall() {
        assumeFalse(libdisniOnLibraryPath(), "libdisni is installed here");

        RdmaAvailability.Report report = RdmaAvailability.check();

        assertFalse(report.available());
        assertEquals(RdmaAvailability.Problem.NATIVE_LIBRARY_MISSING, report.findings().getFirst().problem());
        String message = report.describe();
        assertTrue(message.startsWith("rdma transport unavailable (libdisni missing):"), message);
        for (String hint : new String[]{"java.library.path=", "libibverbs-dev", "librdmacm-dev", "-Djava.library.path",
                "build libdisni from DiSNI's source"}) {
            assertTrue(message.contains(hint), "missing hint " + hint + " in: " + message);
        }
        assertSame(report, RdmaAvailability.check(), "computed once per JVM");
    }

    @Test
    void theDisniOnTheClassPathIsJudgedByWhatItSerializes() {
        RdmaAvailability.Finding atomics = RdmaAvailability.checkAtomicsSerialization();

        // Two independent signals must agree: the serialized bytes, and the class DiSNI's atomics fix adds.
        if (atomicsFixPresent()) {
            assertNull(atomics, "an atomics-capable DiSNI was refused: " + atomics);
        } else {
            assertNotNull(atomics, "DiSNI 2.1 drops atomic operands but was accepted");
            assertEquals(RdmaAvailability.Problem.ATOMICS_UNSUPPORTED, atomics.problem());
            assertTrue(atomics.detail().contains("lacks its operands"), atomics.detail());
            assertTrue(atomics.toString().contains("pull request #51"), atomics.toString());
            assertTrue(RdmaAvailability.check().has(RdmaAvailability.Problem.ATOMICS_UNSUPPORTED));
        }
    }

    @Test
    void atomicOperandsAreRecognisedOnlyInTheAtomicMemberOfTheStruct() {
        for (ByteOrder order : new ByteOrder[]{ByteOrder.LITTLE_ENDIAN, ByteOrder.BIG_ENDIAN}) {
            // DiSNI 2.1: the rdma member (remote address, rkey, reserved) at 40, nothing after.
            ByteBuffer released = ByteBuffer.allocate(72).order(order);
            released.putLong(40, RdmaAvailability.SENTINEL_REMOTE_ADDRESS);
            released.putInt(48, RdmaAvailability.SENTINEL_RKEY);
            assertFalse(RdmaAvailability.atomicOperandsSerialized(released), order.toString());

            // With atomics support: remote address, compare_add, swap, rkey.
            ByteBuffer fixed = ByteBuffer.allocate(72).order(order);
            fixed.putLong(40, RdmaAvailability.SENTINEL_REMOTE_ADDRESS);
            fixed.putLong(48, RdmaAvailability.SENTINEL_COMPARE_ADD);
            fixed.putLong(56, RdmaAvailability.SENTINEL_SWAP);
            fixed.putInt(64, RdmaAvailability.SENTINEL_RKEY);
            assertTrue(RdmaAvailability.atomicOperandsSerialized(fixed), order.toString());

            ByteBuffer swapDropped = fixed.duplicate().order(order);
            swapDropped.putLong(56, 0);
            assertFalse(RdmaAvailability.atomicOperandsSerialized(swapDropped), order.toString());
        }
    }

    @Test
    void noDeviceIsReportedFromSysfsWithoutTouchingNativeCode() {
        assumeFalse(Files.isDirectory(Path.of("/sys/class/infiniband")), "this host has RDMA devices");

        RdmaAvailability.Finding device = RdmaAvailability.checkDevices(false);

        assertNotNull(device);
        assertEquals(RdmaAvailability.Problem.NO_RDMA_DEVICE, device.problem());
        assertTrue(device.toString().contains("ibv_devices"), device.toString());
    }

    @Test
    void creatingTheTransportRefusesWithTheDiagnosisNotALinkError() {
        assumeFalse(RdmaAvailability.check().available(), "this host can do RDMA");
        String expected = RdmaAvailability.check().describe();

        RdmaUnavailableException direct = assertThrows(RdmaUnavailableException.class, RdmaTransport::new);
        RdmaUnavailableException byName = assertThrows(RdmaUnavailableException.class,
                () -> FabricTransports.create("rdma", FabricLimits.DEFAULT));
        ScheduledExecutorService timers = Executors.newSingleThreadScheduledExecutor();
        try (RegisteredMemory memory = new RegisteredMemory(0)) {
            memory.allocate("leaves", 4096);
            RdmaUnavailableException serving = assertThrows(RdmaUnavailableException.class,
                    () -> RdmaFabricServer.start(memory, "127.0.0.1:0", RdmaSettings.DEFAULT, timers, server -> {
                    }));
            assertEquals(expected, serving.getMessage());
        } finally {
            timers.shutdownNow();
        }

        assertEquals(expected, direct.getMessage());
        assertEquals(expected, byName.getMessage());
        assertSame(RdmaAvailability.check(), direct.report());
        assertTrue(FabricTransports.NAMES.contains(RdmaTransport.NAME));
    }
}
