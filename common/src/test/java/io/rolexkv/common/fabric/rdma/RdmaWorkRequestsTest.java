package io.rolexkv.common.fabric.rdma;

import com.ibm.disni.verbs.IbvSendWR;
import com.ibm.disni.verbs.IbvSge;
import io.rolexkv.common.fabric.BatchResult;
import io.rolexkv.common.fabric.DoorbellBatch;
import io.rolexkv.common.fabric.FabricLimits;
import io.rolexkv.common.fabric.GlobalAddress;
import io.rolexkv.common.fabric.RegionInfo;
import io.rolexkv.common.fabric.VerbKind;
import io.rolexkv.common.fabric.VerbRejectedException;
import io.rolexkv.common.fabric.WordOrder;
import org.junit.jupiter.api.Test;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Every field of every work request {@link RdmaWorkRequests} builds, and the decoding of the staging buffer. */
class RdmaWorkRequestsTest {
    private static final int NODE = 3;
    private static final long LEAVES_BASE = 0x7F00_0000_0000L;
    private static final int LEAVES_RKEY = 0x1111;
    private static final long SMALL_BASE = 0x7F10_0000_0000L;
    /** Region 1 is registered in 4 KiB chunks: 3 full ones and a 100-byte tail. */
    private static final long SMALL_LENGTH = 3 * 4096 + 100;
    private static final int[] SMALL_RKEYS = {0x2000, 0x2001, 0x2002, 0x2003};
    private static final long STAGING = 0x5000_0000L;
    private static final int LKEY = 0x77;
    private static final int SEQUENCE = 9;

    private static final int NONE = 0;
    private static final int FENCE = IbvSendWR.IBV_SEND_FENCE;
    private static final int SIGNALED = IbvSendWR.IBV_SEND_SIGNALED;

    private final RdmaRegionTable regions = new RdmaRegionTable(NODE, 0x1DL, List.of(
            new RdmaRemoteRegion(new RegionInfo(0, "leaves", 1 << 20), LEAVES_BASE, 20, new int[]{LEAVES_RKEY}),
            new RdmaRemoteRegion(new RegionInfo(1, "small", SMALL_LENGTH), SMALL_BASE, 12, SMALL_RKEYS)));

    private static long leaves(long offset) {
        return GlobalAddress.of(NODE, 0, offset);
    }

    private static long small(long offset) {
        return GlobalAddress.of(NODE, 1, offset);
    }

    private List<IbvSendWR> build(DoorbellBatch batch) {
        RdmaWorkRequests.Plan plan = RdmaWorkRequests.plan(batch, regions, FabricLimits.DEFAULT, 4096);
        return RdmaWorkRequests.build(plan, regions, STAGING, LKEY, SEQUENCE);
    }

    private static void assertElement(IbvSendWR request, long address, int length) {
        assertEquals(1, request.getNum_sge(), "num_sge");
        assertEquals(1, request.getSg_list().size(), "sg_list size");
        IbvSge element = request.getSge(0);
        assertEquals(address, element.getAddr(), "sge addr");
        assertEquals(length, element.getLength(), "sge length");
        assertEquals(LKEY, element.getLkey(), "sge lkey");
    }

    private static void assertRdma(IbvSendWR request, int opcode, long remoteAddress, int rkey) {
        assertEquals(opcode, request.getOpcode(), "opcode");
        assertEquals(remoteAddress, request.getRdma().getRemote_addr(), "rdma remote_addr");
        assertEquals(rkey, request.getRdma().getRkey(), "rdma rkey");
        assertEquals(0, request.getAtomic().getRemote_addr(), "atomic part unused");
    }

    private static void assertAtomic(IbvSendWR request, int opcode, long remoteAddress, int rkey, long compareAdd,
                                     long swap) {
        assertEquals(opcode, request.getOpcode(), "opcode");
        assertEquals(remoteAddress, request.getAtomic().getRemote_addr(), "atomic remote_addr");
        assertEquals(rkey, request.getAtomic().getRkey(), "atomic rkey");
        assertEquals(compareAdd, request.getAtomic().getCompare_add(), "compare_add");
        assertEquals(swap, request.getAtomic().getSwap(), "swap");
        assertEquals(0, request.getRdma().getRemote_addr(), "rdma part unused");
    }

