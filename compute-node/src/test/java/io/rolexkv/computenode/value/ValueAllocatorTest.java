package io.rolexkv.computenode.value;

import io.rolexkv.common.fabric.DoorbellBatch;
import io.rolexkv.common.fabric.FabricConnection;
import io.rolexkv.common.fabric.FabricCounters;
import io.rolexkv.common.fabric.RegionInfo;
import io.rolexkv.common.fabric.RegisteredMemory;
import io.rolexkv.common.fabric.WordOrder;
import io.rolexkv.common.fabric.loopback.LoopbackTransport;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.util.Random;
import java.util.TreeMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The allocator against a real values region over loopback, with a hand-driven clock for the grace period. */
@Timeout(30)
class ValueAllocatorTest {
    private static final long GRACE = TimeUnit.SECONDS.toNanos(1);

    private final AtomicLong clock = new AtomicLong(1_000);
    private RegisteredMemory memory;
    private LoopbackTransport transport;
    private FabricConnection connection;
    private RegionInfo region;

    private ValueAllocator allocator(long regionBytes, long chunkBytes, long graceNanos, boolean realClock) {
        memory = new RegisteredMemory(2);
        region = memory.allocate(ValueRegionDescriptor.REGION_NAME, regionBytes);
        transport = new LoopbackTransport();
        transport.serve(memory, "node");
        connection = transport.connect("node", new FabricCounters());
        return new ValueAllocator(2, region, chunkBytes, graceNanos, realClock ? System::nanoTime : clock::get);
    }

    @AfterEach
    void close() {
        if (transport != null) {
            transport.close();
            memory.close();
        }
    }

    /** Carries an allocation's claim, if any, in a doorbell of its own, as an engine's put would in its first one. */
    private void carry(ValueAllocator.Allocation allocation) {
        if (allocation.claim() != null) {
            DoorbellBatch batch = new DoorbellBatch();
            int verb = allocation.appendClaim(batch);
            allocation.claim().complete(connection.execute(batch).oldValue(verb));
        }
    }

    private long usedBytesCounter() {
        return WordOrder.getLong(memory.segment(region.id()), ValueRegionDescriptor.USED_BYTES_OFFSET);
    }

    @Test
    void aColdAllocatorClaimsOnceThenAsksTheCallerToCarryTheNextClaim() {
        ValueAllocator allocator = allocator(1 << 20, 4096, GRACE, false);
        long before = connection.counters().snapshot().doorbells();
        ValueAllocator.Allocation first = allocator.allocate(100, connection);
        assertEquals(1, connection.counters().snapshot().doorbells() - before, "the first allocation claims a chunk itself");
        assertNotNull(first.claim(), "and hands out a claim for the spare");
        assertEquals(ValueRegionDescriptor.HEADER_BYTES, ValueWord.blockOffset(first.handle()));
        carry(first);
        assertEquals(2 * 4096, usedBytesCounter());
        before = connection.counters().snapshot().doorbells();
        for (int i = 0; i < 40; i++) {
            carry(allocator.allocate(100, connection));
        }
        long claims = connection.counters().snapshot().doorbells() - before;
        // 41 blocks of 128 bytes: five chunks of 4096 in all; every later claim rode along (here in its own doorbell).
        assertTrue(claims <= 4, "claims carried=" + claims);
        assertEquals(0, allocator.space().reusedBytes());
    }

