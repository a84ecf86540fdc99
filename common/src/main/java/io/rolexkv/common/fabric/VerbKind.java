package io.rolexkv.common.fabric;

/** The four one-sided verbs. The codes are the wire encoding of the tcp transport; never renumber them. */
public enum VerbKind {
    /** Copy bytes from remote memory. Atomic only per aligned 8-byte word. */
    READ(0),
    /** Copy bytes into remote memory. Atomic only per aligned 8-byte word. */
    WRITE(1),
    /** 8-byte compare-and-swap on an aligned word; returns the old value. Atomic against other CAS and FAA. */
    CAS(2),
    /** 8-byte fetch-and-add on an aligned word; returns the old value. Atomic against other CAS and FAA. */
    FAA(3);

    private static final VerbKind[] BY_CODE = values();

    private final int code;

    VerbKind(int code) {
        this.code = code;
    }

    public int code() {
        return code;
    }

    /** The kind for a wire code, or {@code null} for a code no kind has (the caller names the bad frame). */
    public static VerbKind ofCode(int code) {
        return code >= 0 && code < BY_CODE.length ? BY_CODE[code] : null;
    }

    public boolean isAtomic() {
        return this == CAS || this == FAA;
    }
}