    @Test
    void readBecomesOneSignaledRdmaRead() {
        DoorbellBatch batch = new DoorbellBatch();
        batch.read(leaves(128), 64);

        List<IbvSendWR> chain = build(batch);

        assertEquals(1, chain.size());
        IbvSendWR read = chain.getFirst();
        assertRdma(read, IbvSendWR.IBV_WR_RDMA_READ, LEAVES_BASE + 128, LEAVES_RKEY);
        assertElement(read, STAGING, 64);
        assertEquals(SIGNALED, read.getSend_flags());
        assertEquals(((long) SEQUENCE << 32), read.getWr_id());
    }

    @Test
    void writeBecomesOneRdmaWriteFromItsStagingArea() {
        DoorbellBatch batch = new DoorbellBatch();
        batch.write(leaves(4096), new byte[13]);

        List<IbvSendWR> chain = build(batch);

        assertEquals(1, chain.size());
        assertRdma(chain.getFirst(), IbvSendWR.IBV_WR_RDMA_WRITE, LEAVES_BASE + 4096, LEAVES_RKEY);
        assertElement(chain.getFirst(), STAGING, 13);
        assertEquals(SIGNALED, chain.getFirst().getSend_flags());
    }

    @Test
    void casCarriesExpectedAndDesiredInTheAtomicPart() {
        DoorbellBatch batch = new DoorbellBatch();
        batch.compareAndSwap(leaves(64), 0x1234_5678_9ABC_DEF0L, -2L);

        List<IbvSendWR> chain = build(batch);

        assertEquals(1, chain.size());
        assertAtomic(chain.getFirst(), IbvSendWR.IBV_WR_ATOMIC_CMP_AND_SWP, LEAVES_BASE + 64, LEAVES_RKEY,
                0x1234_5678_9ABC_DEF0L, -2L);
        assertElement(chain.getFirst(), STAGING, 8);
    }

    @Test
    void faaCarriesTheDeltaAsCompareAdd() {
        DoorbellBatch batch = new DoorbellBatch();
        batch.fetchAndAdd(small(8192), -5);

        List<IbvSendWR> chain = build(batch);

        assertAtomic(chain.getFirst(), IbvSendWR.IBV_WR_ATOMIC_FETCH_AND_ADD, SMALL_BASE + 8192, SMALL_RKEYS[2], -5, 0);
        assertElement(chain.getFirst(), STAGING, 8);
    }

    @Test
    void mixedBatchChainsInVerbOrderWithFencesAfterReadsAndAtomics() {
        DoorbellBatch batch = new DoorbellBatch();
        batch.read(leaves(0), 20);                  // 0: area [0,24)
        batch.write(leaves(100), new byte[9]);      // 1: area [24,40)  write after read: fence
        batch.compareAndSwap(leaves(200), 1, 2);    // 2: area [40,48)  after a write: no fence
        batch.read(leaves(300), 8);                 // 3: area [48,56)  read after atomic: fence
        batch.read(leaves(400), 3);                 // 4: area [56,64)  read after read: no fence
        batch.fetchAndAdd(small(16), 7);            // 5: area [64,72)  atomic after reads: fence
        batch.write(small(24), new byte[16]);       // 6: area [72,88)  write after atomic: fence, last: signaled

        List<IbvSendWR> chain = build(batch);

        assertEquals(7, chain.size());
        int[] areas = {0, 24, 40, 48, 56, 64, 72};
        int[] lengths = {20, 9, 8, 8, 3, 8, 16};
        int[] flags = {NONE, FENCE, NONE, FENCE, NONE, FENCE, FENCE | SIGNALED};
        for (int i = 0; i < chain.size(); i++) {
            assertEquals(RdmaWorkRequests.workRequestId(SEQUENCE, i), chain.get(i).getWr_id(), "wr_id " + i);
            assertElement(chain.get(i), STAGING + areas[i], lengths[i]);
            assertEquals(flags[i], chain.get(i).getSend_flags(), "flags of work request " + i);
        }
        assertRdma(chain.get(0), IbvSendWR.IBV_WR_RDMA_READ, LEAVES_BASE, LEAVES_RKEY);
        assertRdma(chain.get(1), IbvSendWR.IBV_WR_RDMA_WRITE, LEAVES_BASE + 100, LEAVES_RKEY);
        assertAtomic(chain.get(2), IbvSendWR.IBV_WR_ATOMIC_CMP_AND_SWP, LEAVES_BASE + 200, LEAVES_RKEY, 1, 2);
        assertRdma(chain.get(3), IbvSendWR.IBV_WR_RDMA_READ, LEAVES_BASE + 300, LEAVES_RKEY);
        assertRdma(chain.get(4), IbvSendWR.IBV_WR_RDMA_READ, LEAVES_BASE + 400, LEAVES_RKEY);
        assertAtomic(chain.get(5), IbvSendWR.IBV_WR_ATOMIC_FETCH_AND_ADD, SMALL_BASE + 16, SMALL_RKEYS[0], 7, 0);
        assertRdma(chain.get(6), IbvSendWR.IBV_WR_RDMA_WRITE, SMALL_BASE + 24, SMALL_RKEYS[0]);
    }

