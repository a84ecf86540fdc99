package io.rolexkv.bench.baseline.rpc;

import io.rolexkv.common.net.FrameHeader;
import io.netty.buffer.UnpooledByteBufAllocator;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

/**
 * A stand-in rpc server on a real socket that does only what a test tells it: accept one connection, greet it with a
 * HELLO or not, read the first request, send arbitrary bytes, go silent, or die. Lets failure tests put the client in one
 * exact state (a request pending, a garbage answer) instead of hoping a race lands there.
 */
final class ScriptedServer implements AutoCloseable {
    private final ServerSocket listener;
    private final CompletableFuture<Socket> accepted = new CompletableFuture<>();

    /** A server that accepts and stays silent: no HELLO. */
    ScriptedServer() throws IOException {
        this(null);
    }

    /** A server that greets the connection it accepts with a HELLO announcing these limits. */
    ScriptedServer(int maxValueBytes, int maxFrameBytes) throws IOException {
        this(helloBytes(maxValueBytes, maxFrameBytes));
    }

    private ScriptedServer(byte[] hello) throws IOException {
        listener = new ServerSocket(0, 4, InetAddress.getLoopbackAddress());
        Thread.ofVirtual().start(() -> {
            try {
                Socket socket = listener.accept();
                if (hello != null) {
                    socket.getOutputStream().write(hello);
                    socket.getOutputStream().flush();
                }
                accepted.complete(socket);
            } catch (IOException e) {
                accepted.completeExceptionally(e);
            }
        });
    }

    private static byte[] helloBytes(int maxValueBytes, int maxFrameBytes) {
        return ByteBufs.drain(RpcFrameCodec.encodeHello(UnpooledByteBufAllocator.DEFAULT, maxValueBytes, maxFrameBytes));
    }

    String endpoint() {
        return "127.0.0.1:" + listener.getLocalPort();
    }

    Socket connection() throws Exception {
        return accepted.get(10, TimeUnit.SECONDS);
    }

    void send(byte[] bytes) throws Exception {
        OutputStream out = connection().getOutputStream();
        out.write(bytes);
        out.flush();
    }

    /** Reads one whole frame from the client (a request) and returns its bytes, length field included. */
    byte[] readFrame() throws Exception {
        InputStream in = connection().getInputStream();
        byte[] lengthField = in.readNBytes(FrameHeader.LENGTH_FIELD_BYTES);
        if (lengthField.length < FrameHeader.LENGTH_FIELD_BYTES) {
            throw new IOException("client closed before a frame");
        }
        int length = (lengthField[0] & 0xFF) | (lengthField[1] & 0xFF) << 8 | (lengthField[2] & 0xFF) << 16
                | (lengthField[3] & 0xFF) << 24;
        byte[] rest = in.readNBytes(length);
        byte[] frame = new byte[lengthField.length + rest.length];
        System.arraycopy(lengthField, 0, frame, 0, lengthField.length);
        System.arraycopy(rest, 0, frame, lengthField.length, rest.length);
        return frame;
    }

    @Override
    public void close() throws IOException {
        die();
    }

    /** Dies: closes the client's connection and stops listening. */
    void die() throws IOException {
        listener.close();
        Socket socket = accepted.getNow(null);
        if (socket != null) {
            socket.close();
        }
    }
}
