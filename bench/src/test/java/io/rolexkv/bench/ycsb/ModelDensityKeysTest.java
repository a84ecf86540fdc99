package io.rolexkv.bench.ycsb;

import io.rolexkv.bench.index.ModelDensity;
import org.junit.jupiter.api.Test;

import java.util.Arrays;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;

/** The model density tool measures the keys the YCSB binding stores, not a look-alike. */
class ModelDensityKeysTest {

    @Test
    void ycsbKeysAreTheBindingsKeysForYcsbsOwnKeyNames() {
        for (boolean ordered : new boolean[] {false, true}) {
            YcsbKeyNames names = YcsbKeyNames.of(YcsbKeyCodec.ZERO_PADDING_DEFAULT, ordered);
            YcsbKeyCodec codec = new YcsbKeyCodec(YcsbKeyCodec.ZERO_PADDING_DEFAULT);
            int records = 20_000;
            long[] expected = new long[records];
            for (int record = 0; record < records; record++) {
                expected[record] = codec.encode(names.keyName(record)) ^ Long.MIN_VALUE;
            }
            Arrays.sort(expected); // flipped: signed order is the keys' unsigned order
            for (int i = 0; i < records; i++) {
                expected[i] ^= Long.MIN_VALUE;
            }
            assertArrayEquals(expected, ModelDensity.ycsbKeys(records, ordered), "ordered=" + ordered);
        }
    }
}
