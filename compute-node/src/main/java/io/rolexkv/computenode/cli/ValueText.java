package io.rolexkv.computenode.cli;

import java.io.ByteArrayOutputStream;
import java.nio.ByteBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.util.HexFormat;

/**
 * Values as the shell reads and prints them. Input: {@code 0x} and hex digits for raw bytes ({@code 0x00ff10}), a
 * double-quoted string with escapes ({@code "a \"b\"\n"}, {@code \xHH} for any byte), or else the text as typed
 * (UTF-8). Output: a quoted string when the bytes are printable UTF-8, hex otherwise (or always, if asked).
 */
final class ValueText {
    private static final HexFormat HEX = HexFormat.of();

    private ValueText() {
    }

    /** @throws IllegalArgumentException naming what is wrong with {@code text} */
    static byte[] parse(String text) {
        if (text.isEmpty()) {
            throw new IllegalArgumentException("missing value; write \"\" for an empty one");
        }
        if (text.startsWith("0x") || text.startsWith("0X")) {
            String digits = text.substring(2);
            if (digits.length() % 2 != 0 || !digits.chars().allMatch(c -> Character.digit(c, 16) >= 0)) {
                throw new IllegalArgumentException("bad hex value \"" + text + "\": expected 0x and an even number of hex"
                        + " digits; quote it (\"" + text + "\") to store it as text");
            }
            return HEX.parseHex(digits);
        }
        if (text.startsWith("\"")) {
            return unquote(text);
        }
        return text.getBytes(StandardCharsets.UTF_8);
    }

    private static byte[] unquote(String text) {
        if (text.length() < 2 || !text.endsWith("\"") || endsInEscape(text)) {
            throw new IllegalArgumentException("unterminated quoted value: " + text);
        }
        String body = text.substring(1, text.length() - 1);
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        StringBuilder plain = new StringBuilder();
        for (int i = 0; i < body.length(); i++) {
            char c = body.charAt(i);
            if (c == '"') {
                throw new IllegalArgumentException("unescaped quote inside a quoted value at character " + (i + 2) + ": " + text);
            }
            if (c != '\\') {
                plain.append(c);
                continue;
            }
            out.writeBytes(plain.toString().getBytes(StandardCharsets.UTF_8));
            plain.setLength(0);
            char escaped = body.charAt(++i);
            switch (escaped) {
                case '"', '\\' -> out.write(escaped);
                case 'n' -> out.write('\n');
                case 't' -> out.write('\t');
                case 'r' -> out.write('\r');
                case '0' -> out.write(0);
                case 'x' -> {
                    String digits = body.substring(i + 1, Math.min(body.length(), i + 3));
                    if (digits.length() != 2 || !digits.chars().allMatch(d -> Character.digit(d, 16) >= 0)) {
                        throw new IllegalArgumentException("\\x needs two hex digits: " + text);
                    }
                    out.write(Integer.parseInt(digits, 16));
                    i += 2;
                }
                default -> throw new IllegalArgumentException("unknown escape \\" + escaped + " in " + text
                        + " (known: \\\" \\\\ \\n \\t \\r \\0 \\xHH)");
            }
        }
        out.writeBytes(plain.toString().getBytes(StandardCharsets.UTF_8));
        return out.toByteArray();
    }

    private static boolean endsInEscape(String text) {
        int backslashes = 0;
        for (int i = text.length() - 2; i > 0 && text.charAt(i) == '\\'; i--) {
            backslashes++;
        }
        return backslashes % 2 == 1;
    }

    /** {@code value} for printing: quoted text if it is printable UTF-8 (and hex is not forced), else 0x hex. */
    static String format(byte[] value, boolean forceHex) {
        if (!forceHex) {
            String text = printableText(value);
            if (text != null) {
                return quote(text);
            }
        }
        return "0x" + HEX.formatHex(value);
    }

    private static String printableText(byte[] value) {
        String text;
        try {
            text = StandardCharsets.UTF_8.newDecoder().onMalformedInput(CodingErrorAction.REPORT)
                    .onUnmappableCharacter(CodingErrorAction.REPORT).decode(ByteBuffer.wrap(value)).toString();
        } catch (CharacterCodingException e) {
            return null;
        }
        for (int i = 0; i < text.length(); i++) {
            char c = text.charAt(i);
            if (Character.isISOControl(c) && c != '\n' && c != '\t') {
                return null;
            }
        }
        return text;
    }

    private static String quote(String text) {
        StringBuilder quoted = new StringBuilder(text.length() + 2).append('"');
        for (int i = 0; i < text.length(); i++) {
            char c = text.charAt(i);
            switch (c) {
                case '"' -> quoted.append("\\\"");
                case '\\' -> quoted.append("\\\\");
                case '\n' -> quoted.append("\\n");
                case '\t' -> quoted.append("\\t");
                default -> quoted.append(c);
            }
        }
        return quoted.append('"').toString();
    }
}
