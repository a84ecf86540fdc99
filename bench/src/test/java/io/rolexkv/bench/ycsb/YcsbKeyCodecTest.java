package io.rolexkv.bench.ycsb;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.util.Properties;
import java.util.SplittableRandom;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class YcsbKeyCodecTest {
    private static final long SEED = 0x5EED_C0DEL;

    /** A key number of every magnitude: uniform longs have 19 digits, so draw the digit count first. */
    private static long anyKeyNumber(SplittableRandom random) {
        long magnitude = switch (random.nextInt(4)) {
            case 0 -> random.nextLong(1L << 20);
            case 1 -> random.nextLong(Long.MAX_VALUE);
            case 2 -> (long) Math.pow(10, random.nextInt(19)) + random.nextInt(3) - 1;
            default -> random.nextLong() >>> random.nextInt(64);
        };
        return random.nextInt(8) == 0 ? -magnitude - random.nextInt(2) : magnitude;
    }

    @ParameterizedTest
    @ValueSource(ints = {0, 1, 5, 12, 20, 25})
    void storeKeysOrderAsTheKeyNumbers(int zeroPadding) {
        YcsbKeyCodec codec = new YcsbKeyCodec(zeroPadding);
        SplittableRandom random = new SplittableRandom(SEED + zeroPadding);
        for (int i = 0; i < 20_000; i++) {
            long first = anyKeyNumber(random);
            long second = random.nextInt(10) == 0 ? first + random.nextInt(3) - 1 : anyKeyNumber(random);
            long firstKey = codec.encode(codec.decode(YcsbKeyCodec.keyOfNumber(first)));
            long secondKey = codec.encode(codec.decode(YcsbKeyCodec.keyOfNumber(second)));
            assertEquals(Integer.signum(Long.compare(first, second)),
                    Integer.signum(Long.compareUnsigned(firstKey, secondKey)), () -> first + " vs " + second);
        }
    }

    @ParameterizedTest
    @ValueSource(ints = {0, 1, 7, 20})
    void encodingIsABijectionBetweenYcsbKeysAndStoreKeys(int zeroPadding) {
        YcsbKeyCodec codec = new YcsbKeyCodec(zeroPadding);
        SplittableRandom random = new SplittableRandom(SEED ^ zeroPadding);
        for (int i = 0; i < 20_000; i++) {
            long storeKey = random.nextInt(4) == 0 ? YcsbKeyCodec.keyOfNumber(anyKeyNumber(random)) : random.nextLong();
            String ycsbKey = codec.decode(storeKey);
            assertEquals(storeKey, codec.encode(ycsbKey), ycsbKey);
            assertEquals(ycsbKey, codec.decode(codec.encode(ycsbKey)));
        }
        for (long edge : new long[]{0, 1, -1, 9, 10, Long.MAX_VALUE, Long.MIN_VALUE, Long.MIN_VALUE + 1}) {
            String ycsbKey = codec.decode(YcsbKeyCodec.keyOfNumber(edge));
            assertEquals(YcsbKeyCodec.keyOfNumber(edge), codec.encode(ycsbKey), ycsbKey);
        }
    }

    @ParameterizedTest
    @ValueSource(ints = {1, 20})
    void decodesToExactlyTheKeysYcsbBuilds(int zeroPadding) {
        YcsbKeyCodec codec = new YcsbKeyCodec(zeroPadding);
        for (boolean ordered : new boolean[]{true, false}) {
            YcsbKeyNames ycsb = YcsbKeyNames.of(zeroPadding, ordered);
            SplittableRandom random = new SplittableRandom(SEED + zeroPadding);
            for (int i = 0; i < 5_000; i++) {
                long keyNumber = i < 1_000 ? i : random.nextLong(Integer.MAX_VALUE);
                String ycsbKey = ycsb.keyName(keyNumber);
                assertEquals(ycsbKey, codec.decode(codec.encode(ycsbKey)));
            }
        }
    }

    @Test
    void orderedInsertsGetConsecutiveStoreKeys() {
        YcsbKeyCodec codec = new YcsbKeyCodec(YcsbKeyCodec.ZERO_PADDING_DEFAULT);
        YcsbKeyNames ycsb = YcsbKeyNames.of(YcsbKeyCodec.ZERO_PADDING_DEFAULT, true);
        long first = codec.encode(ycsb.keyName(0));
        for (int keyNumber = 1; keyNumber < 1_000; keyNumber++) {
            assertEquals(first + keyNumber, codec.encode(ycsb.keyName(keyNumber)));
        }
        assertEquals(Long.MIN_VALUE, first, "user0 is 2^63: key numbers keep their signed order among unsigned keys");
    }

    @Test
    void paddedToTwentyDigitsStringOrderIsStoreOrder() {
        YcsbKeyCodec codec = new YcsbKeyCodec(20);
        SplittableRandom random = new SplittableRandom(SEED);
        for (int i = 0; i < 20_000; i++) {
            String first = codec.decode(YcsbKeyCodec.keyOfNumber(anyKeyNumber(random) >>> 1));
            String second = codec.decode(YcsbKeyCodec.keyOfNumber(anyKeyNumber(random) >>> 1));
            assertEquals(Integer.signum(first.compareTo(second)),
                    Integer.signum(Long.compareUnsigned(codec.encode(first), codec.encode(second))), first + " " + second);
        }
    }

    @Test
    void theOneNegativeKeyYcsbCanMakeSortsFirst() {
        YcsbKeyCodec codec = new YcsbKeyCodec(1);
        long negative = codec.encode("user-9223372036854775808");
        assertEquals(0L, negative);
        assertTrue(Long.compareUnsigned(negative, codec.encode("user0")) < 0);
        assertEquals("user-9223372036854775808", codec.decode(negative));
        assertEquals("user0-5", new YcsbKeyCodec(3).decode(YcsbKeyCodec.keyOfNumber(-5)),
                "zeros go before the sign, as buildKeyName puts them");
    }

    @Test
    void refusesWhatYcsbWouldNeverBuild() {
        YcsbKeyCodec codec = new YcsbKeyCodec(3);
        for (String key : new String[]{"", "user", "usr123", "User123", "user12", "user0123", "user+123", "user-0",
                "user00-0", "user12a", "user 123", "user1.5", "user99999999999999999999", "user-",
                "user9223372036854775808"}) {
            IllegalArgumentException refused = assertThrows(IllegalArgumentException.class, () -> codec.encode(key),
                    key);
            assertTrue(refused.getMessage().contains("key=" + key), refused.getMessage());
        }
        assertThrows(IllegalArgumentException.class, () -> codec.encode(null));
        assertEquals("user012", codec.decode(codec.encode("user012")));
        assertTrue(assertThrows(IllegalArgumentException.class, () -> codec.encode("user12")).getMessage()
                .contains("expected user012"));
    }

    @Test
    void readsZeroPaddingFromYcsbProperties() {
        Properties properties = new Properties();
        assertEquals(1, YcsbKeyCodec.fromProperties(properties).zeroPadding());
        properties.setProperty("zeropadding", "16");
        assertEquals(16, YcsbKeyCodec.fromProperties(properties).zeroPadding());
        properties.setProperty("zeropadding", "many");
        assertTrue(assertThrows(IllegalArgumentException.class, () -> YcsbKeyCodec.fromProperties(properties))
                .getMessage().contains("zeropadding=many"));
        assertThrows(IllegalArgumentException.class, () -> new YcsbKeyCodec(-1));
    }
}
