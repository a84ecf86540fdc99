package io.rolexkv.rolex.index;

/**
 * The memory node holds an index, or a model set of one, written in a format this release does not read (for
 * example model records of another size, from a release that stored other fields). Nothing was read into a cache and
 * nothing on the memory node was changed; retrying does not help. Bulk load or create the index again with this
 * release (which replaces it), or open it with the release that wrote it.
 */
public final class UnsupportedIndexFormatException extends IllegalStateException {
    private static final long serialVersionUID = 1L;

    public UnsupportedIndexFormatException(String message) {
        super(message);
    }
}
