package io.rolexkv.common.fabric.rdma;

import io.rolexkv.common.fabric.BatchResult;
import io.rolexkv.common.fabric.ConnectionLostException;
import io.rolexkv.common.fabric.DoorbellBatch;
import io.rolexkv.common.fabric.FabricConnection;
import io.rolexkv.common.fabric.FabricCounters;
import io.rolexkv.common.fabric.FabricLimits;
import io.rolexkv.common.fabric.GlobalAddress;
import io.rolexkv.common.fabric.RegionInfo;
import io.rolexkv.common.fabric.RegisteredMemory;
import io.rolexkv.common.fabric.VerbKind;
import io.rolexkv.common.fabric.VerbRejectedException;
import io.rolexkv.common.fabric.WordOrder;
import io.rolexkv.common.fabric.loopback.LoopbackTransport;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.io.IOException;
import java.lang.foreign.ValueLayout;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.atomic.AtomicInteger;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The whole client path of the rdma transport (validation, staging, work requests, completion, decoding, failure)
 * against {@link SoftwareQueuePair}, a software NIC executing the same work requests, checked against the loopback
 * transport as reference.
 */
@Timeout(60)
class RdmaConnectionTest {
    private static final int NODE = 5;
    private static final int CHUNK_SHIFT = 12;
    private static final long ODD_LENGTH = 3 * 4096 + 100;

    private final ExecutorService completions = Executors.newVirtualThreadPerTaskExecutor();
    private final List<AutoCloseable> resources = new ArrayList<>();
    private final AtomicInteger closedCallbacks = new AtomicInteger();

    @AfterEach
    void tearDown() throws Exception {
        for (AutoCloseable resource : resources.reversed()) {
            resource.close();
        }
        completions.shutdownNow();
    }

    private RegisteredMemory memory() {
        RegisteredMemory memory = new RegisteredMemory(NODE);
        memory.allocate("leaves", 64 << 10);
        memory.allocate("odd", ODD_LENGTH);
        memory.allocate("empty", 0);
        resources.add(memory);
        return memory;
    }

    private SoftwareQueuePair nic(RegisteredMemory memory) {
        SoftwareQueuePair nic = new SoftwareQueuePair(memory, CHUNK_SHIFT);
        resources.add(nic);
        return nic;
    }

    private RdmaConnection connect(SoftwareQueuePair nic, RdmaSettings settings) throws IOException {
        RdmaConnection connection = RdmaConnection.open("software:1", nic, nic.regionTable(), FabricLimits.DEFAULT,
                settings, new FabricCounters(), completions, closed -> closedCallbacks.incrementAndGet());
        resources.add(connection);
        return connection;
    }

    private static RdmaSettings settings(int slots, int slotBytes) {
        return RdmaSettings.DEFAULT.withStaging(slots, slotBytes);
    }

    private static long leaves(long offset) {
        return GlobalAddress.of(NODE, 0, offset);
    }

    @Test
    void randomBatchesMatchTheLoopbackReference() throws IOException {
        RegisteredMemory rdmaMemory = memory();
        SoftwareQueuePair nic = nic(rdmaMemory);
        RdmaConnection rdma = connect(nic, settings(4, 4096));
        RegisteredMemory referenceMemory = memory();
        LoopbackTransport loopback = new LoopbackTransport();
        resources.add(loopback);
        loopback.serve(referenceMemory, "reference");
        FabricConnection reference = loopback.connect("reference", null);
        assertEquals(reference.regions(), rdma.regions());

        Random random = new Random(7_2024);
        int batches = 300;
        for (int round = 0; round < batches; round++) {
            DoorbellBatch batch = randomBatch(random, rdma.regions());
            BatchResult expected = reference.execute(batch);
            BatchResult actual = rdma.execute(batch);
            for (int i = 0; i < batch.size(); i++) {
                switch (batch.kind(i)) {
                    case READ -> assertArrayEquals(expected.readBytes(i), actual.readBytes(i), "round " + round + " " + batch.describe(i));
                    case CAS, FAA -> assertEquals(expected.oldValue(i), actual.oldValue(i), "round " + round + " " + batch.describe(i));
                    case WRITE -> {
                    }
                }
            }
        }
        for (RegionInfo region : rdma.regions()) {
            assertArrayEquals(referenceMemory.segment(region.id()).toArray(ValueLayout.JAVA_BYTE),
                    rdmaMemory.segment(region.id()).toArray(ValueLayout.JAVA_BYTE), "region " + region.name());
        }
        assertEquals(batches, rdma.counters().snapshot().doorbells());
        assertEquals(0, rdma.inFlightCount());
        assertEquals(1, nic.liveLocalRegistrations(), "overflow staging was deregistered");
    }