    @Test
    void verbsCrossingRegistrationChunksSplitPerChunk() {
        DoorbellBatch batch = new DoorbellBatch();
        batch.read(small(4000), 5000);              // chunks 0,1,2: 96 + 4096 + 808 bytes
        batch.write(small(8190), new byte[4]);      // chunks 1,2: 2 + 2 bytes, after a read: fence on the first only

        RdmaWorkRequests.Plan plan = RdmaWorkRequests.plan(batch, regions, FabricLimits.DEFAULT, 4096);
        List<IbvSendWR> chain = RdmaWorkRequests.build(plan, regions, STAGING, LKEY, SEQUENCE);

        assertEquals(5, plan.workRequestCount());
        assertEquals(5, chain.size());
        assertRdma(chain.get(0), IbvSendWR.IBV_WR_RDMA_READ, SMALL_BASE + 4000, SMALL_RKEYS[0]);
        assertElement(chain.get(0), STAGING, 96);
        assertRdma(chain.get(1), IbvSendWR.IBV_WR_RDMA_READ, SMALL_BASE + 4096, SMALL_RKEYS[1]);
        assertElement(chain.get(1), STAGING + 96, 4096);
        assertRdma(chain.get(2), IbvSendWR.IBV_WR_RDMA_READ, SMALL_BASE + 8192, SMALL_RKEYS[2]);
        assertElement(chain.get(2), STAGING + 96 + 4096, 808);
        assertRdma(chain.get(3), IbvSendWR.IBV_WR_RDMA_WRITE, SMALL_BASE + 8190, SMALL_RKEYS[1]);
        assertElement(chain.get(3), STAGING + 5000, 2);
        assertRdma(chain.get(4), IbvSendWR.IBV_WR_RDMA_WRITE, SMALL_BASE + 8192, SMALL_RKEYS[2]);
        assertElement(chain.get(4), STAGING + 5002, 2);
        assertEquals(List.of(NONE, NONE, NONE, FENCE, SIGNALED), chain.stream().map(IbvSendWR::getSend_flags).toList());
        assertEquals(List.of(0, 0, 0, 1, 1), List.of(0, 1, 2, 3, 4).stream().map(plan::verbOfWorkRequest).toList());
    }

