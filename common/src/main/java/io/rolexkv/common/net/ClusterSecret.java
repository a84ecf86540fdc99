package io.rolexkv.common.net;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermission;
import java.util.Arrays;
import java.util.Set;

/**
 * The secret every node of a cluster shares, which a client and a server prove to each other in the hello
 * ({@link AuthHandshake}) without ever sending it. Read from a file: its bytes, one trailing newline trimmed.
 * Never printed: {@link #toString()} names only the file.
 */
public final class ClusterSecret {
    /** Fewer bytes than this are too easy to guess for a secret that guards all of a node's memory. */
    public static final int MIN_BYTES = 16;
    /** A secret is a key, not a document. */
    public static final int MAX_BYTES = 4096;

    private final byte[] bytes;
    private final String source;

    private ClusterSecret(byte[] bytes, String source) {
        this.bytes = bytes;
        this.source = source;
    }

    /**
     * Reads the secret in {@code file}, configured by {@code optionName} (named in every error).
     *
     * @throws IllegalArgumentException one line naming the option and the file, if the file cannot be read, is
     *                                  readable by group or others (where the file system says), is empty, or its
     *                                  secret is shorter than {@link #MIN_BYTES} or longer than {@link #MAX_BYTES}
     */
    public static ClusterSecret fromFile(Path file, String optionName) {
        byte[] read;
        try {
            read = Files.readAllBytes(file);
        } catch (IOException e) {
            throw new IllegalArgumentException(optionName + "=" + file + " cannot be read: " + e);
        }
        try {
            Set<PosixFilePermission> permissions = Files.getPosixFilePermissions(file);
            if (permissions.contains(PosixFilePermission.GROUP_READ) || permissions.contains(PosixFilePermission.OTHERS_READ)) {
                throw new IllegalArgumentException(optionName + "=" + file + " is readable by group or others; "
                        + "allowed: readable by its owner only (chmod 600 " + file + ")");
            }
        } catch (UnsupportedOperationException | IOException e) {
            // No POSIX permissions here: nothing to check.
        }
        int length = read.length;
        if (length > 0 && read[length - 1] == '\n') {
            length--;
            if (length > 0 && read[length - 1] == '\r') {
                length--;
            }
        }
        if (length == 0) {
            throw new IllegalArgumentException(optionName + "=" + file + " is empty; allowed: a secret of "
                    + MIN_BYTES + " to " + MAX_BYTES + " bytes");
        }
        return of(Arrays.copyOf(read, length), optionName + "=" + file);
    }

    /**
     * A secret of the given bytes (copied), for tests and callers that hold it already.
     *
     * @throws IllegalArgumentException if it is shorter than {@link #MIN_BYTES} or longer than {@link #MAX_BYTES}
     */
    public static ClusterSecret of(byte[] secret, String source) {
        if (secret.length < MIN_BYTES || secret.length > MAX_BYTES) {
            throw new IllegalArgumentException(source + " holds a secret of bytes=" + secret.length + "; allowed: "
                    + MIN_BYTES + " to " + MAX_BYTES + " bytes");
        }
        return new ClusterSecret(secret.clone(), source);
    }

    /** The secret's bytes, for the handshake's HMAC key only. */
    byte[] bytes() {
        return bytes;
    }

    @Override
    public String toString() {
        return "ClusterSecret[" + source + "]";
    }
}
