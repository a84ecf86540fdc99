package io.rolexkv.bench.ycsb;

import site.ycsb.ByteArrayByteIterator;
import site.ycsb.ByteIterator;

import java.io.ByteArrayOutputStream;
import java.util.Arrays;
import java.util.Map;
import java.util.Properties;
import java.util.Set;

/**
 * A YCSB record (named fields of bytes) as one value of the store, and back. The only place that knows how a record
 * is laid out in a value.
 *
 * <p>YCSB's fields are named {@code fieldnameprefix + i} for {@code i} in {@code [0, fieldcount)} ("field0" ..
 * "field9" by default), so a field is stored by that ordinal {@code i}, never by name. Two layouts:
 *
 * <h2>Raw: a schema of one field</h2>
 * The value <em>is</em> the field's bytes, with no byte of overhead: {@code rolexkv.value_size=8} (one field of 8
 * bytes) stores exactly 8 bytes per key, as the 8-byte-value benchmarks of this field do. The one field always exists:
 * a record stored without it reads back with it empty.
 *
 * <h2>Fields: a schema of two or more fields</h2>
 * The fields present, in increasing ordinal, each as an unsigned LEB128 varint ordinal, an unsigned LEB128 varint
 * length, then the bytes; the value ends after the last field. A default YCSB record (10 fields of 100 bytes) costs 2
 * bytes per field: 1020 bytes.
 * <pre>
 *   0                 a                 b
 *  +-----------------+-----------------+----------------------+-----------------+---
 *  | ordinal varint  | length varint   | field bytes (length) | ordinal varint  | ... next field
 *  +-----------------+-----------------+----------------------+-----------------+---
 *    1 byte below 128  1 byte below 128, 2 below 16384, ...
 * </pre>
 * Decoding checks the layout (ordinals increasing and in the schema, lengths within the value) and throws
 * {@link IllegalStateException} naming the offset of the first thing wrong.
 *
 * <p>Field names outside the schema are refused with {@link IllegalArgumentException}. Thread-safe (immutable).
 */
public final class YcsbRecordCodec {
    /** YCSB's properties for the record schema, and their defaults. */
    public static final String FIELD_COUNT_PROP_NAME = "fieldcount";
    public static final int FIELD_COUNT_DEFAULT = 10;
    public static final String FIELD_NAME_PREFIX_PROP_NAME = "fieldnameprefix";
    public static final String FIELD_NAME_PREFIX_DEFAULT = "field";

    private final String fieldNamePrefix;
    private final String[] fieldNames;

    public YcsbRecordCodec(String fieldNamePrefix, int fieldCount) {
        if (fieldCount < 1) {
            throw new IllegalArgumentException(FIELD_COUNT_PROP_NAME + "=" + fieldCount + " must be >= 1");
        }
        this.fieldNamePrefix = fieldNamePrefix;
        this.fieldNames = new String[fieldCount];
        for (int ordinal = 0; ordinal < fieldCount; ordinal++) {
            fieldNames[ordinal] = fieldNamePrefix + ordinal;
        }
    }

    /** The codec for the schema in YCSB's properties (YCSB's defaults where absent). */
    public static YcsbRecordCodec fromProperties(Properties properties) {
        String fieldCount = properties.getProperty(FIELD_COUNT_PROP_NAME, String.valueOf(FIELD_COUNT_DEFAULT)).trim();
        try {
            return new YcsbRecordCodec(properties.getProperty(FIELD_NAME_PREFIX_PROP_NAME, FIELD_NAME_PREFIX_DEFAULT),
                    Integer.parseInt(fieldCount));
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException(FIELD_COUNT_PROP_NAME + "=" + fieldCount + " is not an integer", e);
        }
    }

    public int fieldCount() {
        return fieldNames.length;
    }

    /** True if values are the one field's bytes with no layout around them. */
    public boolean isRaw() {
        return fieldNames.length == 1;
    }

    /** The name of field {@code ordinal}. */
    public String fieldName(int ordinal) {
        return fieldNames[ordinal];
    }

