package io.rolexkv.bench.jmh;

import io.rolexkv.bench.ycsb.YcsbRecordCodec;
import io.rolexkv.computenode.value.ValueBlockDescriptor;
import io.rolexkv.computenode.value.ValueWord;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import site.ycsb.ByteIterator;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.HashMap;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.concurrent.TimeUnit;

/**
 * The CPU cost of turning values into bytes and back, on both sides of the engine:
 *
 * <ul>
 *   <li>{@code ycsb*}: the YCSB binding's record codec ({@link YcsbRecordCodec}): YCSB's default record of 10 fields
 *       of 100 bytes, and the single 8-byte field of {@code --value-size 8} (stored as the value itself). Decode is
 *       both the plain field split and {@code decodeInto}, which builds the map a YCSB read returns.</li>
 *   <li>{@code block*}: the compute node's value blocks ({@link ValueBlockDescriptor}): encode is the header and
 *       CRC32C a put writes before any leaf names the block; validate is the check a get runs on a block READ back
 *       (key, length, incarnation, checksum) and, for {@code blockValidateAndCopy}, the copy out that
 *       {@code BaseKV.get} returns. For values of 8 bytes (as the blocks layout stores them), the default YCSB record
 *       (1,020 bytes encoded) and 4 KiB.</li>
 *   <li>{@code inline8*}: the {@code inline8} layout's value word ({@link ValueWord#ofInline8}): no block at all.</li>
 * </ul>
 */
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
@Fork(value = 1, jvmArgsAppend = {"--enable-native-access=ALL-UNNAMED"})
public class ValueCodecBenchmark {
    private static final long SEED = 2023;

    /** YCSB records: the default schema and the 8-byte single field. */
    @State(Scope.Thread)
    public static class YcsbRecords {
        final YcsbRecordCodec tenFields = new YcsbRecordCodec(YcsbRecordCodec.FIELD_NAME_PREFIX_DEFAULT, 10);
        final YcsbRecordCodec oneField = new YcsbRecordCodec(YcsbRecordCodec.FIELD_NAME_PREFIX_DEFAULT, 1);
        byte[][] tenFieldsOf100;
        byte[][] oneFieldOf8;
        byte[] tenFieldsEncoded;
        byte[] oneFieldEncoded;

        @Setup(Level.Trial)
        public void build() {
            SplittableRandom random = new SplittableRandom(SEED);
            tenFieldsOf100 = new byte[10][100];
            for (byte[] field : tenFieldsOf100) {
                random.nextBytes(field);
            }
            oneFieldOf8 = new byte[1][8];
            random.nextBytes(oneFieldOf8[0]);
            tenFieldsEncoded = tenFields.encode(tenFieldsOf100);
            oneFieldEncoded = oneField.encode(oneFieldOf8);
        }
    }

    /** One value and the block a put writes for it. */
    @State(Scope.Thread)
    public static class Blocks {
        private static final int INCARNATION = 3;
        private static final long BLOCK_OFFSET = 1L << 20;

        @Param({"8", "1020", "4096"})
        public int valueBytes;

        long key;
        byte[] value;
        long handle;
        MemorySegment blockRead;

        @Setup(Level.Trial)
        public void build() {
            SplittableRandom random = new SplittableRandom(SEED);
            key = random.nextLong();
            value = new byte[valueBytes];
            random.nextBytes(value);
            handle = ValueWord.ofHandle(BLOCK_OFFSET, valueBytes, INCARNATION);
            // What a READ of ValueBlockDescriptor.readBytes(handle) returns: read-only bytes.
            blockRead = MemorySegment.ofArray(ValueBlockDescriptor.encode(key, INCARNATION, value)).asReadOnly();
            if (ValueBlockDescriptor.valueOrNull(blockRead, key, handle) == null) {
                throw new IllegalStateException("the block does not validate: valueBytes=" + valueBytes);
            }
        }
    }

    /** An 8-byte value and its {@code inline8} word. */
    @State(Scope.Thread)
    public static class Inline8 {
        byte[] value;
        long word;

        @Setup(Level.Trial)
        public void build() {
            value = new byte[Long.BYTES];
            new SplittableRandom(SEED).nextBytes(value);
            word = ValueWord.ofInline8(value);
        }
    }

    @Benchmark
    public byte[] ycsbEncode10x100(YcsbRecords records) {
        return records.tenFields.encode(records.tenFieldsOf100);
    }

    @Benchmark
    public byte[][] ycsbDecode10x100(YcsbRecords records) {
        return records.tenFields.decode(records.tenFieldsEncoded);
    }

    @Benchmark
    public Map<String, ?> ycsbDecodeInto10x100(YcsbRecords records) {
        HashMap<String, ByteIterator> result = new HashMap<>();
        records.tenFields.decodeInto(records.tenFieldsEncoded, null, result);
        return result;
    }

    @Benchmark
    public byte[] ycsbEncode1x8(YcsbRecords records) {
        return records.oneField.encode(records.oneFieldOf8);
    }

    @Benchmark
    public byte[][] ycsbDecode1x8(YcsbRecords records) {
        return records.oneField.decode(records.oneFieldEncoded);
    }

    @Benchmark
    public byte[] blockEncode(Blocks blocks) {
        return ValueBlockDescriptor.encode(blocks.key, ValueWord.incarnation(blocks.handle), blocks.value);
    }

    @Benchmark
    public MemorySegment blockValidate(Blocks blocks) {
        return ValueBlockDescriptor.valueOrNull(blocks.blockRead, blocks.key, blocks.handle);
    }

    @Benchmark
    public byte[] blockValidateAndCopy(Blocks blocks) {
        return ValueBlockDescriptor.valueOrNull(blocks.blockRead, blocks.key, blocks.handle)
                .toArray(ValueLayout.JAVA_BYTE);
    }

    @Benchmark
    public long inline8Encode(Inline8 inline) {
        return ValueWord.ofInline8(inline.value);
    }

    @Benchmark
    public byte[] inline8Decode(Inline8 inline) {
        return ValueWord.inline8Bytes(inline.word);
    }
}
