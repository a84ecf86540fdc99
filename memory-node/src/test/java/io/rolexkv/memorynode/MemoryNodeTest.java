package io.rolexkv.memorynode;

import io.rolexkv.common.fabric.BatchResult;
import io.rolexkv.common.fabric.ConnectionLostException;
import io.rolexkv.common.fabric.DoorbellBatch;
import io.rolexkv.common.fabric.FabricConnection;
import io.rolexkv.common.fabric.FabricLimits;
import io.rolexkv.common.fabric.FabricTransports;
import io.rolexkv.common.fabric.GlobalAddress;
import io.rolexkv.common.fabric.RegionInfo;
import io.rolexkv.common.fabric.VerbRejectedException;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.Optional;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

@Timeout(30)
class MemoryNodeTest {
    private static final int NODE_ID = 3;

    /**
     * The transports this build has that run on any machine: loopback now, tcp as soon as it is registered. The
     * node codes only against FabricTransports, so each must serve the same way.
     */
    static List<String> transports() {
        return FabricTransports.NAMES.stream().filter(name -> !name.equals("rdma")).toList();
    }

    private static MemoryNodeConfig loopback(List<RegionConfig> regions, Optional<Path> dataDirectory) {
        return config("loopback", regions, dataDirectory);
    }

    private static MemoryNodeConfig config(String transport, List<RegionConfig> regions, Optional<Path> dataDirectory) {
        return new MemoryNodeConfig(NODE_ID, transport, "127.0.0.1", 0, FabricLimits.DEFAULT, regions, dataDirectory,
                RetrainSettings.DEFAULT);
    }

    private static MemoryNodeConfig persistent(Path directory) {
        return persistent("loopback", directory);
    }

    private static MemoryNodeConfig persistent(String transport, Path directory) {
        return config(transport, List.of(
                RegionConfig.anonymous("scratch", 4096).mappedFrom(directory.resolve("scratch.region")),
                new RegionConfig("leaves", 64 << 10, Optional.of(directory.resolve("leaves.region")))), Optional.of(directory));
    }

    @ParameterizedTest
    @MethodSource("transports")
    void registersTheConfiguredRegionsAndServesThem(String transport) {
        List<RegionConfig> regions = List.of(RegionConfig.anonymous("meta", 4096), RegionConfig.anonymous("leaves", 1 << 20),
                RegionConfig.anonymous("empty", 0));
        try (MemoryNode node = MemoryNode.start(config(transport, regions, Optional.empty()));
             FabricConnection connection = node.transport().connect(node.endpoint(), null)) {
            List<RegionInfo> expected = List.of(new RegionInfo(0, "meta", 4096), new RegionInfo(1, "leaves", 1 << 20),
                    new RegionInfo(2, "empty", 0));
            assertEquals(expected, node.memory().regions());
            assertEquals(expected, connection.regions());
            assertEquals(NODE_ID, connection.memoryNodeId());
            assertTrue(node.endpoint().startsWith("127.0.0.1:"), node.endpoint());
            assertEquals(transport, node.transport().name());

            long leaves = GlobalAddress.of(NODE_ID, connection.region("leaves").id(), 0);
            byte[] record = new byte[1024];
            new Random(1).nextBytes(record);
            DoorbellBatch write = new DoorbellBatch();
            write.write(GlobalAddress.plus(leaves, 4096), record);
            write.writeLong(leaves, 41);
            connection.execute(write);

            DoorbellBatch update = new DoorbellBatch();
            int cas = update.compareAndSwap(leaves, 41, 42);
            int faa = update.fetchAndAdd(leaves, 8);
            int read = update.read(GlobalAddress.plus(leaves, 4096), record.length);
            int word = update.read(leaves, 8);
            BatchResult result = connection.execute(update);
            assertTrue(result.casSucceeded(cas));
            assertEquals(42, result.oldValue(faa));
            assertArrayEquals(record, result.readBytes(read));
            assertEquals(50, result.readLong(word, 0));
            assertEquals(50, node.memory().segment("leaves").get(java.lang.foreign.ValueLayout.JAVA_LONG_UNALIGNED, 0),
                    "the node's own view of the region sees the client's writes");

            DoorbellBatch outOfBounds = new DoorbellBatch();
            outOfBounds.read(GlobalAddress.of(NODE_ID, 0, 4096), 8);
            assertThrows(VerbRejectedException.class, () -> connection.execute(outOfBounds));
        }
    }

    @ParameterizedTest
    @MethodSource("transports")
    void closingStopsServingAndBreaksConnections(String transport) {
        MemoryNode node = MemoryNode.start(config(transport, List.of(RegionConfig.anonymous("meta", 64)), Optional.empty()));
        FabricConnection connection = node.transport().connect(node.endpoint(), null);
        node.close();
        node.close(); // idempotent
        DoorbellBatch batch = new DoorbellBatch();
        batch.read(GlobalAddress.of(NODE_ID, 0, 0), 8);
        assertThrows(ConnectionLostException.class, () -> connection.execute(batch));
        assertFalse(connection.isOpen());
    }

