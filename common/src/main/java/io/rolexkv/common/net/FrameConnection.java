package io.rolexkv.common.net;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import io.netty.buffer.Unpooled;
import io.netty.buffer.AbstractByteBufAllocator;
import io.netty.buffer.UnpooledDirectByteBuf;
import io.netty.buffer.UnpooledHeapByteBuf;
import io.rolexkv.common.fabric.ConnectionLostException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.EOFException;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.util.ArrayList;
import java.util.Map;
import java.util.Optional;
import java.util.Queue;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.ScheduledThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;
import java.util.concurrent.locks.LockSupport;
import java.util.function.Consumer;

/**
 * One pipelined tcp connection to a server of some protocol ({@link ClientProtocol}): the client half of this layer,
 * which the tcp fabric's queue pairs and the rpc baseline's connections both are. {@link #open} connects and waits for
 * the server's HELLO; {@link #send} stamps a request id into an encoded frame, writes it and returns a future that the
 * answer with the same id completes, through the caller's {@link FrameDecoder}. Any number of threads may send at
 * once.
 *
 * <h2>Who writes, who reads</h2>
 * On a machine where the client and the server share a few cores, a request's cost is mostly thread wake-ups, not
 * bytes: each costs a context switch (and, across cores of a virtual machine, an inter-processor interrupt). So the
 * threads that send and wait do the socket work themselves, on a plain blocking socket, and no event loop stands
 * between them and the kernel:
 * <ul>
 *   <li><b>Writes.</b> A sender writes its own frame. If another thread is writing at that moment, the frame is
 *       queued and that writer takes it too, in order, before it lets go: under load many frames share one write.</li>
 *   <li><b>Reads.</b> A thread that waits for its answer ({@link CompletableFuture#get()}, {@code get(timeout)} or
 *       {@code join()} on the returned future) reads the socket itself, as the connection's one <em>reader</em>,
 *       until its own answer has come; answers for other requests that arrive meanwhile complete their futures and
 *       wake their waiters. When it has its answer it hands the reading over to another waiter whose answer is still
 *       due. A thread alone on its connection therefore costs one write and one blocking read per request, and the
 *       kernel wakes it directly when its answer arrives: no hand-off at all.</li>
 *   <li><b>The backstop.</b> A request that nobody waits for still needs reading: one whose future has dependent
 *       stages attached ({@code thenApply}, {@code whenComplete}, ...), one whose sender writes a large frame while
 *       nobody reads (the server stops reading when its answers back up), or one forgotten. Each connection has one
 *       daemon thread that reads for those, woken when such a request appears and by a periodic check; it hands the
 *       reading to a waiting thread as soon as there is one.</li>
 * </ul>
 * Dependent stages of a future run on the thread that read its answer (a waiting caller or the backstop), so they must
 * not block; in particular they must not wait for another request on this connection.
 *
 * <p>Interrupts: an interrupt does not disturb a platform thread's socket I/O, so an interrupted waiter goes on until
 * its read returns; {@code get()} then throws {@link InterruptedException} as usual for a thread that was not the
 * reader. A virtual thread blocked in socket I/O that is interrupted closes the socket (the JDK's rule), which loses
 * the connection; its interrupt status is cleared around its own I/O so that at least an interrupt already pending
 * does not.
 *
 * <p>Who may connect: with a {@link NetSettings#secret() secret}, {@link #open} answers the server's challenge and
 * checks the server's proof before it takes the HELLO ({@link AuthHandshake}); a server that asks for no secret, or
 * cannot prove it, is refused, as a client without a secret refuses a server that asks for one, with an
 * {@link AuthenticationFailedException} naming the endpoint.
 *
 * <p>Failure: anything that goes wrong with the connection (the server closes it or dies, the network breaks, the
 * server sends a frame this end cannot decode or an answer to no pending request, a request waits longer than
 * {@link NetSettings#responseTimeout()}, or {@link #close()}) closes it: every pending request and every later send
 * fails at once with a {@link ConnectionLostException} naming the server, the endpoint and the reason. Nothing waits
 * forever. A lost connection stays lost; whoever owns it may open another.
 *
 * @param <H> the protocol's decoded HELLO
 */
