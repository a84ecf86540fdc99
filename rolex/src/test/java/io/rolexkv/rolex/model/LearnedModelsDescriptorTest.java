package io.rolexkv.rolex.model;

import io.rolexkv.common.fabric.WordOrder;
import org.junit.jupiter.api.Test;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.List;
import java.util.zip.CRC32C;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class LearnedModelsDescriptorTest {

    @Test
    void trainedModelSetsRoundTripBitForBit() {
        for (TestKeySets.Distribution distribution : TestKeySets.all(5_000)) {
            long[] keys = distribution.keys(37);
            LearnedModels models = OptimalPiecewiseLinearTrainer.train(keys, 8);
            byte[] bytes = LearnedModelsDescriptor.encode(models);
            assertEquals(LearnedModelsDescriptor.HEADER_LENGTH + 48 * models.modelCount(), bytes.length);
            LearnedModels decoded = LearnedModelsDescriptor.decode(bytes);
            assertEquals(models, decoded, distribution.name());
            assertArrayEquals(bytes, LearnedModelsDescriptor.encode(decoded));
            ModelAssertions.assertTrainedOn(decoded, keys, 8);
        }
    }

    @Test
    void theEmptyIndexModelRoundTrips() {
        LearnedModels models = LearnedModels.forEmptyIndex(4096, 64);
        LearnedModels decoded = LearnedModelsDescriptor.decode(LearnedModelsDescriptor.encode(models));
        assertEquals(models, decoded);
        assertEquals(models.leafRange(0xDEAD_BEEF_0000_0000L, 64), decoded.leafRange(0xDEAD_BEEF_0000_0000L, 64));
    }

    @Test
    void encodesIntoAndDecodesFromARegionAtAnOffset() {
        LearnedModels models = OptimalPiecewiseLinearTrainer.train(TestKeySets.uniform(20_000, 41), 16);
        try (Arena arena = Arena.ofConfined()) {
            int length = LearnedModelsDescriptor.encodedLength(models);
            MemorySegment region = arena.allocate(length + 64, 8);
            assertEquals(length, LearnedModelsDescriptor.encode(models, region, 40));
            // A reader first READs the header, then the whole set; trailing bytes are ignored.
            assertEquals(models.modelCount(), LearnedModelsDescriptor.modelCount(region.asSlice(40, 24), 0));
            assertEquals(models, LearnedModelsDescriptor.decode(region, 40));
            assertThrows(IndexOutOfBoundsException.class, () -> LearnedModelsDescriptor.encode(models, region, 41 + 64));
        }
    }

    @Test
    void headerFieldsSitWhereTheDiagramSays() {
        LearnedModels models = LearnedModels.of(List.of(
            new LinearModel(0x0102_0304_0506_0708L, 0.25, -1.5, 0, 9, 4),
            new LinearModel(0xF000_0000_0000_0000L, 1.0, 2.0, 10, 10, 4)));
        byte[] bytes = LearnedModelsDescriptor.encode(models);
        assertEquals('R', bytes[0]);
        assertEquals('L', bytes[1]);
        assertEquals('X', bytes[2]);
        assertEquals('M', bytes[3]);
        assertEquals(1, bytes[4]);
        assertEquals(48, bytes[6]);
        assertEquals(2, bytes[8]);
        assertEquals(11L, WordOrder.getLong(bytes, 16));
        // First record: little-endian first key, then the slope's bits.
        assertEquals(0x08, bytes[24]);
        assertEquals(0x01, bytes[31]);
        assertEquals(Double.doubleToRawLongBits(0.25), WordOrder.getLong(bytes, 24 + 8));
        assertEquals(Double.doubleToRawLongBits(-1.5), WordOrder.getLong(bytes, 24 + 16));
        assertEquals(9L, WordOrder.getLong(bytes, 24 + 32));
        assertEquals(4, bytes[24 + 40]);
        assertEquals(10L, WordOrder.getLong(bytes, 24 + 48 + 24));
    }

    @Test
    void everyTruncationIsReported() {
        byte[] bytes = LearnedModelsDescriptor.encode(OptimalPiecewiseLinearTrainer.train(
            TestKeySets.lognormalGaps(2_000, 43, 0), 4));
        for (int length = 0; length < bytes.length; length++) {
            MemorySegment prefix = MemorySegment.ofArray(bytes).asSlice(0, length);
            CorruptModelException error = assertThrows(CorruptModelException.class,
                () -> LearnedModelsDescriptor.decode(prefix, 0));
            assertTrue(error.getMessage().startsWith("model set truncated:"), error.getMessage());
        }
        assertEquals("model set truncated: offset=0 modelCount=" + LearnedModelsDescriptor.modelCount(
                MemorySegment.ofArray(bytes), 0) + " length=" + bytes.length + " available=" + (bytes.length - 1),
            assertThrows(CorruptModelException.class, () -> LearnedModelsDescriptor.decode(
                MemorySegment.ofArray(bytes).asSlice(0, bytes.length - 1), 0)).getMessage());
    }

    @Test
    void everySingleBitFlipIsDetected() {
        LearnedModels models = OptimalPiecewiseLinearTrainer.train(TestKeySets.denseClusters(3_000, 3, 47), 2);
        byte[] bytes = LearnedModelsDescriptor.encode(models);
        assertTrue(models.modelCount() >= 3);
        for (int bit = 0; bit < bytes.length * 8; bit++) {
            byte[] corrupt = bytes.clone();
            corrupt[bit / 8] ^= (byte) (1 << (bit % 8));
            int flipped = bit;
            assertThrows(CorruptModelException.class, () -> LearnedModelsDescriptor.decode(corrupt),
                () -> "bit=" + flipped);
        }
    }

    @Test
    void aChecksumMismatchNamesBothValues() {
        byte[] bytes = LearnedModelsDescriptor.encode(LearnedModels.forEmptyIndex(10, 8));
        bytes[30] ^= 1;
        CorruptModelException error = assertThrows(CorruptModelException.class,
            () -> LearnedModelsDescriptor.decode(bytes));
        assertTrue(error.getMessage().matches(
            "model set checksum mismatch: offset=0 modelCount=1 stored=0x[0-9a-f]+ computed=0x[0-9a-f]+"),
            error.getMessage());
    }

    @Test
    void wrongMagicVersionOrRecordLengthIsReportedBeforeTheChecksum() {
        byte[] good = LearnedModelsDescriptor.encode(LearnedModels.forEmptyIndex(10, 8));
        byte[] magic = good.clone();
        magic[0] = 'X';
        assertTrue(assertThrows(CorruptModelException.class, () -> LearnedModelsDescriptor.decode(magic))
            .getMessage().startsWith("model set corrupt: offset=0 magic=0x"));
        byte[] version = good.clone();
        version[4] = 2;
        assertEquals("model set version unsupported: offset=0 version=2 supported=1",
            assertThrows(CorruptModelException.class, () -> LearnedModelsDescriptor.decode(version)).getMessage());
        byte[] recordLength = good.clone();
        recordLength[6] = 40;
        assertEquals("model set corrupt: offset=0 recordLength=40 expected=48",
            assertThrows(CorruptModelException.class, () -> LearnedModelsDescriptor.decode(recordLength))
                .getMessage());
        byte[] zeroModels = good.clone();
        WordOrder.putLong(zeroModels, 8, 0);
        assertTrue(assertThrows(CorruptModelException.class, () -> LearnedModelsDescriptor.decode(zeroModels))
            .getMessage().startsWith("model set corrupt: offset=0 modelCount=0 allowed=[1,"));
    }

    @Test
    void validChecksumOverInvalidContentIsStillRejected() {
        LearnedModels models = LearnedModels.of(List.of(
            new LinearModel(100, 0.5, 0.0, 0, 9, 4),
            new LinearModel(200, 0.5, 0.0, 10, 19, 4)));
        byte[] gap = LearnedModelsDescriptor.encode(models);
        WordOrder.putLong(gap, 24 + 48 + 24, 11);  // second model's firstRank
        resealChecksum(gap);
        assertEquals("model set corrupt: offset=0 model ranks must be contiguous from 0: modelIndex=1 firstRank=11"
            + " expected=10", assertThrows(CorruptModelException.class, () -> LearnedModelsDescriptor.decode(gap))
            .getMessage());

        byte[] negativeSlope = LearnedModelsDescriptor.encode(models);
        WordOrder.putLong(negativeSlope, 24 + 8, Double.doubleToRawLongBits(-0.5));
        resealChecksum(negativeSlope);
        assertTrue(assertThrows(CorruptModelException.class, () -> LearnedModelsDescriptor.decode(negativeSlope))
            .getMessage().startsWith("model set corrupt: modelIndex=0 linear model record corrupt: offset=24 slope=-0.5"));

        byte[] reserved = LearnedModelsDescriptor.encode(models);
        reserved[24 + 48 + 44] = 1;
        resealChecksum(reserved);
        assertEquals("model set corrupt: modelIndex=1 linear model record corrupt: offset=72 reserved=1 expected=0",
            assertThrows(CorruptModelException.class, () -> LearnedModelsDescriptor.decode(reserved)).getMessage());

        byte[] rankCount = LearnedModelsDescriptor.encode(models);
        WordOrder.putLong(rankCount, 16, 21);
        resealChecksum(rankCount);
        assertEquals("model set corrupt: offset=0 rankCount=21 lastModelCovers=20",
            assertThrows(CorruptModelException.class, () -> LearnedModelsDescriptor.decode(rankCount)).getMessage());
    }

    @Test
    void singleModelRecordsRoundTrip() {
        LinearModel[] samples = {
            new LinearModel(0, 0.0, 0.0, 0, 0, 1),
            new LinearModel(UnsignedKeys.MAX_KEY, Double.MIN_VALUE, -0.0, 5, 1L << 40, 64),
            new LinearModel(Long.MIN_VALUE, 1.0 / 3.0, 123.456, Long.MAX_VALUE - 1, Long.MAX_VALUE, Integer.MAX_VALUE),
        };
        for (LinearModel model : samples) {
            byte[] bytes = LinearModelDescriptor.encode(model);
            assertEquals(LinearModelDescriptor.LENGTH, bytes.length);
            LinearModel decoded = LinearModelDescriptor.decode(bytes);
            assertEquals(model, decoded);
            assertEquals(Double.doubleToRawLongBits(model.intercept()), Double.doubleToRawLongBits(decoded.intercept()));
        }
        CorruptModelException truncated = assertThrows(CorruptModelException.class,
            () -> LinearModelDescriptor.decode(new byte[47]));
        assertEquals("linear model record truncated: offset=0 length=48 available=47", truncated.getMessage());
        byte[] epsilon = LinearModelDescriptor.encode(samples[0]);
        epsilon[LinearModelDescriptor.EPSILON_OFFSET + 3] = (byte) 0x80;
        assertThrows(CorruptModelException.class, () -> LinearModelDescriptor.decode(epsilon));
    }

    @Test
    void encodedLengthIsChecked() {
        assertThrows(IllegalArgumentException.class, () -> LearnedModelsDescriptor.encodedLength(0));
        assertThrows(IllegalArgumentException.class,
            () -> LearnedModelsDescriptor.encodedLength(LearnedModelsDescriptor.MAX_MODEL_COUNT + 1));
        assertEquals(24 + 48 * 335, LearnedModelsDescriptor.encodedLength(335));
    }

    private static void resealChecksum(byte[] bytes) {
        CRC32C crc = new CRC32C();
        crc.update(bytes, 0, LearnedModelsDescriptor.CHECKSUM_OFFSET);
        crc.update(bytes, LearnedModelsDescriptor.RANK_COUNT_OFFSET,
            bytes.length - LearnedModelsDescriptor.RANK_COUNT_OFFSET);
        MemorySegment.ofArray(bytes).set(WordOrder.INT_UNALIGNED, LearnedModelsDescriptor.CHECKSUM_OFFSET,
            (int) crc.getValue());
    }
}