    @Test
    void blocksNeverOverlapAndStayInsideTheRegionThroughRetirementAndReuse() {
        ValueAllocator allocator = allocator(64 << 20, 64 << 10, GRACE, false);
        Random random = new Random(3);
        TreeMap<Long, Long> live = new TreeMap<>();
        java.util.List<Long> handles = new java.util.ArrayList<>();
        for (int i = 0; i < 3_000; i++) {
            int length = random.nextBoolean() ? 8 + random.nextInt(600) : 8 + random.nextInt(20_000);
            ValueAllocator.Allocation allocation = allocator.allocate(length, connection);
            carry(allocation);
            long offset = ValueWord.blockOffset(allocation.handle());
            long end = offset + SizeClasses.classOfValue(length);
            assertEquals(length, ValueWord.length(allocation.handle()));
            assertEquals(0, offset % 16);
            assertTrue(offset >= ValueRegionDescriptor.HEADER_BYTES && end <= region.length(), "inside the region");
            var below = live.floorEntry(offset);
            assertTrue(below == null || below.getValue() <= offset, "overlaps the live block below at " + offset);
            var above = live.ceilingEntry(offset);
            assertTrue(above == null || above.getKey() >= end, "overlaps the live block above at " + offset);
            live.put(offset, end);
            handles.add(allocation.handle());
            if (random.nextInt(3) > 0) {
                long victim = handles.remove(random.nextInt(handles.size()));
                live.remove(ValueWord.blockOffset(victim));
                allocator.retire(victim);
            }
            clock.addAndGet(GRACE / 50);
        }
        ValueAllocator.ValueSpace space = allocator.space();
        assertTrue(space.reusedBytes() > space.claimedBytes() / 2, "retired space was reused: " + space);
    }

    @Test
    void aRetiredBlockWaitsOutTheGraceThenReturnsWithTheNextIncarnation() {
        ValueAllocator allocator = allocator(1 << 20, 8192, GRACE, false);
        ValueAllocator.Allocation first = allocator.allocate(512, connection);
        carry(first);
        allocator.retire(first.handle());
        assertEquals(576, allocator.space().retiredBytes());
        assertEquals(576, allocator.space().pendingBytes());

        clock.addAndGet(GRACE - 1);
        ValueAllocator.Allocation during = allocator.allocate(512, connection);
        assertNotEquals(ValueWord.blockOffset(first.handle()), ValueWord.blockOffset(during.handle()),
                "reused inside the grace period");

        clock.addAndGet(1);
        ValueAllocator.Allocation after = allocator.allocate(500, connection); // same class, another length
        assertEquals(ValueWord.blockOffset(first.handle()), ValueWord.blockOffset(after.handle()));
        assertEquals(ValueWord.incarnation(first.handle()) + 1, ValueWord.incarnation(after.handle()));
        ValueAllocator.ValueSpace space = allocator.space();
        assertEquals(576, space.reusedBytes());
        assertEquals(0, space.pendingBytes());
    }

    @Test
    void aBlockThatWasNeverLinkedIsReusedAtOnce() {
        ValueAllocator allocator = allocator(1 << 20, 8192, GRACE, false);
        ValueAllocator.Allocation unlinked = allocator.allocate(64, connection);
        carry(unlinked);
        allocator.release(unlinked.handle());
        ValueAllocator.Allocation next = allocator.allocate(64, connection);
        assertEquals(ValueWord.blockOffset(unlinked.handle()), ValueWord.blockOffset(next.handle()));
        assertNotEquals(ValueWord.incarnation(unlinked.handle()), ValueWord.incarnation(next.handle()));
    }

    @Test
    void theEndOfAChunkServesSmallerClasses() {
        ValueAllocator allocator = allocator(1 << 20, 1200, GRACE, false);
        ValueAllocator.Allocation first = allocator.allocate(512, connection); // 576 of the first 1200
        carry(first);
        carry(allocator.allocate(512, connection)); // 1152 used: 48 left
        carry(allocator.allocate(512, connection)); // no room: the next chunk; the 48 are kept
        assertEquals(48, allocator.space().freeBytes());
        ValueAllocator.Allocation small = allocator.allocate(32, connection); // a 48-byte block
        assertEquals(ValueWord.blockOffset(first.handle()) + 1152, ValueWord.blockOffset(small.handle()));
        assertEquals(0, allocator.space().freeBytes());
        assertEquals(48, allocator.space().reusedBytes());
    }

