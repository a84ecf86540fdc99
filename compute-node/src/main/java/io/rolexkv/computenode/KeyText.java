package io.rolexkv.computenode;

import java.util.Locale;

/**
 * Keys as people write them in config files and at the shell: unsigned decimal ({@code 18446744073709551615}) or
 * hexadecimal with a {@code 0x} prefix ({@code 0xFFFFFFFFFFFFFFFF}), with optional {@code _} separators. One parser,
 * so a key that works in one place works in the other.
 */
public final class KeyText {
    /** What a key may look like, for error messages. */
    public static final String FORMAT = "an unsigned 64-bit key in decimal (\"42\") or hexadecimal (\"0x2a\")";

    private KeyText() {
    }

    /** @throws IllegalArgumentException if {@code text} is not a key, naming what was found */
    public static long parse(String text) {
        String digits = text.strip().replace("_", "");
        try {
            if (digits.startsWith("0x") || digits.startsWith("0X")) {
                String hex = digits.substring(2);
                if (hex.isEmpty() || hex.startsWith("+") || hex.startsWith("-")) {
                    throw new NumberFormatException();
                }
                return Long.parseUnsignedLong(hex, 16);
            }
            if (digits.isEmpty() || digits.startsWith("+") || digits.startsWith("-")) {
                throw new NumberFormatException();
            }
            return Long.parseUnsignedLong(digits);
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException("found=\"" + text + "\" expected=" + FORMAT);
        }
    }

    /** Decimal text of {@code key}. */
    public static String decimal(long key) {
        return Long.toUnsignedString(key);
    }

    /** {@code 0x}-prefixed hexadecimal text of {@code key}, lower case. */
    public static String hex(long key) {
        return "0x" + Long.toHexString(key).toLowerCase(Locale.ROOT);
    }
}
