package io.rolexkv.rolex.index;

/**
 * Where {@link WordIndex#find} puts the word it found: a holder the caller keeps and reuses (one per thread, say), so a
 * lookup answers found or absent with a {@code boolean} and the word here. Neither an {@link java.util.OptionalLong}
 * per call nor a sentinel word for "absent" fits a hot path whose words are values themselves: with 8-byte inline
 * values every 64-bit word is one a key may hold.
 *
 * <p>Not thread-safe: one lookup at a time.
 */
public final class FoundWord {
    private long word;

    /** The word the last successful {@link WordIndex#find} into this holder found. */
    public long word() {
        return word;
    }

    /** Holds {@code word}: what an index does when it finds the key. */
    public void set(long word) {
        this.word = word;
    }

    @Override
    public String toString() {
        return "FoundWord[" + word + "]";
    }
}