    /**
     * The ordinal of the field named {@code name}.
     *
     * @throws IllegalArgumentException if the schema has no such field
     */
    public int ordinal(String name) {
        if (name != null && name.startsWith(fieldNamePrefix) && name.length() > fieldNamePrefix.length()) {
            int ordinal = 0;
            int start = fieldNamePrefix.length();
            boolean canonical = name.charAt(start) != '0' || name.length() == start + 1;
            for (int index = start; canonical && index < name.length() && ordinal < fieldNames.length; index++) {
                char digit = name.charAt(index);
                canonical = digit >= '0' && digit <= '9';
                ordinal = ordinal * 10 + (digit - '0');
            }
            if (canonical && ordinal < fieldNames.length && fieldNames[ordinal].equals(name)) {
                return ordinal;
            }
        }
        throw new IllegalArgumentException("field=" + name + " is not in the record schema " + FIELD_NAME_PREFIX_PROP_NAME
                + "=" + fieldNamePrefix + " " + FIELD_COUNT_PROP_NAME + "=" + fieldNames.length);
    }

    /**
     * YCSB's field values as bytes indexed by ordinal ({@code null} where a field is not given). Reads each iterator
     * to its end, as a YCSB binding does.
     */
    public byte[][] fieldsOf(Map<String, ByteIterator> values) {
        byte[][] fields = new byte[fieldNames.length][];
        for (Map.Entry<String, ByteIterator> entry : values.entrySet()) {
            fields[ordinal(entry.getKey())] = entry.getValue().toArray();
        }
        return fields;
    }

    /** True if {@code fields} gives every field of the schema: storing them replaces the whole record. */
    public static boolean isComplete(byte[][] fields) {
        for (byte[] field : fields) {
            if (field == null) {
                return false;
            }
        }
        return true;
    }

    /** The value holding the given fields ({@code fields} indexed by ordinal, {@code null} for absent). */
    public byte[] encode(byte[][] fields) {
        checkWidth(fields);
        if (isRaw()) {
            return fields[0] == null ? new byte[0] : fields[0].clone();
        }
        int length = 0;
        for (int ordinal = 0; ordinal < fields.length; ordinal++) {
            if (fields[ordinal] != null) {
                length += varintLength(ordinal) + varintLength(fields[ordinal].length) + fields[ordinal].length;
            }
        }
        byte[] value = new byte[length];
        int offset = 0;
        for (int ordinal = 0; ordinal < fields.length; ordinal++) {
            byte[] field = fields[ordinal];
            if (field != null) {
                offset = writeVarint(value, offset, ordinal);
                offset = writeVarint(value, offset, field.length);
                System.arraycopy(field, 0, value, offset, field.length);
                offset += field.length;
            }
        }
        return value;
    }

    /** {@code value}'s fields, indexed by ordinal, {@code null} where the record has none. */
    public byte[][] decode(byte[] value) {
        byte[][] fields = new byte[fieldNames.length][];
        forEachField(value, (ordinal, offset, length) ->
                fields[ordinal] = Arrays.copyOfRange(value, offset, offset + length));
        return fields;
    }

    /** {@code value} with the fields given in {@code changes} replaced (or added) and the others kept. */
    public byte[] merge(byte[] value, byte[][] changes) {
        checkWidth(changes);
        byte[][] fields = decode(value);
        for (int ordinal = 0; ordinal < fields.length; ordinal++) {
            if (changes[ordinal] != null) {
                fields[ordinal] = changes[ordinal];
            }
        }
        return encode(fields);
    }

    /**
     * Puts the fields of {@code value} named in {@code wanted} ({@code null} for all) into {@code result}, as YCSB
     * expects a read to fill its result map. Fields the record does not have are left out; fields not wanted are
     * skipped without a copy.
     */
    public void decodeInto(byte[] value, Set<String> wanted, Map<String, ByteIterator> result) {
        boolean[] selected = new boolean[fieldNames.length];
        if (wanted == null) {
            Arrays.fill(selected, true);
        } else {
            for (String name : wanted) {
                selected[ordinal(name)] = true;
            }
        }
        forEachField(value, (ordinal, offset, length) -> {
            if (selected[ordinal]) {
                result.put(fieldNames[ordinal], new ByteArrayByteIterator(value, offset, length));
            }
        });
    }

