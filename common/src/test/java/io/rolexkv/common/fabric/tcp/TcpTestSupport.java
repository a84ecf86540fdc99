package io.rolexkv.common.fabric.tcp;

import io.rolexkv.common.fabric.BatchResult;
import io.rolexkv.common.fabric.CompletionBuffer;
import io.rolexkv.common.fabric.DoorbellBatch;
import io.rolexkv.common.fabric.GlobalAddress;
import io.rolexkv.common.fabric.RegionInfo;
import io.rolexkv.common.fabric.RegisteredMemory;
import io.rolexkv.common.fabric.VerbKind;
import io.rolexkv.common.fabric.WordOrder;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.List;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

/** Memory layouts, seeded random batches and result comparisons shared by the tcp transport's tests. */
final class TcpTestSupport {
    /** Not 0, so an address of node 0 is a real wrong-node case. */
    static final int MEMORY_NODE = 3;
    static final String LOCALHOST_ANY_PORT = "127.0.0.1:0";

    private TcpTestSupport() {
    }

    /** Node {@link #MEMORY_NODE} with two regions: 4 KiB "alpha" and 1004-byte "beta" (not a multiple of 8). */
    static RegisteredMemory newMemory() {
        RegisteredMemory memory = new RegisteredMemory(MEMORY_NODE);
        memory.allocate("alpha", 4096);
        memory.allocate("beta", 1004);
        return memory;
    }

    /** Fills every region of {@code memories} with the same seeded bytes of small words, so CAS sometimes hits. */
    static void fillAlike(long seed, RegisteredMemory... memories) {
        Random random = new Random(seed);
        for (RegionInfo region : memories[0].regions()) {
            byte[] data = new byte[(int) region.length()];
            for (int offset = 0; offset + Long.BYTES <= data.length; offset += Long.BYTES) {
                WordOrder.putLong(data, offset, random.nextInt(4));
            }
            for (RegisteredMemory memory : memories) {
                MemorySegment.copy(MemorySegment.ofArray(data), 0, memory.segment(region.id()), 0, data.length);
            }
        }
    }

    /**
     * A random batch of 1..{@code maxVerbs} verbs against {@code memory}'s regions. CAS expects the word
     * {@code model} holds now half of the time, so swaps happen. With {@code badVerbs}, about one batch in eight
     * holds a verb the node must refuse (unknown region, out of bounds, unaligned atomic, wrong memory node).
     */
    static DoorbellBatch randomBatch(Random random, RegisteredMemory model, int maxVerbs, boolean badVerbs) {
        List<RegionInfo> regions = model.regions();
        DoorbellBatch batch = new DoorbellBatch();
        int verbs = 1 + random.nextInt(maxVerbs);
        int badVerb = badVerbs && random.nextInt(8) == 0 ? random.nextInt(verbs) : -1;
        for (int i = 0; i < verbs; i++) {
            RegionInfo region = regions.get(random.nextInt(regions.size()));
            VerbKind kind = VerbKind.values()[random.nextInt(4)];
            int length = kind.isAtomic() ? Long.BYTES : random.nextInt(Math.min(300, (int) region.length()) + 1);
            long offset = kind.isAtomic()
                    ? Long.BYTES * (long) random.nextInt((int) (region.length() / Long.BYTES))
                    : random.nextLong(region.length() - length + 1);
            int regionId = region.id();
            int node = model.memoryNodeId();
            if (i == badVerb) {
                switch (random.nextInt(4)) {
                    case 0 -> regionId = regions.size() + random.nextInt(3);
                    case 1 -> {
                        length = Math.max(length, 1);
                        offset = region.length() - length + 1 + random.nextInt(16);
                        if (kind.isAtomic()) {
                            offset = (offset + 7) & ~7L;
                        }
                    }
                    case 2 -> {
                        kind = random.nextBoolean() ? VerbKind.CAS : VerbKind.FAA;
                        length = Long.BYTES;
                        offset = 1 + random.nextInt(7);
                    }
                    default -> node = (node + 1 + random.nextInt(5)) % GlobalAddress.MAX_MEMORY_NODES;
                }
            }
            long address = GlobalAddress.of(node, regionId, offset);
            switch (kind) {
                case READ -> batch.read(address, length);
                case WRITE -> {
                    byte[] data = new byte[length];
                    if (random.nextBoolean()) {
                        random.nextBytes(data);
                    } else {
                        for (int b = 0; b < length; b += Long.BYTES) {
                            data[b] = (byte) random.nextInt(4);
                        }
                    }
                    batch.write(address, data);
                }
                case CAS -> {
                    long expected = random.nextBoolean() && regionId < regions.size() && node == model.memoryNodeId()
                            && offset + Long.BYTES <= model.segment(regionId).byteSize()
                            ? WordOrder.getLong(model.segment(regionId), offset & ~7L)
                            : random.nextInt(4);
                    batch.compareAndSwap(address, expected, random.nextInt(8));
                }
                case FAA -> batch.fetchAndAdd(address, random.nextInt(5) - 2);
            }
        }
        return batch;
    }

    /** Asserts two results of the same batch agree on every READ's bytes and every atomic's old value. */
    static void assertSameResult(DoorbellBatch batch, BatchResult expected, BatchResult actual, String context) {
        assertEquals(batch.size(), actual.size(), context);
        for (int i = 0; i < batch.size(); i++) {
            switch (batch.kind(i)) {
                case READ -> assertArrayEquals(expected.readBytes(i), actual.readBytes(i), context + " " + batch.describe(i));
                case CAS, FAA -> assertEquals(expected.oldValue(i), actual.oldValue(i), context + " " + batch.describe(i));
                case WRITE -> {
                }
            }
        }
    }

    /** Asserts {@code actual}, a buffer filled with {@code batch}'s completion, holds what {@code expected} does. */
    static void assertSameResult(DoorbellBatch batch, BatchResult expected, CompletionBuffer actual, String context) {
        assertEquals(batch.size(), actual.size(), context);
        for (int i = 0; i < batch.size(); i++) {
            switch (batch.kind(i)) {
                case READ -> assertArrayEquals(expected.readBytes(i), actual.read(i).toArray(ValueLayout.JAVA_BYTE),
                        context + " " + batch.describe(i));
                case CAS, FAA -> assertEquals(expected.oldValue(i), actual.oldValue(i), context + " " + batch.describe(i));
                case WRITE -> {
                }
            }
        }
    }

    /** Asserts every region of the two memories holds the same bytes. */
    static void assertSameMemory(RegisteredMemory expected, RegisteredMemory actual, String context) {
        for (RegionInfo region : expected.regions()) {
            MemorySegment want = expected.segment(region.id());
            MemorySegment got = actual.segment(region.id());
            assertEquals(-1, want.mismatch(got), context + " region=" + region.name() + " first differing byte");
        }
    }

    static byte[] bytes(RegisteredMemory memory, int regionId) {
        return memory.segment(regionId).toArray(ValueLayout.JAVA_BYTE);
    }
}
