package io.rolexkv.rolex.index;

/**
 * An index write gave up before it changed anything: it could not take a lock within its time-out (a holder may have
 * died), the models changed under it more often than one operation retries, or (the subclass
 * {@link IndexFullException}) there is no room for a new key. Not a transport failure: every doorbell the write posted
 * completed, and the write released whatever it held before throwing.
 *
 * <h2>What the caller may assume</h2>
 * <ul>
 *   <li>Nothing is linked: the key's word is what it was, and no reader can have seen the word the write carried. A
 *       value block written for it (the write's first-doorbell extras, a {@link WordUpdate}'s verbs) is reachable by
 *       no one and may be reused at once. For {@link WordIndex#updateAll} this holds for calls of at most
 *       {@link WordIndex#maxAtomicBatchKeys()} keys; a longer call keeps the chunks written before the one that gave
 *       up.</li>
 *   <li>The index and the connection stay usable; the same write may succeed later (after the lock holder's lease,
 *       after a retraining settles, after retraining makes room).</li>
 * </ul>
 */
public class IndexGaveUpException extends RuntimeException {
    private static final long serialVersionUID = 1L;

    public IndexGaveUpException(String message) {
        super(message);
    }

    public IndexGaveUpException(String message, Throwable cause) {
        super(message, cause);
    }
}
