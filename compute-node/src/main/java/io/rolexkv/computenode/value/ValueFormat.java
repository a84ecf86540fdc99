package io.rolexkv.computenode.value;

import java.util.ArrayList;
import java.util.List;

/**
 * How the engine turns a value into the 8-byte word a ROLEX leaf stores next to the key. Chosen by the engine setting
 * {@value #PROP_NAME}, recorded in the values region's header by the first compute node that opens the store, and
 * checked by every later one: two engines that disagreed would each read the other's words as garbage.
 */
public enum ValueFormat {
    /**
     * Every value is exactly 8 bytes and the word is the value itself (little-endian): no value block, no header, no
     * second READ. For fixed 8-byte payloads such as YCSB runs with {@code --value-size 8}.
     */
    INLINE8("inline8", 1),
    /**
     * Values of any length up to {@code max_value_bytes}: up to {@value ValueWord#MAX_INLINE_BYTES} bytes inline in
     * the word with a tag, longer ones out of place in a value block the word names ({@link ValueWord}).
     */
    BLOCKS("blocks", 2);

    public static final String PROP_NAME = "value_layout";
    public static final ValueFormat DEFAULT = BLOCKS;

    private final String configName;
    private final int code;

    ValueFormat(String configName, int code) {
        this.configName = configName;
        this.code = code;
    }

    /** The name config files use. */
    public String configName() {
        return configName;
    }

    /** The number recorded in the values region header ({@link ValueRegionDescriptor#formatWord}). */
    public int code() {
        return code;
    }

    public static List<String> configNames() {
        List<String> names = new ArrayList<>();
        for (ValueFormat format : values()) {
            names.add(format.configName);
        }
        return names;
    }

    public static ValueFormat ofConfigName(String name) {
        for (ValueFormat format : values()) {
            if (format.configName.equals(name)) {
                return format;
            }
        }
        throw new IllegalArgumentException(PROP_NAME + "=" + name + " allowed=" + configNames());
    }

    /** The format with this header code, or {@code null} if none has it. */
    public static ValueFormat ofCode(int code) {
        for (ValueFormat format : values()) {
            if (format.code == code) {
                return format;
            }
        }
        return null;
    }
}
