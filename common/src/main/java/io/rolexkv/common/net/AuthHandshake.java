package io.rolexkv.common.net;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;

import javax.crypto.Mac;
import javax.crypto.spec.SecretKeySpec;
import java.nio.charset.StandardCharsets;
import java.security.GeneralSecurityException;
import java.security.MessageDigest;
import java.security.SecureRandom;

/**
 * The challenge-response by which a client and a server of this layer prove to each other that they hold the same
 * {@link ClusterSecret}, before the server's protocol HELLO; the secret itself never crosses the wire. Its frames
 * carry the layer's own {@link #WIRE}, so a client tells a challenge from a protocol's HELLO by the magic byte.
 *
 * <pre>
 *   server                                         client
 *     CHALLENGE  server nonce (32)            -->
 *                                             <--  RESPONSE  client nonce (32) | client proof (32)
 *     checks client proof; wrong: closes
 *     PROOF      server proof (32)            -->
 *     protocol HELLO                          -->  checks server proof; wrong: closes
 *
 *   client proof = HMAC-SHA256(secret, server nonce | client nonce | "rolexkv-auth-v1 client")
 *   server proof = HMAC-SHA256(secret, server nonce | client nonce | "rolexkv-auth-v1 server")
 * </pre>
 * Each end picks a fresh random nonce per connection, so a recorded RESPONSE or PROOF proves nothing on another
 * connection (replay), and the two proofs carry different labels, so neither end can reflect the other's proof back.
 * Proofs are compared in constant time. Bodies follow {@link FrameHeader}; request id 0.
 */
public final class AuthHandshake {
    /** The layer's own frames; no protocol uses this magic. */
    public static final FrameHeader.Wire WIRE = new FrameHeader.Wire("auth", (byte) 0xA5, (byte) 1);
    public static final byte CHALLENGE = 1;
    public static final byte RESPONSE = 2;
    public static final byte PROOF = 3;
    public static final int NONCE_BYTES = 32;
    public static final int PROOF_BYTES = 32;
    public static final int CHALLENGE_FRAME_BYTES = FrameHeader.HEADER_LENGTH + NONCE_BYTES;
    public static final int RESPONSE_FRAME_BYTES = FrameHeader.HEADER_LENGTH + NONCE_BYTES + PROOF_BYTES;
    public static final int PROOF_FRAME_BYTES = FrameHeader.HEADER_LENGTH + PROOF_BYTES;
    /** The largest frame of the handshake. */
    public static final int MAX_FRAME_BYTES = RESPONSE_FRAME_BYTES;

    private static final byte[] CLIENT_LABEL = "rolexkv-auth-v1 client".getBytes(StandardCharsets.US_ASCII);
    private static final byte[] SERVER_LABEL = "rolexkv-auth-v1 server".getBytes(StandardCharsets.US_ASCII);
    private static final SecureRandom RANDOM = new SecureRandom();

    private AuthHandshake() {
    }

    /** A fresh random nonce. */
    public static byte[] newNonce() {
        byte[] nonce = new byte[NONCE_BYTES];
        RANDOM.nextBytes(nonce);
        return nonce;
    }

    /** Whether {@code frame} (length field included, at least a header long) is one of the handshake's. */
    public static boolean isHandshakeFrame(ByteBuf frame) {
        return frame.readableBytes() >= FrameHeader.HEADER_LENGTH
                && frame.getByte(frame.readerIndex() + FrameHeader.MAGIC_OFFSET) == WIRE.magic();
    }

    /** What the client sends to prove it holds {@code secret}. */
    public static byte[] clientProof(ClusterSecret secret, byte[] serverNonce, byte[] clientNonce) {
        return hmac(secret, serverNonce, clientNonce, CLIENT_LABEL);
    }

    /** What the server sends to prove it holds {@code secret}. */
    public static byte[] serverProof(ClusterSecret secret, byte[] serverNonce, byte[] clientNonce) {
        return hmac(secret, serverNonce, clientNonce, SERVER_LABEL);
    }

    /** Compares a received proof with the expected one in time independent of where they differ. */
    public static boolean matches(byte[] expected, byte[] received) {
        return MessageDigest.isEqual(expected, received);
    }

    private static byte[] hmac(ClusterSecret secret, byte[] serverNonce, byte[] clientNonce, byte[] label) {
        try {
            Mac mac = Mac.getInstance("HmacSHA256");
            mac.init(new SecretKeySpec(secret.bytes(), "HmacSHA256"));
            mac.update(serverNonce);
            mac.update(clientNonce);
            mac.update(label);
            return mac.doFinal();
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException("HmacSHA256 unavailable in this JDK", e);
        }
    }

    public static ByteBuf encodeChallenge(ByteBufAllocator allocator, byte[] serverNonce) {
        ByteBuf frame = FrameHeader.start(allocator, WIRE, CHALLENGE_FRAME_BYTES, CHALLENGE, 0);
        frame.writeBytes(serverNonce);
        return FrameHeader.finish(frame);
    }

    public static ByteBuf encodeResponse(ByteBufAllocator allocator, byte[] clientNonce, byte[] clientProof) {
        ByteBuf frame = FrameHeader.start(allocator, WIRE, RESPONSE_FRAME_BYTES, RESPONSE, 0);
        frame.writeBytes(clientNonce);
        frame.writeBytes(clientProof);
        return FrameHeader.finish(frame);
    }

    public static ByteBuf encodeProof(ByteBufAllocator allocator, byte[] serverProof) {
        ByteBuf frame = FrameHeader.start(allocator, WIRE, PROOF_FRAME_BYTES, PROOF, 0);
        frame.writeBytes(serverProof);
        return FrameHeader.finish(frame);
    }

    /** The server nonce of a CHALLENGE frame. */
    public static byte[] decodeChallenge(ByteBuf frame) throws FrameFormatException {
        return body(frame, CHALLENGE, CHALLENGE_FRAME_BYTES);
    }

    /** The client nonce and proof of a RESPONSE frame, in that order. */
    public static byte[][] decodeResponse(ByteBuf frame) throws FrameFormatException {
        byte[] body = body(frame, RESPONSE, RESPONSE_FRAME_BYTES);
        byte[] nonce = new byte[NONCE_BYTES];
        byte[] proof = new byte[PROOF_BYTES];
        System.arraycopy(body, 0, nonce, 0, NONCE_BYTES);
        System.arraycopy(body, NONCE_BYTES, proof, 0, PROOF_BYTES);
        return new byte[][] {nonce, proof};
    }

    /** The server proof of a PROOF frame. */
    public static byte[] decodeProof(ByteBuf frame) throws FrameFormatException {
        return body(frame, PROOF, PROOF_FRAME_BYTES);
    }

    private static byte[] body(ByteBuf frame, byte type, int frameBytes) throws FrameFormatException {
        FrameHeader.check(frame, WIRE, type);
        if (frame.readableBytes() != frameBytes) {
            throw new FrameFormatException("auth frame_type=" + type + " frame_bytes=" + frame.readableBytes()
                    + " expected=" + frameBytes);
        }
        byte[] body = new byte[frameBytes - FrameHeader.HEADER_LENGTH];
        frame.getBytes(frame.readerIndex() + FrameHeader.HEADER_LENGTH, body);
        return body;
    }
}
