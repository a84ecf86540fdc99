package io.rolexkv.common.config;

import java.util.Locale;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Byte sizes as people write them: {@code 4096}, {@code "64MiB"}, {@code "1GiB"}, {@code "512k"}. Every unit is binary
 * (1 KiB = 1024 bytes) and case-insensitive; {@code K}, {@code KB} and {@code KiB} mean the same, as they do for the
 * JVM's own {@code -Xmx} flag, so nobody loses 7% of a region to a decimal reading. Integers only: {@code "1.5GiB"}
 * is refused rather than rounded. Used by config files and by command-line options alike, so both accept the same.
 */
public final class ByteSize {
    /** What a size may look like, for error messages. */
    public static final String FORMAT = "bytes as an integer or a string like \"4096\", \"64MiB\", \"1GiB\" (units B, KiB, MiB, GiB, TiB; binary)";

    private static final Pattern SIZE = Pattern.compile("([+-]?[0-9]+)\\s*([a-zA-Z]*)");
    private static final String[] UNITS = {"", "KiB", "MiB", "GiB", "TiB"};

    private ByteSize() {
    }

    /**
     * The number of bytes {@code text} names.
     *
     * @throws IllegalArgumentException if it is not a size or does not fit a {@code long}; the message says what was
     *                                  found and the accepted {@link #FORMAT}
     */
    public static long parse(String text) {
        Matcher matcher = SIZE.matcher(text.strip());
        if (!matcher.matches()) {
            throw new IllegalArgumentException("found=\"" + text + "\" expected=" + FORMAT);
        }
        int shift = switch (matcher.group(2).toLowerCase(Locale.ROOT)) {
            case "", "b" -> 0;
            case "k", "kb", "kib" -> 10;
            case "m", "mb", "mib" -> 20;
            case "g", "gb", "gib" -> 30;
            case "t", "tb", "tib" -> 40;
            default -> throw new IllegalArgumentException("found=\"" + text + "\" unit=\"" + matcher.group(2)
                    + "\" expected=" + FORMAT);
        };
        try {
            long number = Long.parseLong(matcher.group(1));
            long bytes = number << shift;
            if (bytes >> shift != number) {
                throw new NumberFormatException();
            }
            return bytes;
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException("found=\"" + text + "\" is too large for a byte count, max=" + Long.MAX_VALUE, e);
        }
    }

    /** {@code bytes} in the largest binary unit that divides it exactly: {@code 64MiB}, {@code 1536KiB}, {@code 100}. */
    public static String format(long bytes) {
        int unit = 0;
        long value = bytes;
        while (unit < UNITS.length - 1 && value != 0 && (value & 1023) == 0) {
            value >>= 10;
            unit++;
        }
        return value + UNITS[unit];
    }
}
