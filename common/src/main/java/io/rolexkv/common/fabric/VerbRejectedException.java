package io.rolexkv.common.fabric;

/**
 * The memory node refused a batch because one of its verbs is bad. Nothing in the batch was applied, and the
 * connection stays usable: this is the caller's bug (or bad input), not a broken peer.
 */
public final class VerbRejectedException extends FabricException {
    private static final long serialVersionUID = 1L;

    /** Why a verb is refused. */
    public enum Reason {
        UNKNOWN_REGION,
        WRONG_MEMORY_NODE,
        OUT_OF_BOUNDS,
        UNALIGNED_ATOMIC,
        OVERSIZE_BATCH,
        BAD_LENGTH;

        private static final Reason[] BY_CODE = values();

        public static Reason ofCode(int code) {
            return code >= 0 && code < BY_CODE.length ? BY_CODE[code] : null;
        }
    }

    private final int verbIndex;
    private final Reason reason;

    /**
     * @param verbIndex the offending verb's index in its batch, or -1 when the batch as a whole is refused
     * @param reason    the rule it broke
     * @param detail    key=value text naming the verb, address and limits
     */
    public VerbRejectedException(int verbIndex, Reason reason, String detail) {
        super(reason + ": " + detail);
        this.verbIndex = verbIndex;
        this.reason = reason;
    }

    public int verbIndex() {
        return verbIndex;
    }

    public Reason reason() {
        return reason;
    }

    /** The text after the reason, as sent by the memory node. */
    public String detail() {
        String message = getMessage();
        return message.substring(message.indexOf(": ") + 2);
    }
}