    @Test
    void zeroLengthVerbsPostNothing() {
        DoorbellBatch batch = new DoorbellBatch();
        batch.read(small(SMALL_LENGTH), 0);
        batch.fetchAndAdd(small(0), 1);
        batch.write(leaves(5), new byte[0]);

        RdmaWorkRequests.Plan plan = RdmaWorkRequests.plan(batch, regions, FabricLimits.DEFAULT, 4096);
        List<IbvSendWR> chain = RdmaWorkRequests.build(plan, regions, STAGING, LKEY, SEQUENCE);

        assertEquals(1, chain.size());
        assertEquals(IbvSendWR.IBV_WR_ATOMIC_FETCH_AND_ADD, chain.getFirst().getOpcode());
        assertEquals(SIGNALED, chain.getFirst().getSend_flags());
        assertEquals(1, plan.verbOfWorkRequest(0));
        assertEquals(8, plan.stagingBytes());
    }

    @Test
    void badVerbsAreRejectedBeforeAnythingIsBuilt() {
        assertRejected(batch -> batch.read(GlobalAddress.of(NODE + 1, 0, 0), 8), 0, VerbRejectedException.Reason.WRONG_MEMORY_NODE);
        assertRejected(batch -> batch.read(GlobalAddress.of(NODE, 2, 0), 8), 0, VerbRejectedException.Reason.UNKNOWN_REGION);
        assertRejected(batch -> {
            batch.read(leaves(0), 8);
            batch.read(small(SMALL_LENGTH - 4), 8);
        }, 1, VerbRejectedException.Reason.OUT_OF_BOUNDS);
        assertRejected(batch -> batch.compareAndSwap(leaves(12), 0, 1), 0, VerbRejectedException.Reason.UNALIGNED_ATOMIC);
        assertRejected(batch -> batch.fetchAndAdd(small(SMALL_LENGTH - 4), 1), 0, VerbRejectedException.Reason.OUT_OF_BOUNDS);

        DoorbellBatch tooMany = new DoorbellBatch();
        for (int i = 0; i < 5; i++) {
            tooMany.read(leaves(0), 1);
        }
        VerbRejectedException verbs = assertThrows(VerbRejectedException.class,
                () -> RdmaWorkRequests.plan(tooMany, regions, new FabricLimits(4, 1 << 20), 4096));
        assertEquals(VerbRejectedException.Reason.OVERSIZE_BATCH, verbs.reason());

        DoorbellBatch tooLarge = new DoorbellBatch();
        tooLarge.read(leaves(0), 100);
        VerbRejectedException bytes = assertThrows(VerbRejectedException.class,
                () -> RdmaWorkRequests.plan(tooLarge, regions, new FabricLimits(4, 64), 4096));
        assertEquals(VerbRejectedException.Reason.OVERSIZE_BATCH, bytes.reason());

        DoorbellBatch split = new DoorbellBatch();
        split.read(small(0), (int) SMALL_LENGTH);
        VerbRejectedException queue = assertThrows(VerbRejectedException.class,
                () -> RdmaWorkRequests.plan(split, regions, FabricLimits.DEFAULT, 3));
        assertEquals(VerbRejectedException.Reason.OVERSIZE_BATCH, queue.reason());
        assertTrue(queue.getMessage().contains("work_requests=4 " + RdmaSettings.SEND_QUEUE_DEPTH_PROP_NAME + "=3"),
                queue.getMessage());
    }

    private void assertRejected(java.util.function.Consumer<DoorbellBatch> verbs, int verbIndex,
                                VerbRejectedException.Reason reason) {
        DoorbellBatch batch = new DoorbellBatch();
        verbs.accept(batch);
        VerbRejectedException rejected = assertThrows(VerbRejectedException.class,
                () -> RdmaWorkRequests.plan(batch, regions, FabricLimits.DEFAULT, 4096));
        assertEquals(reason, rejected.reason());
        assertEquals(verbIndex, rejected.verbIndex());
        assertTrue(rejected.getMessage().contains("verb=" + verbIndex), rejected.getMessage());
    }