    /** The longest value a record of this schema takes when no field is longer than {@code maxFieldBytes}. */
    public int maxValueBytes(int maxFieldBytes) {
        if (maxFieldBytes < 0) {
            throw new IllegalArgumentException("max_field_bytes=" + maxFieldBytes + " must be >= 0");
        }
        if (isRaw()) {
            return maxFieldBytes;
        }
        long perField = varintLength(fieldNames.length - 1) + varintLength(maxFieldBytes) + (long) maxFieldBytes;
        long total = perField * fieldNames.length;
        if (total > Integer.MAX_VALUE - 8) {
            throw new IllegalArgumentException(FIELD_COUNT_PROP_NAME + "=" + fieldNames.length + " max_field_bytes="
                    + maxFieldBytes + " make records of " + total + " bytes, more than one value can hold");
        }
        return (int) total;
    }

    /** Where one field of a value lies. */
    @FunctionalInterface
    private interface FieldVisitor {
        void field(int ordinal, int offset, int length);
    }

    /** Calls {@code visitor} for each field of {@code value} in order, checking the layout as it goes. */
    private void forEachField(byte[] value, FieldVisitor visitor) {
        if (isRaw()) {
            visitor.field(0, 0, value.length);
            return;
        }
        int offset = 0;
        int previous = -1;
        while (offset < value.length) {
            int fieldStart = offset;
            long ordinalAndEnd = readVarint(value, offset);
            int ordinal = (int) ordinalAndEnd;
            offset = (int) (ordinalAndEnd >>> 32);
            if (ordinal <= previous || ordinal >= fieldNames.length) {
                throw corrupt(value, fieldStart, "ordinal=" + ordinal + " after ordinal=" + previous + " with "
                        + FIELD_COUNT_PROP_NAME + "=" + fieldNames.length);
            }
            long lengthAndEnd = readVarint(value, offset);
            int length = (int) lengthAndEnd;
            offset = (int) (lengthAndEnd >>> 32);
            if (length > value.length - offset) {
                throw corrupt(value, fieldStart, "field length=" + length + " but " + (value.length - offset)
                        + " bytes remain");
            }
            visitor.field(ordinal, offset, length);
            offset += length;
            previous = ordinal;
        }
    }

    private void checkWidth(byte[][] fields) {
        if (fields.length != fieldNames.length) {
            throw new IllegalArgumentException("fields=" + fields.length + " but " + FIELD_COUNT_PROP_NAME + "="
                    + fieldNames.length);
        }
    }

    static int varintLength(int value) {
        int length = 1;
        for (int rest = value >>> 7; rest != 0; rest >>>= 7) {
            length++;
        }
        return length;
    }

    private static int writeVarint(byte[] target, int offset, int value) {
        int rest = value;
        while ((rest & ~0x7F) != 0) {
            target[offset++] = (byte) ((rest & 0x7F) | 0x80);
            rest >>>= 7;
        }
        target[offset++] = (byte) rest;
        return offset;
    }

    /** Reads an unsigned varint of at most 31 bits at {@code offset}: the value in the low half, the end offset high. */
    private static long readVarint(byte[] source, int offset) {
        int value = 0;
        int index = offset;
        for (int shift = 0; shift < 32; shift += 7) {
            if (index == source.length) {
                throw corrupt(source, offset, "varint runs past the end");
            }
            byte next = source[index++];
            value |= (next & 0x7F) << shift;
            if (next >= 0) {
                if (value < 0) {
                    break;
                }
                return ((long) index << 32) | value;
            }
        }
        throw corrupt(source, offset, "varint does not fit 31 bits");
    }

    private static IllegalStateException corrupt(byte[] value, int offset, String reason) {
        return new IllegalStateException("record value of length=" + value.length + " is corrupt at offset=" + offset
                + ": " + reason);
    }
}