    private static DoorbellBatch randomBatch(Random random, List<RegionInfo> regions) {
        DoorbellBatch batch = new DoorbellBatch();
        int verbs = 1 + random.nextInt(8);
        for (int i = 0; i < verbs; i++) {
            RegionInfo region = regions.get(random.nextInt(2));
            long length = region.length();
            switch (random.nextInt(5)) {
                case 0, 1 -> {
                    int bytes = random.nextInt(random.nextBoolean() ? 64 : 6000);
                    batch.read(GlobalAddress.of(NODE, region.id(), random.nextLong(length - bytes + 1)), bytes);
                }
                case 2 -> {
                    byte[] payload = new byte[random.nextInt(random.nextBoolean() ? 64 : 6000)];
                    random.nextBytes(payload);
                    batch.write(GlobalAddress.of(NODE, region.id(), random.nextLong(length - payload.length + 1)), payload);
                }
                case 3 -> {
                    // A small set of words so CAS sometimes finds what it expects.
                    long word = GlobalAddress.of(NODE, region.id(), 8L * random.nextInt(4));
                    batch.compareAndSwap(word, random.nextInt(3), random.nextInt(3));
                }
                default -> batch.fetchAndAdd(GlobalAddress.of(NODE, region.id(), 8L * random.nextInt(4)),
                        random.nextInt(5) - 2);
            }
        }
        return batch;
    }

    @Test
    void concurrentPostersShareFewSlotsAndLoseNoUpdate() throws Exception {
        SoftwareQueuePair nic = nic(memory());
        RdmaConnection connection = connect(nic, settings(4, 256));
        int threads = 8;
        int batchesPerThread = 150;
        Set<Long> oldValues = ConcurrentHashMap.newKeySet();
        List<Thread> posters = new ArrayList<>();
        List<Throwable> failures = new ArrayList<>();
        for (int t = 0; t < threads; t++) {
            posters.add(Thread.ofVirtual().start(() -> {
                try {
                    List<CompletableFuture<BatchResult>> pending = new ArrayList<>();
                    List<DoorbellBatch> sent = new ArrayList<>();
                    for (int b = 0; b < batchesPerThread; b++) {
                        DoorbellBatch batch = new DoorbellBatch();
                        batch.fetchAndAdd(leaves(0), 1);
                        batch.fetchAndAdd(leaves(0), 1);
                        batch.read(leaves(64), 32);
                        sent.add(batch);
                        pending.add(connection.post(batch));
                    }
                    for (CompletableFuture<BatchResult> future : pending) {
                        BatchResult result = FabricConnection.await(future);
                        assertEquals(result.oldValue(0) + 1, result.oldValue(1), "the batch's FAAs ran in order");
                        oldValues.add(result.oldValue(0));
                        oldValues.add(result.oldValue(1));
                    }
                } catch (Throwable e) {
                    synchronized (failures) {
                        failures.add(e);
                    }
                }
            }));
        }
        for (Thread poster : posters) {
            poster.join();
        }
        assertEquals(List.of(), failures);

        int adds = threads * batchesPerThread * 2;
        DoorbellBatch check = new DoorbellBatch();
        check.read(leaves(0), 8);
        assertEquals(adds, connection.execute(check).readLong(0, 0));
        assertEquals(adds, oldValues.size(), "every FAA saw a distinct old value");
        assertTrue(oldValues.stream().allMatch(value -> value >= 0 && value < adds));
        FabricCounters.Snapshot counters = connection.counters().snapshot();
        assertEquals(threads * batchesPerThread + 1, counters.doorbells());
        assertEquals(adds, counters.fetchAndAdds());
        assertEquals(0, connection.inFlightCount());
        assertEquals(threads * batchesPerThread + 1, nic.posts(), "one post per batch");
    }

