package io.rolexkv.common.fabric.rdma;

import io.rolexkv.common.fabric.RegionInfo;
import io.rolexkv.common.fabric.WordOrder;
import org.junit.jupiter.api.Test;

import java.lang.foreign.MemorySegment;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class RdmaHandshakeDescriptorTest {

    private static RdmaRegionTable sampleTable() {
        return new RdmaRegionTable(200, 0x8000_0000_0000_0001L, List.of(
                new RdmaRemoteRegion(new RegionInfo(1, "leaves", 5L << 12), 0x7F12_3456_7000L, 12,
                        new int[]{11, -22, 33, 44, 0x7FFF_FFFF}),
                new RdmaRemoteRegion(new RegionInfo(0, "models-κ", 100), 0x1000L, 30, new int[]{0xCAFE}),
                new RdmaRemoteRegion(new RegionInfo(2, "empty", 0), 0x2000L, 20, new int[0])));
    }

    @Test
    void helloRoundTripsEveryField() {
        RdmaRegionTable table = sampleTable();
        byte[] hello = RdmaHandshakeDescriptor.encode(table);

        RdmaRegionTable decoded = RdmaHandshakeDescriptor.decode(MemorySegment.ofArray(hello), hello.length);

        assertEquals(200, decoded.memoryNodeId());
        assertEquals(0x8000_0000_0000_0001L, decoded.incarnation(), "the incarnation, every bit of it");
        assertEquals(List.of(new RegionInfo(0, "models-κ", 100), new RegionInfo(1, "leaves", 5L << 12),
                new RegionInfo(2, "empty", 0)), decoded.regionInfos());
        for (RdmaRemoteRegion expected : table.regions()) {
            RdmaRemoteRegion actual = decoded.regionOrNull(expected.info().id());
            assertEquals(expected.baseAddress(), actual.baseAddress());
            assertEquals(expected.chunkShift(), actual.chunkShift());
            assertEquals(expected.chunkCount(), actual.chunkCount());
            for (int chunk = 0; chunk < expected.chunkCount(); chunk++) {
                assertEquals(expected.rkey(chunk), actual.rkey(chunk));
            }
        }
        assertEquals(0, hello.length % 8, "records are 8-aligned");
        assertEquals(RdmaHandshakeDescriptor.MAGIC, WordOrder.getLong(hello, 0) & 0xFFFF_FFFFL);
    }

    @Test
    void helloDecodesFromTheStartOfALargerReceiveBuffer() {
        byte[] hello = RdmaHandshakeDescriptor.encode(sampleTable());
        byte[] receiveBuffer = new byte[RdmaHandshakeDescriptor.MAX_MESSAGE_BYTES];
        System.arraycopy(hello, 0, receiveBuffer, 0, hello.length);

        RdmaRegionTable decoded = RdmaHandshakeDescriptor.decode(MemorySegment.ofArray(receiveBuffer), hello.length);

        assertEquals(3, decoded.regionCount());
    }

    @Test
    void malformedHellosAreRefusedWithTheFieldNamed() {
        byte[] hello = RdmaHandshakeDescriptor.encode(sampleTable());

        assertRefused(hello, hello.length - 8, "message_length");
        assertRefused(hello, 8, "length=8");

        byte[] badMagic = hello.clone();
        badMagic[0] ^= 1;
        assertRefused(badMagic, hello.length, "not a rolex-kv memory node");

        byte[] badVersion = hello.clone();
        badVersion[RdmaHandshakeDescriptor.VERSION_OFFSET] = 9;
        assertRefused(badVersion, hello.length, "version=9");

        byte[] badChunks = hello.clone();
        MemorySegment.ofArray(badChunks).set(WordOrder.INT_UNALIGNED,
                RdmaHandshakeDescriptor.HEADER_LENGTH + RdmaHandshakeDescriptor.REGION_CHUNK_COUNT_OFFSET, 40);
        assertRefused(badChunks, hello.length, "runs past length");

        byte[] badCount = hello.clone();
        MemorySegment.ofArray(badCount).set(WordOrder.INT_UNALIGNED, RdmaHandshakeDescriptor.REGION_COUNT_OFFSET, 2);
        assertRefused(badCount, hello.length, "records end at");
    }

    private static void assertRefused(byte[] hello, int length, String expectedText) {
        IllegalArgumentException refused = assertThrows(IllegalArgumentException.class,
                () -> RdmaHandshakeDescriptor.decode(MemorySegment.ofArray(hello), length));
        assertTrue(refused.getMessage().contains(expectedText), refused.getMessage());
    }

    @Test
    void aHelloLargerThanTheClientsReceiveBufferIsRefusedWhenServing() {
        int chunks = 20_000; // 80 KB of rkeys
        RdmaRegionTable table = new RdmaRegionTable(0, 1, List.of(new RdmaRemoteRegion(
                new RegionInfo(0, "big", (long) chunks << 12), 0, 12, new int[chunks])));

        IllegalArgumentException refused = assertThrows(IllegalArgumentException.class,
                () -> RdmaHandshakeDescriptor.encode(table));

        assertTrue(refused.getMessage().contains("max=" + RdmaHandshakeDescriptor.MAX_MESSAGE_BYTES), refused.getMessage());
        assertTrue(refused.getMessage().contains(RdmaSettings.REGISTRATION_CHUNK_SHIFT_PROP_NAME), refused.getMessage());
    }
}