public final class FrameConnection<H> {
    private static final Logger LOG = LoggerFactory.getLogger(FrameConnection.class);
    /**
     * Where request frames are built: on the heap (the socket copies them once anyway), unpooled (nothing to leak or
     * to return across threads) and without leak tracking (garbage collection frees them).
     */
    private static final ByteBufAllocator ALLOCATOR = new HeapAllocator();
    /** Frames up to this size share one write; larger ones go straight from their own bytes. */
    private static final int WRITE_BUFFER_BYTES = 64 * 1024;
    /** The read buffer between answers; it grows for one larger answer and shrinks back after it. */
    private static final int READ_BUFFER_BYTES = 64 * 1024;
    /** A write this large may block until the server reads, which it does only while someone reads its answers. */
    private static final int LARGE_WRITE_BYTES = 32 * 1024;

    private final Socket socket;
    private final InputStream in;
    private final OutputStream out;
    private final String endpoint;
    private final H hello;
    private final String peer;
    private final int maxFrameBytes;
    private final long responseTimeoutNanos;
    private final long sweepNanos;
    private volatile Consumer<FrameConnection<H>> onClose = connection -> { };

    private final AtomicLong nextRequestId = new AtomicLong(1);
    private final Map<Long, Answer<?>> pending = new ConcurrentHashMap<>();
    /** Why the connection closed; {@code null} while it is open. Set once. */
    private final AtomicReference<String> closeReason = new AtomicReference<>();
    private final ScheduledFuture<?> sweep;

    // Writing: one writer at a time, who also takes what others queued meanwhile.
    private final Queue<ByteBuf> outbound = new ConcurrentLinkedQueue<>();
    private final AtomicBoolean writing = new AtomicBoolean();
    /** Small frames copied together for one write; used only by the thread that holds {@link #writing}. */
    private final byte[] writeBuffer = new byte[WRITE_BUFFER_BYTES];

    // Reading: one reader at a time (a waiting caller or the backstop); the buffer is the reader's alone.
    private final AtomicReference<Thread> reader = new AtomicReference<>();
    private byte[] readBuffer = new byte[READ_BUFFER_BYTES];
    private ByteBuf readView = Unpooled.wrappedBuffer(readBuffer);
    private int readStart;
    private int readEnd;
    /** Answers decoded from one read, completed once the read buffer is consistent again. */
    private final ArrayList<Answer<?>> decoded = new ArrayList<>();
    private final Thread backstop;
    private volatile boolean backstopWanted;

    /** The future of one sent request: waiting on it reads the connection (see the class comment). */
    private final class Answer<R> extends CompletableFuture<R> {
        private final FrameDecoder<R> decoder;
        private final long sentNanos;
        /** The thread blocked in {@link #get()} or {@link #join()} for this answer, or {@code null}. */
        private volatile Thread waiter;
        /** Whether stages were attached that nobody may ever wait for: the backstop must read for this one. */
        private volatile boolean dependents;
        private R value;
        private RuntimeException refusal;

        Answer(FrameDecoder<R> decoder, long sentNanos) {
            this.decoder = decoder;
            this.sentNanos = sentNanos;
        }

        /** Decodes the answer's frame, keeping the outcome for {@link #finish}; runs in the reader. */
        void decode(ByteBuf frame) throws FrameFormatException {
            try {
                value = decoder.decode(frame);
            } catch (FrameFormatException e) {
                throw e;
            } catch (RuntimeException e) {
                refusal = e;
            }
        }

        /** Completes the future from what {@link #decode} found and wakes its waiter. */
        void finish() {
            if (refusal != null) {
                completeExceptionally(refusal);
            } else {
                complete(value);
            }
            wake();
        }

        void fail(ConnectionLostException lost) {
            completeExceptionally(lost);
            wake();
        }

        private void wake() {
            Thread waiting = waiter;
            if (waiting != null) {
                LockSupport.unpark(waiting);
            }
        }