    @Test
    void aFullRegionRefusesWithNothingStoredThenWaitsForARetiredBlock() {
        long regionBytes = ValueRegionDescriptor.HEADER_BYTES + 4 * 1024;
        ValueAllocator allocator = allocator(regionBytes, 1024, TimeUnit.MILLISECONDS.toNanos(50), true);
        int blocks = 0;
        ValueAllocator.Allocation last = null;
        while (true) {
            try {
                last = allocator.allocate(512 - 16 - 16, connection); // 512-byte blocks: two per chunk
                carry(last);
                blocks++;
            } catch (ValueRegionFullException full) {
                assertTrue(full.getMessage().contains("values region of memory node 2 is full"), full.getMessage());
                assertTrue(full.getMessage().contains("nothing was stored"), full.getMessage());
                break;
            }
        }
        assertEquals(8, blocks, "4 KiB of 512-byte blocks");
        allocator.retire(last.handle());
        long start = System.nanoTime();
        ValueAllocator.Allocation again = allocator.allocate(480, connection);
        assertEquals(ValueWord.blockOffset(last.handle()), ValueWord.blockOffset(again.handle()));
        assertTrue(System.nanoTime() - start >= TimeUnit.MILLISECONDS.toNanos(40), "waited out the grace period");
        assertNull(again.claim(), "a full region is not claimed from again");
    }

    /**
     * A closing allocator hands back its free chunk space at once and its retired blocks with their grace kept: the
     * next allocator, in a full region, serves from the returned space, never hands out a retired block before a whole
     * grace period after taking it, bumps its incarnation, and never hands out one byte twice.
     */
    @Test
    void spaceHandedBackServesTheNextAllocatorAndRetiredBlocksKeepTheirGrace() {
        long regionBytes = ValueRegionDescriptor.HEADER_BYTES + 8 * 1024;
        ValueAllocator first = allocator(regionBytes, 4096, GRACE, false);
        java.util.List<ValueAllocator.Allocation> live = new java.util.ArrayList<>();
        for (int i = 0; i < 6; i++) {
            ValueAllocator.Allocation allocation = first.allocate(480, connection); // 512-byte blocks
            carry(allocation);
            live.add(allocation);
        }
        ValueAllocator.Allocation retiredOne = live.removeFirst();
        first.retire(retiredOne.handle());
        long handedBack = first.returnAll(connection);
        assertEquals(8 * 1024 - 6 * 512 + 512, handedBack, "the rest of both chunks and the retired block");
        assertThrows(IllegalStateException.class, () -> first.allocate(480, connection), "nothing after handing back");

        ValueAllocator second = new ValueAllocator(2, region, 4096, GRACE, clock::get);
        java.util.TreeMap<Long, Long> taken = new java.util.TreeMap<>();
        for (ValueAllocator.Allocation allocation : live) {
            taken.put(ValueWord.blockOffset(allocation.handle()), 512L);
        }
        for (int served = 0; served < 16 - 6; served++) { // every free 512-byte block of the region
            ValueAllocator.Allocation allocation = second.allocate(480, connection);
            carry(allocation);
            long offset = ValueWord.blockOffset(allocation.handle());
            assertNotEquals(ValueWord.blockOffset(retiredOne.handle()), offset, "not inside the grace period");
            var below = taken.floorEntry(offset);
            assertTrue(below == null || below.getKey() + below.getValue() <= offset, "overlaps a live block: " + offset);
            var above = taken.ceilingEntry(offset);
            assertTrue(above == null || offset + 512 <= above.getKey(), "overlaps a live block: " + offset);
            taken.put(offset, 512L);
        }
        assertEquals(0, second.space().freeBytes(), "all served");
        assertEquals(512, second.space().pendingBytes(), "but the retired block, which waits a grace period");
        assertEquals(handedBack, second.space().takenBackBytes());
        clock.addAndGet(GRACE);
        ValueAllocator.Allocation reused = second.allocate(480, connection);
        assertEquals(ValueWord.blockOffset(retiredOne.handle()), ValueWord.blockOffset(reused.handle()),
                "the retired block, a grace period after it was taken");
        assertEquals(ValueWord.nextIncarnation(ValueWord.incarnation(retiredOne.handle())),
                ValueWord.incarnation(reused.handle()), "with its next incarnation");
    }
}
