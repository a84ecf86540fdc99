package io.rolexkv.common.fabric;

/**
 * Where {@link VerbExecutor#apply} puts what a batch returns, as it runs, in verb order: each CAS's and FAA's old word,
 * and each READ's bytes (its whole aligned words as little-endian {@code long}s, unaligned head and tail bytes one by
 * one). The tcp memory node's sink writes straight into the outgoing completion frame, so READ data is copied once,
 * from registered memory to the frame.
 */
public interface VerbSink {

    /** The word CAS or FAA {@code verb} found before it acted. */
    void oldValue(int verb, long value);

    /** The next 8 bytes of READ data, as a little-endian word. */
    void readWord(long word);

    /** The next byte of READ data. */
    void readByte(byte value);
}