        @Override
        public R get() throws InterruptedException, ExecutionException {
            if (!isDone()) {
                await(this, 0, true);
            }
            return super.get();
        }

        @Override
        public R get(long timeout, TimeUnit unit) throws InterruptedException, ExecutionException, TimeoutException {
            if (!isDone() && !await(this, System.nanoTime() + Math.max(1, unit.toNanos(timeout)), true)) {
                throw new TimeoutException("no answer within timeout_ms=" + unit.toMillis(timeout) + " endpoint=" + endpoint);
            }
            return super.get();
        }

        @Override
        public R join() {
            if (!isDone()) {
                try {
                    await(this, 0, false);
                } catch (InterruptedException e) {
                    throw new IllegalStateException("unreachable: an uninterruptible wait was interrupted", e);
                }
            }
            return super.join();
        }

        /** Called for every dependent stage attached to this future: nobody may wait for it, so the backstop reads. */
        @Override
        public <U> CompletableFuture<U> newIncompleteFuture() {
            dependents = true;
            if (!isDone() && reader.get() == null) {
                wakeBackstop();
            }
            return new CompletableFuture<>();
        }
    }

    private FrameConnection(Socket socket, InputStream in, OutputStream out, String endpoint, H hello, String peer,
                            int maxFrameBytes, NetSettings settings) {
        this.socket = socket;
        this.in = in;
        this.out = out;
        this.endpoint = endpoint;
        this.hello = hello;
        this.peer = peer;
        this.maxFrameBytes = maxFrameBytes;
        this.responseTimeoutNanos = settings.responseTimeout().toNanos();
        long sweepMillis = Math.clamp(settings.responseTimeout().toMillis() / 8, 5, 1_000);
        this.sweepNanos = TimeUnit.MILLISECONDS.toNanos(sweepMillis);
        this.backstop = Thread.ofPlatform().daemon().name("rolexkv-net-backstop " + endpoint).unstarted(this::runBackstop);
        this.sweep = Timer.INSTANCE.scheduleAtFixedRate(this::sweep, sweepMillis, sweepMillis, TimeUnit.MILLISECONDS);
    }

    /** Heap buffers for every request, io buffers included; no pooling, no leak tracking. */
    private static final class HeapAllocator extends AbstractByteBufAllocator {
        HeapAllocator() {
            super(false);
        }

        @Override
        protected ByteBuf newHeapBuffer(int initialCapacity, int maxCapacity) {
            return new UnpooledHeapByteBuf(this, initialCapacity, maxCapacity);
        }

        @Override
        protected ByteBuf newDirectBuffer(int initialCapacity, int maxCapacity) {
            return new UnpooledDirectByteBuf(this, initialCapacity, maxCapacity);
        }

        @Override
        public ByteBuf ioBuffer() {
            return heapBuffer();
        }

        @Override
        public ByteBuf ioBuffer(int initialCapacity) {
            return heapBuffer(initialCapacity);
        }

        @Override
        public ByteBuf ioBuffer(int initialCapacity, int maxCapacity) {
            return heapBuffer(initialCapacity, maxCapacity);
        }

        @Override
        public boolean isDirectBufferPooled() {
            return false;
        }
    }

    /** The one timer thread of every connection in this process: connect deadlines and the periodic sweep. */
    private static final class Timer {
        static final ScheduledExecutorService INSTANCE = newTimer();

        private static ScheduledExecutorService newTimer() {
            ScheduledThreadPoolExecutor timer = new ScheduledThreadPoolExecutor(1,
                    Thread.ofPlatform().daemon().name("rolexkv-net-timer").factory());
            timer.setRemoveOnCancelPolicy(true);
            return Executors.unconfigurableScheduledExecutorService(timer);
        }
    }

