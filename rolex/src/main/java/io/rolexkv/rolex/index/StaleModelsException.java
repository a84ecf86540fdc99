package io.rolexkv.rolex.index;

/**
 * An operation met signs that the memory node published a newer model epoch than the cache holds (a leaf regrouped
 * under newer models, a changed epoch word, a retired LT entry). Thrown only after the operation released whatever it
 * held, so it can be run again on refreshed models. Internal control flow: no stack trace.
 */
final class StaleModelsException extends RuntimeException {
    private static final long serialVersionUID = 1L;

    StaleModelsException() {
        super("cached models are older than the memory node's", null, false, false);
    }
}
