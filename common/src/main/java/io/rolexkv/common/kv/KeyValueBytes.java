package io.rolexkv.common.kv;

import java.util.Arrays;

/** A key (unsigned) and its value, as {@link BaseKV#scan} returns them. Records compare arrays by content here. */
public record KeyValueBytes(long key, byte[] value) {
    @Override
    public boolean equals(Object other) {
        return other instanceof KeyValueBytes that && key == that.key && Arrays.equals(value, that.value);
    }

    @Override
    public int hashCode() {
        return Long.hashCode(key) * 31 + Arrays.hashCode(value);
    }

    @Override
    public String toString() {
        return Long.toUnsignedString(key) + "=" + value.length + "B";
    }
}
