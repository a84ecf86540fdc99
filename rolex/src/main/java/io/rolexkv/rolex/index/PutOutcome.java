package io.rolexkv.rolex.index;

/** What a put did to its key: added it, or replaced the word it had. */
public enum PutOutcome {
    INSERTED,
    UPDATED
}