    /**
     * Connects to {@code endpoint} ({@code host:port} or {@code [v6-address]:port}), with TCP_NODELAY since every
     * frame is a request someone waits on, and waits for the server's HELLO. Blocks, so call it from an application
     * thread, never from a completion callback.
     *
     * @throws AuthenticationFailedException if either end fails to prove the cluster secret, naming the endpoint
     * @throws ConnectionLostException if there is no server there, or it sends no valid HELLO within
     *                                 {@link NetSettings#connectTimeout()}, naming the endpoint
     * @throws IllegalArgumentException if {@code endpoint} is not {@code host:port}
     */
    public static <H> FrameConnection<H> open(String endpoint, ClientProtocol<H> protocol, NetSettings settings) {
        TcpEndpoint target = TcpEndpoint.parse(endpoint);
        long timeoutMillis = settings.connectTimeout().toMillis();
        Socket socket = new Socket();
        AtomicBoolean timedOut = new AtomicBoolean();
        // An untimed connect keeps the socket in blocking mode (a timed one would make every later read poll first);
        // the deadline closes the socket instead, which ends the connect or the wait for the HELLO.
        ScheduledFuture<?> deadline = Timer.INSTANCE.schedule(() -> {
            timedOut.set(true);
            closeQuietly(socket);
        }, timeoutMillis, TimeUnit.MILLISECONDS);
        try {
            try {
                socket.setTcpNoDelay(true);
                socket.connect(new InetSocketAddress(target.host(), target.port()));
            } catch (IOException e) {
                throw new ConnectionLostException("cannot connect to " + protocol.peerKind() + " at endpoint=" + endpoint
                        + " reason=" + (timedOut.get() ? "connect timeout after " + timeoutMillis + " ms" : e.toString()), e);
            }
            InputStream in;
            OutputStream out;
            H hello;
            try {
                in = socket.getInputStream();
                out = socket.getOutputStream();
                hello = new Handshake<>(endpoint, protocol, settings.secret(), in, out).run();
            } catch (IOException e) {
                if (timedOut.get()) {
                    throw new ConnectionLostException("no hello from " + protocol.peerKind() + " at endpoint=" + endpoint
                            + " within connect timeout", e);
                }
                throw new ConnectionLostException("bad hello from " + protocol.peerKind() + " at endpoint=" + endpoint
                        + " reason=io_error " + e.getMessage(), e);
            }
            deadline.cancel(false);
            if (timedOut.get()) {
                throw new ConnectionLostException("no hello from " + protocol.peerKind() + " at endpoint=" + endpoint
                        + " within connect timeout");
            }
            FrameConnection<H> connection = new FrameConnection<>(socket, in, out, endpoint, hello,
                    joined(protocol.describe().apply(hello), protocol.peerKind()), protocol.maxFrameBytes().applyAsInt(hello),
                    settings);
            connection.backstop.start();
            return connection;
        } catch (RuntimeException e) {
            deadline.cancel(false);
            closeQuietly(socket);
            throw e;
        }
    }

    private static String joined(String description, String kind) {
        return description.isEmpty() ? kind.replace(' ', '_') : description;
    }

    private static void closeQuietly(Socket socket) {
        try {
            socket.close();
        } catch (IOException ignored) {
            // Closing is all we wanted; a socket that fails to close is closed as far as we are concerned.
        }
    }

    /** The connection's first frames, before any request: the cluster secret's proofs, then the HELLO. */
    private static final class Handshake<H> {
        private final String endpoint;
        private final ClientProtocol<H> protocol;
        private final Optional<ClusterSecret> secret;
        private final InputStream in;
        private final OutputStream out;
        private final int maxFrameBytes;

        Handshake(String endpoint, ClientProtocol<H> protocol, Optional<ClusterSecret> secret, InputStream in,
                  OutputStream out) {
            this.endpoint = endpoint;
            this.protocol = protocol;
            this.secret = secret;
            this.in = in;
            this.out = out;
            this.maxFrameBytes = Math.max(protocol.maxHelloFrameBytes(), AuthHandshake.MAX_FRAME_BYTES);
        }