    @Test
    void badVerbsAreRefusedBeforePostingAndTheConnectionStaysUsable() throws IOException {
        SoftwareQueuePair nic = nic(memory());
        RdmaConnection connection = connect(nic, settings(2, 4096));

        DoorbellBatch bad = new DoorbellBatch();
        bad.write(leaves(0), new byte[8]);
        bad.read(GlobalAddress.of(NODE, 1, ODD_LENGTH - 3), 4);
        VerbRejectedException rejected = assertThrows(VerbRejectedException.class, () -> connection.execute(bad));

        assertEquals(VerbRejectedException.Reason.OUT_OF_BOUNDS, rejected.reason());
        assertEquals(1, rejected.verbIndex());
        assertEquals(0, nic.posts());
        assertTrue(connection.isOpen());
        DoorbellBatch good = new DoorbellBatch();
        good.fetchAndAdd(leaves(8), 3);
        assertEquals(0, connection.execute(good).oldValue(0));
        assertEquals(1, nic.posts());
    }

    @Test
    void anErrorCompletionFailsTheBatchNamingTheVerbAndBreaksTheConnection() throws IOException {
        SoftwareQueuePair nic = nic(memory());
        RdmaConnection connection = connect(nic, settings(2, 4096));
        nic.revokeRemoteAccess();

        DoorbellBatch batch = new DoorbellBatch();
        batch.read(leaves(0), 8);
        batch.compareAndSwap(leaves(16), 0, 1);
        ConnectionLostException lost = assertThrows(ConnectionLostException.class, () -> connection.execute(batch));

        assertTrue(lost.getMessage().contains("verb=0 kind=READ"), lost.getMessage());
        assertTrue(lost.getMessage().contains("IBV_WC_REM_ACCESS_ERR"), lost.getMessage());
        assertTrue(lost.getMessage().contains("endpoint=software:1"), lost.getMessage());
        assertFalse(connection.isOpen());
        int posts = nic.posts();
        assertThrows(ConnectionLostException.class, () -> connection.execute(batch));
        assertEquals(posts, nic.posts(), "nothing is posted on a broken queue pair");
    }

    @Test
    void aDisconnectFailsEveryPendingBatchPromptly() throws IOException {
        SoftwareQueuePair nic = nic(memory());
        RdmaConnection connection = connect(nic, settings(4, 4096));
        nic.pause();
        List<CompletableFuture<BatchResult>> pending = new ArrayList<>();
        for (int i = 0; i < 3; i++) {
            DoorbellBatch batch = new DoorbellBatch();
            batch.fetchAndAdd(leaves(0), 1);
            pending.add(connection.post(batch));
        }
        assertEquals(3, connection.inFlightCount());

        nic.disconnect("RDMA_CM_EVENT_DISCONNECTED");

        for (CompletableFuture<BatchResult> future : pending) {
            ConnectionLostException lost = assertThrows(ConnectionLostException.class, () -> FabricConnection.await(future));
            assertTrue(lost.getMessage().contains("RDMA_CM_EVENT_DISCONNECTED"), lost.getMessage());
        }
        DoorbellBatch later = new DoorbellBatch();
        later.read(leaves(0), 8);
        assertThrows(ConnectionLostException.class, () -> FabricConnection.await(connection.post(later)));
        assertEquals(0, connection.inFlightCount());
        nic.resume();
    }

    @Test
    void closeFailsPendingBatchesReleasesEverythingOnce() throws IOException {
        SoftwareQueuePair nic = nic(memory());
        RdmaConnection connection = connect(nic, settings(4, 64));
        nic.pause();
        DoorbellBatch small = new DoorbellBatch();
        small.read(leaves(0), 8);
        DoorbellBatch large = new DoorbellBatch();
        large.read(leaves(0), 1000);
        CompletableFuture<BatchResult> inSlot = connection.post(small);
        CompletableFuture<BatchResult> overflow = connection.post(large);
        assertEquals(2, nic.liveLocalRegistrations(), "staging plus one overflow buffer");

        connection.close();
        connection.close();

        for (CompletableFuture<BatchResult> future : List.of(inSlot, overflow)) {
            ConnectionLostException lost = assertThrows(ConnectionLostException.class, () -> FabricConnection.await(future));
            assertTrue(lost.getMessage().contains("closed by the client"), lost.getMessage());
        }
        assertEquals(1, closedCallbacks.get());
        assertTrue(nic.isClosed());
        assertEquals(0, nic.liveLocalRegistrations());
        assertFalse(connection.isOpen());
    }

