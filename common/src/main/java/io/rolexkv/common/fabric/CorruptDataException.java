package io.rolexkv.common.fabric;

/**
 * A structure read from a memory node is broken: it passed its checksum (so it is not a READ torn by a concurrent
 * write) but breaks its layout's rules (a count above capacity, keys out of order, a link chain longer than its table,
 * fences that own no key they must), or it failed its checksum on every re-read for far longer than any write takes (a
 * writer died in the middle of it, or the memory is damaged).
 *
 * <h2>What the caller may assume</h2>
 * The data named in the message is damaged and retrying will fail the same way; the connection is fine, and other
 * keys may still be served. What the failed operation itself changed is not promised: a read changed nothing, but a
 * write may have found the damage after it linked its word (a B+tree split that meets a broken parent), so anything it
 * was about to link must be treated as in use, as after a {@link FabricException}. The store needs repair (rebuild
 * it from a bulk load), not a retry.
 */
public class CorruptDataException extends RuntimeException {
    private static final long serialVersionUID = 1L;

    public CorruptDataException(String message) {
        super(message);
    }

    public CorruptDataException(String message, Throwable cause) {
        super(message, cause);
    }
}