        H run() throws IOException {
            try {
                ByteBuf frame = helloOrChallenge();
                if (AuthHandshake.isHandshakeFrame(frame)) {
                    byte[] serverNonce = AuthHandshake.decodeChallenge(frame);
                    if (secret.isEmpty()) {
                        throw refused("it requires a cluster secret and this client has none "
                                + "(set auth_secret_file / --auth-secret-file)");
                    }
                    byte[] clientNonce = AuthHandshake.newNonce();
                    byte[] expectedServerProof = AuthHandshake.serverProof(secret.get(), serverNonce, clientNonce);
                    ByteBuf response = AuthHandshake.encodeResponse(ALLOCATOR, clientNonce,
                            AuthHandshake.clientProof(secret.get(), serverNonce, clientNonce));
                    response.getBytes(response.readerIndex(), out, response.readableBytes());
                    response.release();
                    ByteBuf proof;
                    try {
                        proof = readFrame();
                    } catch (EOFException e) {
                        throw refused("it closed the connection on our proof of the cluster secret "
                                + "(do both ends read the same secret?)");
                    }
                    if (!AuthHandshake.matches(expectedServerProof, AuthHandshake.decodeProof(proof))) {
                        throw refused("the server's proof of the cluster secret is wrong");
                    }
                    frame = helloOrChallenge();
                } else if (secret.isPresent()) {
                    throw refused("it did not ask for the cluster secret, so it cannot prove it "
                            + "(is it started without auth_secret_file / --auth-secret-file?)");
                }
                return protocol.helloDecoder().decode(frame);
            } catch (FrameFormatException e) {
                throw new ConnectionLostException("bad hello from " + protocol.peerKind() + " at endpoint=" + endpoint
                        + " reason=bad_frame " + e.getMessage(), e);
            }
        }

        private AuthenticationFailedException refused(String reason) {
            AuthenticationFailedException failed = new AuthenticationFailedException("authentication failed with "
                    + protocol.peerKind() + " at endpoint=" + endpoint + ": " + reason);
            LOG.debug(failed.getMessage());
            return failed;
        }

        private ByteBuf helloOrChallenge() throws IOException, FrameFormatException {
            try {
                return readFrame();
            } catch (EOFException e) {
                throw new ConnectionLostException(protocol.peerKind() + " at endpoint=" + endpoint
                        + " closed the connection before its hello", e);
            }
        }

        /** One whole frame; {@link EOFException} if the server closes the connection first. */
        private ByteBuf readFrame() throws IOException, FrameFormatException {
            byte[] lengthField = new byte[FrameHeader.LENGTH_FIELD_BYTES];
            readFully(lengthField, 0, lengthField.length);
            int frameBytes = FrameHeader.frameBytes(Unpooled.wrappedBuffer(lengthField), maxFrameBytes);
            byte[] frame = new byte[frameBytes];
            System.arraycopy(lengthField, 0, frame, 0, lengthField.length);
            readFully(frame, lengthField.length, frameBytes - lengthField.length);
            return Unpooled.wrappedBuffer(frame);
        }

        private void readFully(byte[] into, int from, int length) throws IOException {
            int offset = from;
            int end = from + length;
            while (offset < end) {
                int read = in.read(into, offset, end - offset);
                if (read < 0) {
                    throw new EOFException("end of stream");
                }
                offset += read;
            }
        }
    }

    /** What the server said in its HELLO. */
    public H hello() {
        return hello;
    }

    /** The {@code host:port} this connection was opened to. */
    public String endpoint() {
        return endpoint;
    }

    /** Where to allocate request frames. */
    public ByteBufAllocator allocator() {
        return ALLOCATOR;
    }

    /** Runs {@code listener} once when the connection closes, for whatever reason (at once if it has). */
    public void onClose(Consumer<FrameConnection<H>> listener) {
        this.onClose = listener;
        if (closeReason.get() != null) {
            listener.accept(this);
        }
    }