    @Test
    void writePayloadsAreCopiedToTheirAreasAndResultsDecodedFromStaging() {
        DoorbellBatch batch = new DoorbellBatch();
        int read = batch.read(leaves(0), 5);                            // area [0,8)
        int write = batch.write(leaves(64), new byte[]{9, 8, 7});       // area [8,16)
        int cas = batch.compareAndSwap(leaves(128), 41, 42);            // area [16,24)
        int faa = batch.fetchAndAdd(leaves(136), 3);                    // area [24,32)
        int longRead = batch.read(small(0), 16);                        // area [32,48)
        RdmaWorkRequests.Plan plan = RdmaWorkRequests.plan(batch, regions, FabricLimits.DEFAULT, 4096);
        assertArrayEquals(new int[]{0, 8, 16, 24, 32, 48}, plan.areaOffsets());

        try (Arena arena = Arena.ofConfined()) {
            MemorySegment staging = arena.allocate(plan.stagingBytes(), 8);
            staging.fill((byte) 0x5A);
            RdmaWorkRequests.copyWritePayloads(plan, staging);
            assertArrayEquals(new byte[]{9, 8, 7}, staging.asSlice(8, 3).toArray(ValueLayout.JAVA_BYTE));
            assertEquals((byte) 0x5A, staging.get(ValueLayout.JAVA_BYTE, 11), "padding untouched");

            // What the NIC leaves behind: READ bytes and old values in host (little-endian) order.
            MemorySegment.copy(new byte[]{1, 2, 3, 4, 5}, 0, staging, ValueLayout.JAVA_BYTE, 0, 5);
            WordOrder.putLong(staging, 16, 41);
            WordOrder.putLong(staging, 24, 0x0102_0304_0506_0708L);
            for (int i = 0; i < 16; i++) {
                staging.set(ValueLayout.JAVA_BYTE, 32 + i, (byte) (100 + i));
            }

            BatchResult result = RdmaWorkRequests.decode(plan, staging);
            staging.fill((byte) 0); // the result must be a copy: the slot is reused at once

            assertArrayEquals(new byte[]{1, 2, 3, 4, 5}, result.readBytes(read));
            assertEquals(41, result.oldValue(cas));
            assertTrue(result.casSucceeded(cas));
            assertEquals(0x0102_0304_0506_0708L, result.oldValue(faa));
            assertEquals(0x6B6A_6968_6766_6564L, result.readLong(longRead, 0));
            byte[] expected = new byte[16];
            for (int i = 0; i < 16; i++) {
                expected[i] = (byte) (100 + i);
            }
            assertArrayEquals(expected, result.readBytes(longRead));
            assertThrows(IllegalArgumentException.class, () -> result.oldValue(write));
        }
    }

    @Test
    void workRequestIdsRoundTripAndNeverCollideWithTheControlId() {
        for (int sequence : new int[]{0, 1, 9, Integer.MAX_VALUE, -1, Integer.MIN_VALUE}) {
            for (int index : new int[]{0, 1, 4095, 65_535}) {
                long id = RdmaWorkRequests.workRequestId(sequence, index);
                assertEquals(sequence, RdmaWorkRequests.sequenceOf(id));
                assertEquals(index, RdmaWorkRequests.indexOf(id));
                assertFalse(id == RdmaWorkRequests.CONTROL_WORK_REQUEST_ID);
            }
        }
    }

