package io.rolexkv.rolex.model;

import io.rolexkv.common.fabric.CorruptDataException;

import java.io.Serial;

/**
 * Bytes that should hold a serialized model or model set do not: too short, wrong magic or version, a checksum
 * mismatch, or fields that break a model's invariants. A compute node reading a model region may see this for a
 * READ torn by a concurrent publish; it re-reads, and treats a mismatch that persists as a broken memory node: one
 * that escapes the re-reads is {@link CorruptDataException} with what that promises.
 */
public final class CorruptModelException extends CorruptDataException {
    @Serial
    private static final long serialVersionUID = 1L;

    public CorruptModelException(String message) {
        super(message);
    }

    public CorruptModelException(String message, Throwable cause) {
        super(message, cause);
    }
}