    /**
     * Sends an encoded request frame (this takes it over, sent or not) under a fresh request id and returns the
     * future {@code decoder} completes from its answer; it fails with {@link ConnectionLostException} if the
     * connection is or becomes lost first. Waiting on the future reads the connection (see the class comment).
     */
    public <R> CompletableFuture<R> send(ByteBuf frame, FrameDecoder<R> decoder) {
        if (closeReason.get() != null) {
            frame.release();
            return CompletableFuture.failedFuture(lost());
        }
        long requestId = nextRequestId.getAndIncrement();
        FrameHeader.stampRequestId(frame, requestId);
        Answer<R> answer = new Answer<>(decoder, System.nanoTime());
        pending.put(requestId, answer);
        if (closeReason.get() != null) {
            // Closed while we registered: the close may have swept the pending map before our entry arrived.
            frame.release();
            if (pending.remove(requestId) != null) {
                answer.fail(lost());
            }
            return answer;
        }
        outbound.add(frame);
        drain();
        return answer;
    }

    /**
     * Writes the queue unless another thread is writing it, in which case that one takes the new frames too before
     * it lets go (it checks the queue after letting go, so no frame is ever left behind).
     */
    private void drain() {
        // Not once closed: writeQueued then writes nothing, and a frame queued after the close swept the queue would
        // keep this loop spinning for ever (seen: a caller that raced the server's close hung).
        while (!outbound.isEmpty() && closeReason.get() == null && writing.compareAndSet(false, true)) {
            try {
                writeQueued();
            } finally {
                writing.set(false);
            }
        }
        if (closeReason.get() != null) {
            releaseOutbound();
        }
    }

    /** Writes the queue to the socket, small frames together; holds {@link #writing}. */
    private void writeQueued() {
        boolean interrupted = Thread.currentThread().isVirtual() && Thread.interrupted();
        try {
            while (closeReason.get() == null) {
                int length = 0;
                ByteBuf frame;
                while ((frame = outbound.peek()) != null && frame.readableBytes() <= writeBuffer.length - length) {
                    outbound.poll();
                    int bytes = frame.readableBytes();
                    frame.getBytes(frame.readerIndex(), writeBuffer, length, bytes);
                    frame.release();
                    length += bytes;
                }
                if (length > 0) {
                    beforeWrite(length);
                    out.write(writeBuffer, 0, length);
                    continue;
                }
                frame = outbound.poll();
                if (frame == null) {
                    return;
                }
                try {
                    beforeWrite(frame.readableBytes());
                    frame.getBytes(frame.readerIndex(), out, frame.readableBytes());
                } finally {
                    frame.release();
                }
            }
        } catch (IOException e) {
            releaseOutbound();
            closeWith("io_error " + e.getMessage());
        } finally {
            if (interrupted) {
                Thread.currentThread().interrupt();
            }
        }
    }

    /** Before a write that may block until the server reads: makes sure someone reads the answers meanwhile. */
    private void beforeWrite(int bytes) {
        if (bytes >= LARGE_WRITE_BYTES && reader.get() == null && !pending.isEmpty()) {
            wakeBackstop();
        }
    }

    private void releaseOutbound() {
        ByteBuf frame;
        while ((frame = outbound.poll()) != null) {
            frame.release();
        }
    }

    /**
     * Waits until {@code answer} is done, reading the connection whenever nobody else is; returns false if
     * {@code deadlineNanos} (0: none) passed first. A reader only notices a deadline between reads; the response
     * timeout, which closes the connection, bounds every read.
     */
    private boolean await(Answer<?> answer, long deadlineNanos, boolean interruptible) throws InterruptedException {
        Thread current = Thread.currentThread();
        if (reader.get() == current) {
            throw new IllegalStateException("a stage of a request on " + this + " waits for another request on it; "
                    + "stages run on the thread that reads the connection and must not block");
        }
        boolean interrupted = !interruptible && Thread.interrupted();
        answer.waiter = current;
        try {
            while (!answer.isDone()) {
                if (reader.get() == null && reader.compareAndSet(null, current)) {
                    try {
                        read(answer, deadlineNanos);
                    } finally {
                        releaseReader();
                    }
                    continue;
                }
                if (interruptible && Thread.interrupted()) {
                    throw new InterruptedException();
                }
                if (deadlineNanos == 0) {
                    LockSupport.park(this);
                } else {
                    long remaining = deadlineNanos - System.nanoTime();
                    if (remaining <= 0) {
                        return answer.isDone();
                    }
                    LockSupport.parkNanos(this, remaining);
                }
                if (!interruptible && Thread.interrupted()) {
                    interrupted = true;
                }
            }
            return true;
        } finally {
            answer.waiter = null;
            if (!answer.isDone() && reader.get() == null) {
                // Leaving without the answer (interrupted, timed out): another waiter may have been woken to read
                // in our place; pass that on.
                handOffReading();
            }
            if (interrupted) {
                current.interrupt();
            }
        }
    }

