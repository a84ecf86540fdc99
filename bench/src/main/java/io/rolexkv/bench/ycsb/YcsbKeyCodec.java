package io.rolexkv.bench.ycsb;

import java.util.Properties;

/**
 * YCSB's string keys as the store's unsigned 64-bit keys, order preserved, so a YCSB scan is a real range scan.
 *
 * <h2>YCSB's keys</h2>
 * YCSB 0.17.0's {@code CoreWorkload.buildKeyName} turns a key number {@code n} (a long) into
 * {@code "user" + zeros + Long.toString(n)}, with as many {@code '0'} as {@code zeropadding} minus the length of
 * {@code Long.toString(n)} (none if that is not positive). With {@code insertorder=ordered} the numbers are 0, 1, 2,
 * ...; with {@code insertorder=hashed} (the default) they are {@code Utils.hash} of those: FNV-64 through
 * {@code Math.abs}, so any value in {@code [0, 2^63 - 1]}, and {@code Long.MIN_VALUE} on the one input whose hash is
 * that (which {@code Math.abs} leaves negative: {@code "user-9223372036854775808"}).
 *
 * <h2>The encoding</h2>
 * The key is the number with its sign bit flipped: {@code key = n ^ 2^63}. That maps the signed order of every long
 * onto the unsigned order of the store's keys, so {@code "user0"} is {@code 2^63}, the one negative YCSB number sorts
 * first, and the encoding is a bijection between the YCSB keys of one {@code zeropadding} and all 2^64 keys.
 * {@link #decode} gives back the exact YCSB string.
 *
 * <h2>Limits</h2>
 * <ul>
 *   <li>The order kept is the numeric order of the key numbers. It is YCSB's string order too whenever every key is
 *       padded to one width ({@code zeropadding} at least the digits of the largest number: 20 covers all of them);
 *       with YCSB's default {@code zeropadding=1} the two differ ({@code "user10" < "user9"} as strings) and the
 *       store, like any store of numbered records, orders by number: a scan from {@code "user9"} continues with
 *       {@code "user10"}.</li>
 *   <li>A key must be exactly what {@code buildKeyName} makes for the configured {@code zeropadding}: the prefix
 *       {@code "user"} (fixed in 0.17.0), the right number of zeros, then a canonical decimal (no sign {@code +}, no
 *       {@code -0}, within the range of a long). Anything else is refused with {@link IllegalArgumentException} naming
 *       the key and, where there is one, the spelling expected; two spellings of one number never share a key.</li>
 * </ul>
 */
public final class YcsbKeyCodec {
    /** The prefix YCSB 0.17.0 writes before every key number. */
    public static final String KEY_PREFIX = "user";
    /** YCSB's property for the zero padding of key numbers, and its default. */
    public static final String ZERO_PADDING_PROP_NAME = "zeropadding";
    public static final int ZERO_PADDING_DEFAULT = 1;

    private final int zeroPadding;

    public YcsbKeyCodec(int zeroPadding) {
        if (zeroPadding < 0) {
            throw new IllegalArgumentException(ZERO_PADDING_PROP_NAME + "=" + zeroPadding + " must be >= 0");
        }
        this.zeroPadding = zeroPadding;
    }

    /** The codec for the {@code zeropadding} in YCSB's properties (YCSB's default if absent). */
    public static YcsbKeyCodec fromProperties(Properties properties) {
        String value = properties.getProperty(ZERO_PADDING_PROP_NAME, String.valueOf(ZERO_PADDING_DEFAULT));
        try {
            return new YcsbKeyCodec(Integer.parseInt(value.trim()));
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException(ZERO_PADDING_PROP_NAME + "=" + value + " is not an integer", e);
        }
    }

    public int zeroPadding() {
        return zeroPadding;
    }

    /** The store key of a YCSB key number: its sign bit flipped. */
    public static long keyOfNumber(long keyNumber) {
        return keyNumber ^ Long.MIN_VALUE;
    }

    /** The YCSB key number of a store key. */
    public static long numberOfKey(long key) {
        return key ^ Long.MIN_VALUE;
    }

    /**
     * The store key for YCSB's {@code ycsbKey}.
     *
     * @throws IllegalArgumentException if {@code ycsbKey} is not a key YCSB makes with this codec's zero padding
     */
    public long encode(String ycsbKey) {
        if (ycsbKey == null || !ycsbKey.startsWith(KEY_PREFIX)) {
            throw notAKey(ycsbKey, "it does not start with \"" + KEY_PREFIX + "\"");
        }
        int numberStart = KEY_PREFIX.length();
        int zeros = 0;
        while (numberStart + zeros < ycsbKey.length() && ycsbKey.charAt(numberStart + zeros) == '0') {
            zeros++;
        }
        int digitsStart = numberStart + zeros;
        if (digitsStart == ycsbKey.length()) {
            if (zeros == 0) {
                throw notAKey(ycsbKey, "it has no key number");
            }
            digitsStart--; // all zeros: the last one is the number 0 itself
            zeros--;
        }
        int numberLength = ycsbKey.length() - digitsStart;
        if (!isCanonicalDecimal(ycsbKey, digitsStart)) {
            throw notAKey(ycsbKey, "its key number is not a decimal as Long.toString writes it");
        }
        long keyNumber;
        try {
            keyNumber = Long.parseLong(ycsbKey, digitsStart, ycsbKey.length(), 10);
        } catch (NumberFormatException e) {
            throw notAKey(ycsbKey, "its key number is outside the range of a long");
        }
        if (zeros != Math.max(0, zeroPadding - numberLength)) {
            throw notAKey(ycsbKey, "its zero padding differs; expected " + decodeNumber(keyNumber));
        }
        return keyOfNumber(keyNumber);
    }

    /** The YCSB key that {@link #encode} maps to {@code key}. */
    public String decode(long key) {
        return decodeNumber(numberOfKey(key));
    }

    private String decodeNumber(long keyNumber) {
        String number = Long.toString(keyNumber);
        int zeros = Math.max(0, zeroPadding - number.length());
        StringBuilder key = new StringBuilder(KEY_PREFIX.length() + zeros + number.length()).append(KEY_PREFIX);
        key.repeat('0', zeros);
        return key.append(number).toString();
    }

    /** {@code -?[1-9][0-9]*} or {@code 0} from {@code start} to the end: what {@link Long#toString(long)} writes. */
    private static boolean isCanonicalDecimal(String text, int start) {
        int index = start;
        if (text.charAt(index) == '-') {
            index++;
            if (index == text.length() || text.charAt(index) == '0') {
                return false;
            }
        } else if (text.charAt(index) == '0') {
            return index == text.length() - 1;
        }
        for (; index < text.length(); index++) {
            char digit = text.charAt(index);
            if (digit < '0' || digit > '9') {
                return false;
            }
        }
        return true;
    }

    private IllegalArgumentException notAKey(String ycsbKey, String reason) {
        return new IllegalArgumentException("key=" + ycsbKey + " is not a YCSB key for " + ZERO_PADDING_PROP_NAME + "="
                + zeroPadding + ": " + reason);
    }
}