    @ParameterizedTest
    @MethodSource("transports")
    void fileMappedRegionsKeepTheirBytesAcrossARestart(String transport, @TempDir Path directory) {
        MemoryNodeConfig config = persistent(transport, directory);
        byte[] leaf = new byte[4096];
        new Random(2).nextBytes(leaf);
        try (MemoryNode node = MemoryNode.start(config);
             FabricConnection connection = node.transport().connect(node.endpoint(), null)) {
            DoorbellBatch batch = new DoorbellBatch();
            batch.write(GlobalAddress.of(NODE_ID, 1, 8192), leaf);
            batch.fetchAndAdd(GlobalAddress.of(NODE_ID, 0, 16), 7);
            connection.execute(batch);
        }
        assertEquals(64 << 10, directory.resolve("leaves.region").toFile().length());
        try (MemoryNode node = MemoryNode.start(config);
             FabricConnection connection = node.transport().connect(node.endpoint(), null)) {
            DoorbellBatch batch = new DoorbellBatch();
            int read = batch.read(GlobalAddress.of(NODE_ID, 1, 8192), leaf.length);
            int counter = batch.fetchAndAdd(GlobalAddress.of(NODE_ID, 0, 16), 1);
            int untouched = batch.read(GlobalAddress.of(NODE_ID, 1, 0), 8192);
            BatchResult result = connection.execute(batch);
            assertArrayEquals(leaf, result.readBytes(read));
            assertEquals(7, result.oldValue(counter));
            assertArrayEquals(new byte[8192], result.readBytes(untouched));
        }
    }

    @Test
    void anonymousRegionsStartZeroedEveryTime() {
        MemoryNodeConfig config = loopback(List.of(RegionConfig.anonymous("meta", 64)), Optional.empty());
        try (MemoryNode node = MemoryNode.start(config)) {
            node.memory().segment("meta").fill((byte) 9);
        }
        try (MemoryNode node = MemoryNode.start(config)) {
            assertEquals(0, node.memory().segment("meta").get(java.lang.foreign.ValueLayout.JAVA_BYTE, 5));
        }
    }

    @Test
    void aRegionFileInUseIsRefusedAndTheRunningNodeIsUnharmed(@TempDir Path directory) {
        try (MemoryNode first = MemoryNode.start(persistent(directory));
             FabricConnection connection = first.transport().connect(first.endpoint(), null)) {
            IllegalStateException e = assertThrows(IllegalStateException.class, () -> MemoryNode.start(persistent(directory)));
            assertEquals("region scratch file=" + directory.resolve("scratch.region")
                    + " is in use by another memory node (it holds the file's lock)", e.getMessage());
            DoorbellBatch batch = new DoorbellBatch();
            batch.writeLong(GlobalAddress.of(NODE_ID, 1, 0), 5);
            connection.execute(batch);
        }
        try (MemoryNode again = MemoryNode.start(persistent(directory))) {
            assertEquals(5, again.memory().segment("leaves").get(java.lang.foreign.ValueLayout.JAVA_LONG_UNALIGNED, 0),
                    "the lock is released on close");
        }
    }

    @Test
    void aRegionFileLongerThanItsRegionIsRefused(@TempDir Path directory) throws Exception {
        Path file = directory.resolve("leaves.region");
        Files.write(file, new byte[8192]);
        MemoryNodeConfig config = loopback(List.of(new RegionConfig("leaves", 4096, Optional.of(file))), Optional.empty());
        IllegalStateException e = assertThrows(IllegalStateException.class, () -> MemoryNode.start(config));
        assertEquals("region leaves file=" + file + " holds bytes=8192 but the region is bytes=4096; a region file never"
                + " shrinks: give the region at least 8KiB or move the file away", e.getMessage());
        assertEquals(8192, Files.size(file), "the file is left as it was");
        try (MemoryNode node = MemoryNode.start(loopback(List.of(new RegionConfig("leaves", 8192, Optional.of(file))), Optional.empty()))) {
            assertEquals(8192, node.memory().segment("leaves").byteSize(), "the lock of the refused start was released");
        }
    }

    @Test
    void aShorterRegionFileGrowsWithZeroes(@TempDir Path directory) throws Exception {
        Path file = directory.resolve("nested/dirs/values.region");
        Files.createDirectories(file.getParent());
        byte[] existing = new byte[100];
        Arrays.fill(existing, (byte) 1);
        Files.write(file, existing);
        MemoryNodeConfig config = loopback(List.of(new RegionConfig("values", 4096, Optional.of(file))), Optional.empty());
        try (MemoryNode node = MemoryNode.start(config)) {
            var segment = node.memory().segment("values");
            assertEquals(1, segment.get(java.lang.foreign.ValueLayout.JAVA_BYTE, 99));
            assertEquals(0, segment.get(java.lang.foreign.ValueLayout.JAVA_BYTE, 100));
        }
        assertEquals(4096, Files.size(file));
    }