    /** As the reader: reads until {@code own} is done, the deadline (0: none) passes, or the connection closes. */
    private void read(Answer<?> own, long deadlineNanos) {
        boolean interrupted = Thread.currentThread().isVirtual() && Thread.interrupted();
        try {
            while (!own.isDone() && closeReason.get() == null
                    && (deadlineNanos == 0 || deadlineNanos - System.nanoTime() > 0)) {
                readOnce();
            }
        } finally {
            if (interrupted) {
                Thread.currentThread().interrupt();
            }
        }
    }

    /**
     * Lets go of the reading and hands it to a thread waiting for an answer still due, or, if only requests nobody
     * waits for are left, to the backstop. A waiter registers before it tries to read and this clears the reader
     * before it looks for waiters, so one of the two always sees the other.
     */
    private void releaseReader() {
        reader.set(null);
        handOffReading();
    }

    private void handOffReading() {
        boolean unattended = false;
        for (Answer<?> answer : pending.values()) {
            if (answer.isDone()) {
                continue;
            }
            Thread waiting = answer.waiter;
            if (waiting != null) {
                LockSupport.unpark(waiting);
                return;
            }
            unattended |= answer.dependents;
        }
        if (unattended) {
            wakeBackstop();
        }
    }

    private void wakeBackstop() {
        backstopWanted = true;
        LockSupport.unpark(backstop);
    }

    /** The backstop's life: reads while requests are pending and no waiter could read for them instead. */
    private void runBackstop() {
        Thread current = Thread.currentThread();
        while (closeReason.get() == null) {
            if (backstopWanted) {
                backstopWanted = false;
                if (reader.compareAndSet(null, current)) {
                    try {
                        while (closeReason.get() == null && !pending.isEmpty() && !someWaiterCanRead()) {
                            readOnce();
                        }
                    } finally {
                        releaseReader();
                    }
                }
                continue;
            }
            LockSupport.park(this);
        }
    }

    private boolean someWaiterCanRead() {
        for (Answer<?> answer : pending.values()) {
            if (answer.waiter != null && !answer.isDone()) {
                return true;
            }
        }
        return false;
    }

    /**
     * One blocking read, then every whole answer in the buffer completes its request. Any failure closes the
     * connection with its reason. Runs only in the reader.
     */
    private void readOnce() {
        try {
            if (readEnd == readBuffer.length) {
                makeRoom();
            }
            int read = in.read(readBuffer, readEnd, readBuffer.length - readEnd);
            if (read < 0) {
                closeWith("connection closed by peer");
                return;
            }
            readEnd += read;
            dispatch();
        } catch (IOException e) {
            closeWith("io_error " + e.getMessage());
        } catch (FrameFormatException e) {
            String reason = "bad_frame " + e.getMessage();
            if (closeReason.get() == null) {
                LOG.warn("closing connection {} endpoint={} reason={}", peer, endpoint, reason);
            }
            closeWith(reason);
        }
    }

    /** Makes room at the end of a full read buffer: moves the unfinished answer to the front, growing for a large one. */
    private void makeRoom() throws FrameFormatException {
        int unread = readEnd - readStart;
        int needed = READ_BUFFER_BYTES;
        if (unread >= FrameHeader.LENGTH_FIELD_BYTES) {
            readView.setIndex(readStart, readEnd);
            needed = Math.max(needed, FrameHeader.frameBytes(readView, maxFrameBytes));
        }
        byte[] target = needed > readBuffer.length ? new byte[needed] : readBuffer;
        System.arraycopy(readBuffer, readStart, target, 0, unread);
        useReadBuffer(target);
        readStart = 0;
        readEnd = unread;
    }

