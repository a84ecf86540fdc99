package io.rolexkv.common.fabric;

/**
 * A {@link VerbSink} into arrays: READ bytes back to back in verb order from the start of one byte array, each CAS's and
 * FAA's old word at its verb's index of a long array. What both in-process completions hold, a fresh
 * {@link BatchResult}'s arrays and a reused {@link CompletionBuffer}'s.
 */
final class PackingVerbSink implements VerbSink {
    private byte[] reads;
    private long[] oldValues;
    private int position;

    /** Writes the next batch's answers into these arrays, READ bytes from offset 0. */
    void target(byte[] reads, long[] oldValues) {
        this.reads = reads;
        this.oldValues = oldValues;
        this.position = 0;
    }

    @Override
    public void oldValue(int verb, long value) {
        oldValues[verb] = value;
    }

    @Override
    public void readWord(long word) {
        WordOrder.putLong(reads, position, word);
        position += Long.BYTES;
    }

    @Override
    public void readByte(byte value) {
        reads[position++] = value;
    }
}