    @ParameterizedTest
    @MethodSource("transports")
    void aRestartWithItsRegionFilesKeepsTheIncarnationAndClientsSeeIt(String transport, @TempDir Path directory) {
        long first;
        try (MemoryNode node = MemoryNode.start(persistent(transport, directory));
             FabricConnection connection = node.transport().connect(node.endpoint(), null)) {
            first = node.incarnation();
            assertEquals(first, connection.incarnation(), "the HELLO tells the client");
        }
        try (MemoryNode node = MemoryNode.start(persistent(transport, directory));
             FabricConnection connection = node.transport().connect(node.endpoint(), null)) {
            assertEquals(first, node.incarnation(), "same data, same incarnation");
            assertEquals(first, connection.incarnation());
        }
    }

    @Test
    void aRegionOfNoBytesDoesNotMakeEveryStartAFreshOne(@TempDir Path directory) {
        MemoryNodeConfig config = MemoryNodeConfigTest.parse("""
                {"transport": "loopback", "port": 0, "data_dir": "%s",
                 "regions": [{"name": "meta", "bytes": 4096}, {"name": "empty", "bytes": 0}]}
                """.formatted(directory));
        long first;
        try (MemoryNode node = MemoryNode.start(config)) {
            first = node.incarnation();
        }
        try (MemoryNode node = MemoryNode.start(config)) {
            assertEquals(first, node.incarnation());
        }
    }

    @Test
    void freshRegionsGetANewIncarnation(@TempDir Path directory) throws Exception {
        MemoryNodeConfig anonymous = loopback(List.of(RegionConfig.anonymous("meta", 64)), Optional.empty());
        long anonymousFirst;
        try (MemoryNode node = MemoryNode.start(anonymous)) {
            anonymousFirst = node.incarnation();
        }
        try (MemoryNode node = MemoryNode.start(anonymous)) {
            assertNotEquals(anonymousFirst, node.incarnation(), "anonymous memory never comes back");
        }

        long kept;
        try (MemoryNode node = MemoryNode.start(persistent(directory))) {
            kept = node.incarnation();
        }
        // One region file lost (the others kept): the node as a whole did not keep its data.
        Files.delete(directory.resolve("leaves.region"));
        long afterLoss;
        try (MemoryNode node = MemoryNode.start(persistent(directory))) {
            afterLoss = node.incarnation();
            assertNotEquals(kept, afterLoss);
        }
        try (MemoryNode node = MemoryNode.start(persistent(directory))) {
            assertEquals(afterLoss, node.incarnation(), "the new incarnation is kept with the data from then on");
        }
        // The incarnation kept beside a region file lost, or two files that disagree: new as well.
        Files.delete(directory.resolve("scratch.region" + IncarnationFiles.SUFFIX));
        long afterIdLoss;
        try (MemoryNode node = MemoryNode.start(persistent(directory))) {
            afterIdLoss = node.incarnation();
            assertNotEquals(afterLoss, afterIdLoss);
        }
        Files.writeString(directory.resolve("leaves.region" + IncarnationFiles.SUFFIX), "0x0000000000000001\n");
        try (MemoryNode node = MemoryNode.start(persistent(directory))) {
            assertNotEquals(afterIdLoss, node.incarnation());
            assertNotEquals(1, node.incarnation());
        }
        // A region that is not file-mapped makes every start a fresh one, even with the other regions in files.
        MemoryNodeConfig mixed = loopback(List.of(RegionConfig.anonymous("meta", 64),
                new RegionConfig("leaves", 64 << 10, Optional.of(directory.resolve("leaves.region")))), Optional.empty());
        long mixedFirst;
        try (MemoryNode node = MemoryNode.start(mixed)) {
            mixedFirst = node.incarnation();
        }
        try (MemoryNode node = MemoryNode.start(mixed)) {
            assertNotEquals(mixedFirst, node.incarnation());
        }
    }

    @Test
    void missingDirectoriesOfADataDirectoryAreCreated(@TempDir Path directory) {
        Path dataDirectory = directory.resolve("a/b");
        MemoryNodeConfig config = MemoryNodeConfigTest.parse("""
                {"transport": "loopback", "port": 0, "data_dir": "%s", "regions": [{"name": "meta", "bytes": 4096}]}
                """.formatted(dataDirectory));
        try (MemoryNode node = MemoryNode.start(config)) {
            assertTrue(node.memory().segment("meta").isMapped());
        }
        assertTrue(Files.isRegularFile(dataDirectory.resolve("meta.region")));
    }
}