    private void useReadBuffer(byte[] buffer) {
        if (buffer != readBuffer) {
            readBuffer = buffer;
            readView = Unpooled.wrappedBuffer(buffer);
        }
    }

    /** Decodes every whole answer in the buffer, then completes them (so their stages run on a consistent buffer). */
    private void dispatch() throws FrameFormatException {
        Answer<?> broken = null;
        try {
            while (readEnd - readStart >= FrameHeader.LENGTH_FIELD_BYTES) {
                readView.setIndex(readStart, readEnd);
                int frameBytes = FrameHeader.frameBytes(readView, maxFrameBytes);
                if (readEnd - readStart < frameBytes) {
                    break;
                }
                readView.setIndex(readStart, readStart + frameBytes);
                readStart += frameBytes;
                long requestId = FrameHeader.requestId(readView);
                Answer<?> answer = pending.remove(requestId);
                if (answer == null) {
                    throw new FrameFormatException("response to unknown request_id=" + requestId);
                }
                broken = answer;
                answer.decode(readView);
                broken = null;
                decoded.add(answer);
            }
            if (readStart == readEnd) {
                readStart = 0;
                readEnd = 0;
                if (readBuffer.length > READ_BUFFER_BYTES) {
                    useReadBuffer(new byte[READ_BUFFER_BYTES]);
                }
            }
        } catch (FrameFormatException e) {
            if (broken != null) {
                // Close first, so the request fails with the reason like every other pending one.
                String reason = "bad_frame " + e.getMessage();
                LOG.warn("closing connection {} endpoint={} reason={}", peer, endpoint, reason);
                closeWith(reason);
                broken.fail(lost());
            }
            throw e;
        } finally {
            for (Answer<?> answer : decoded) {
                answer.finish();
            }
            decoded.clear();
        }
    }

    /** Closes on a request past the response timeout; sends the backstop to requests nobody has read for a while. */
    private void sweep() {
        long now = System.nanoTime();
        for (Map.Entry<Long, Answer<?>> entry : pending.entrySet()) {
            long waited = now - entry.getValue().sentNanos;
            if (waited > responseTimeoutNanos) {
                closeWith("response timeout request_id=" + entry.getKey() + " timeout_ms="
                        + TimeUnit.NANOSECONDS.toMillis(responseTimeoutNanos));
                return;
            }
            if (waited > sweepNanos && reader.get() == null) {
                wakeBackstop();
            }
        }
    }

    /** Closes the connection for {@code reason} (the first reason wins) and fails every pending request. */
    public void closeWith(String reason) {
        if (!closeReason.compareAndSet(null, reason)) {
            return;
        }
        sweep.cancel(false);
        // Ends a read or write blocked on the socket, in whichever thread.
        closeQuietly(socket);
        LockSupport.unpark(backstop);
        ConnectionLostException lost = lost();
        for (Long requestId : pending.keySet()) {
            Answer<?> failed = pending.remove(requestId);
            if (failed != null) {
                failed.fail(lost);
            }
        }
        if (!writing.get()) {
            releaseOutbound();
        }
        onClose.accept(this);
        LOG.debug("connection closed {} endpoint={} reason={}", peer, endpoint, reason);
    }

    /** Why the connection closed, or empty while it is open. */
    public Optional<String> closeReason() {
        return Optional.ofNullable(closeReason.get());
    }

    /** The exception every request on this connection fails with once it is lost. */
    public ConnectionLostException lost() {
        return new ConnectionLostException("connection lost " + peer + " endpoint=" + endpoint + " reason="
                + closeReason.get());
    }

    public boolean isOpen() {
        return closeReason.get() == null && !socket.isClosed();
    }

    public void close() {
        closeWith("closed by client");
    }

    @Override
    public String toString() {
        return "FrameConnection[" + peer + " endpoint=" + endpoint + " open=" + isOpen() + "]";
    }
}