    @Test
    void aBatchLargerThanASlotGetsItsOwnStagingBuffer() throws IOException {
        RegisteredMemory memory = memory();
        SoftwareQueuePair nic = nic(memory);
        RdmaConnection connection = connect(nic, settings(2, 64));
        byte[] payload = new byte[1000];
        new Random(3).nextBytes(payload);

        DoorbellBatch write = new DoorbellBatch();
        write.write(GlobalAddress.of(NODE, 1, 4000), payload);
        connection.execute(write);
        DoorbellBatch read = new DoorbellBatch();
        read.read(GlobalAddress.of(NODE, 1, 4000), 1000);
        BatchResult result = connection.execute(read);

        assertArrayEquals(payload, result.readBytes(0));
        assertArrayEquals(payload, memory.segment(1).asSlice(4000, 1000).toArray(ValueLayout.JAVA_BYTE));
        assertEquals(1, nic.liveLocalRegistrations());
        assertEquals(4, nic.workRequests(), "each verb crossed one chunk boundary");
    }

    @Test
    void aPostWaitsForAFreeSlotAndProceedsWhenOneIsReleased() throws Exception {
        SoftwareQueuePair nic = nic(memory());
        RdmaConnection connection = connect(nic, settings(1, 4096));
        nic.pause();
        DoorbellBatch first = new DoorbellBatch();
        first.fetchAndAdd(leaves(0), 1);
        CompletableFuture<BatchResult> firstDone = connection.post(first);
        CompletableFuture<CompletableFuture<BatchResult>> secondPosted = new CompletableFuture<>();
        Thread poster = Thread.ofVirtual().start(() -> {
            DoorbellBatch second = new DoorbellBatch();
            second.fetchAndAdd(leaves(0), 1);
            secondPosted.complete(connection.post(second));
        });
        while (poster.getState() != Thread.State.TIMED_WAITING && poster.getState() != Thread.State.WAITING) {
            Thread.onSpinWait();
        }
        assertFalse(secondPosted.isDone(), "the only slot is taken");
        assertEquals(1, nic.posts());

        nic.resume();
        poster.join();

        assertEquals(0, FabricConnection.await(firstDone).oldValue(0));
        assertEquals(1, FabricConnection.await(secondPosted.get()).oldValue(0));
        assertEquals(2, nic.posts());
    }

    @Test
    void batchesWithNothingToMoveCompleteWithoutARoundTrip() throws IOException {
        SoftwareQueuePair nic = nic(memory());
        RdmaConnection connection = connect(nic, settings(1, 64));

        BatchResult empty = connection.execute(new DoorbellBatch());
        DoorbellBatch zeroLength = new DoorbellBatch();
        zeroLength.read(GlobalAddress.of(NODE, 2, 0), 0);
        zeroLength.write(leaves(0), new byte[0]);
        BatchResult nothing = connection.execute(zeroLength);

        assertEquals(0, empty.size());
        assertEquals(0, nothing.readBytes(0).length);
        assertEquals(0, nic.posts());
        assertEquals(1, connection.counters().snapshot().doorbells(), "a non-empty batch is still a doorbell");
        assertEquals(VerbKind.READ, zeroLength.kind(0));
    }

    @Test
    void atomicsReturnOldValuesInWordOrder() throws IOException {
        RegisteredMemory memory = memory();
        SoftwareQueuePair nic = nic(memory);
        RdmaConnection connection = connect(nic, settings(2, 4096));
        WordOrder.putLong(memory.segment(0), 24, 0x0102_0304_0506_0708L);

        DoorbellBatch batch = new DoorbellBatch();
        batch.compareAndSwap(leaves(24), 0x0102_0304_0506_0708L, -1L);
        batch.fetchAndAdd(leaves(24), 2);
        batch.read(leaves(24), 8);
        BatchResult result = connection.execute(batch);

        assertTrue(result.casSucceeded(0));
        assertEquals(-1L, result.oldValue(1));
        assertEquals(1L, result.readLong(2, 0));
    }
}
