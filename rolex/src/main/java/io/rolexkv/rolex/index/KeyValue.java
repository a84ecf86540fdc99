package io.rolexkv.rolex.index;

/** A key and its 8-byte value word, as a scan returns them. Keys are unsigned. */
public record KeyValue(long key, long value) {
    @Override
    public String toString() {
        return Long.toUnsignedString(key) + "=" + value;
    }
}