    /**
     * The ordering contract, stated independently of the implementation's rule: whenever a later work request must
     * observe an earlier one (anything after an atomic; a WRITE or atomic after a READ), some work request between
     * them, the later one included, carries FENCE; and a READ that follows only READs and WRITEs is never fenced.
     */
    @Test
    void randomBatchesKeepTheOrderingContractAndCoverEveryByteOnce() {
        Random random = new Random(20240611);
        for (int round = 0; round < 500; round++) {
            DoorbellBatch batch = randomBatch(random);
            RdmaWorkRequests.Plan plan = RdmaWorkRequests.plan(batch, regions, FabricLimits.DEFAULT, 4096);
            List<IbvSendWR> chain = RdmaWorkRequests.build(plan, regions, STAGING, LKEY, round);
            List<VerbKind> kinds = new ArrayList<>();
            for (int w = 0; w < chain.size(); w++) {
                kinds.add(batch.kind(plan.verbOfWorkRequest(w)));
                assertEquals(RdmaWorkRequests.workRequestId(round, w), chain.get(w).getWr_id());
                int expectedSignal = w == chain.size() - 1 ? SIGNALED : 0;
                assertEquals(expectedSignal, chain.get(w).getSend_flags() & SIGNALED, "only the last is signaled");
            }
            for (int later = 0; later < chain.size(); later++) {
                for (int earlier = 0; earlier < later; earlier++) {
                    VerbKind first = kinds.get(earlier);
                    VerbKind second = kinds.get(later);
                    boolean mustObserve = first.isAtomic() || (first == VerbKind.READ && second != VerbKind.READ);
                    if (mustObserve) {
                        boolean fenced = false;
                        for (int k = earlier + 1; k <= later; k++) {
                            fenced |= (chain.get(k).getSend_flags() & FENCE) != 0;
                        }
                        assertTrue(fenced, "round " + round + ": work request " + later + " (" + second
                                + ") is not fenced after " + earlier + " (" + first + ")");
                    }
                }
                boolean atomicBefore = kinds.subList(0, later).stream().anyMatch(VerbKind::isAtomic);
                if (kinds.get(later) == VerbKind.READ && !atomicBefore) {
                    assertEquals(0, chain.get(later).getSend_flags() & FENCE, "round " + round + ": needless fence on "
                            + later);
                }
            }
            assertCoverage(batch, plan, chain);
        }
    }

    /** Each verb's work requests cover its bytes exactly once, in order, each within one chunk under that chunk's rkey. */
    private void assertCoverage(DoorbellBatch batch, RdmaWorkRequests.Plan plan, List<IbvSendWR> chain) {
        int w = 0;
        for (int i = 0; i < batch.size(); i++) {
            RdmaRemoteRegion region = regions.regionOrNull(GlobalAddress.region(batch.address(i)));
            long remote = region.remoteAddress(GlobalAddress.offset(batch.address(i)));
            long local = STAGING + plan.areaOffsets()[i];
            long remaining = batch.kind(i).isAtomic() ? 8 : batch.length(i);
            while (remaining > 0) {
                IbvSendWR request = chain.get(w++);
                boolean atomic = batch.kind(i).isAtomic();
                long requestRemote = atomic ? request.getAtomic().getRemote_addr() : request.getRdma().getRemote_addr();
                int rkey = atomic ? request.getAtomic().getRkey() : request.getRdma().getRkey();
                int length = request.getSge(0).getLength();
                assertEquals(remote, requestRemote);
                assertEquals(local, request.getSge(0).getAddr());
                long offset = requestRemote - region.baseAddress();
                int chunk = region.chunkOf(offset);
                assertEquals(chunk, region.chunkOf(offset + length - 1), "a work request stays within one chunk");
                assertEquals(region.rkey(chunk), rkey);
                remote += length;
                local += length;
                remaining -= length;
            }
            assertEquals(0, remaining);
        }
        assertEquals(chain.size(), w);
    }

    private static DoorbellBatch randomBatch(Random random) {
        DoorbellBatch batch = new DoorbellBatch();
        int verbs = 1 + random.nextInt(12);
        for (int i = 0; i < verbs; i++) {
            boolean inSmall = random.nextBoolean();
            long regionLength = inSmall ? SMALL_LENGTH : 1 << 20;
            int region = inSmall ? 1 : 0;
            switch (random.nextInt(4)) {
                case 0 -> {
                    int length = random.nextInt(6000);
                    long offset = random.nextLong(regionLength - length + 1);
                    batch.read(GlobalAddress.of(NODE, region, offset), length);
                }
                case 1 -> {
                    int length = random.nextInt(6000);
                    long offset = random.nextLong(regionLength - length + 1);
                    batch.write(GlobalAddress.of(NODE, region, offset), new byte[length]);
                }
                case 2 -> batch.compareAndSwap(GlobalAddress.of(NODE, region, 8 * random.nextLong(regionLength / 8)),
                        random.nextLong(), random.nextLong());
                default -> batch.fetchAndAdd(GlobalAddress.of(NODE, region, 8 * random.nextLong(regionLength / 8)),
                        random.nextLong());
            }
        }
        return batch;
    }
}
