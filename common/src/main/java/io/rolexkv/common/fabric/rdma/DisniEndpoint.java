package io.rolexkv.common.fabric.rdma;

import com.ibm.disni.RdmaActiveEndpoint;
import com.ibm.disni.RdmaActiveEndpointGroup;
import com.ibm.disni.verbs.IbvMr;
import com.ibm.disni.verbs.IbvPd;
import com.ibm.disni.verbs.IbvRecvWR;
import com.ibm.disni.verbs.IbvSendWR;
import com.ibm.disni.verbs.IbvSge;
import com.ibm.disni.verbs.IbvWC;
import com.ibm.disni.verbs.RdmaCmEvent;
import com.ibm.disni.verbs.RdmaCmId;
import com.ibm.disni.verbs.SVCPostRecv;
import com.ibm.disni.verbs.SVCPostSend;
import com.ibm.disni.verbs.SVCRegMr;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.util.List;
import java.util.concurrent.CompletableFuture;

/**
 * One DiSNI endpoint (one reliable queue pair), on either side, with the hooks DiSNI 2.1 lacks:
 * <ul>
 *   <li>Connection set-up that can fail. DiSNI's {@code connect()} and server-side accept wait for the connection
 *       manager's next state and ignore error events (rejected, unreachable, address or route error), so a client
 *       connecting to a port nobody listens on would wait forever. This endpoint records such an event, or a timeout,
 *       and interrupts the thread doing the set-up; {@link #finishSetUp()} then reports why, and clears an interrupt
 *       it caused so none leaks to the caller.</li>
 *   <li>The region exchange: a client posts the receive for the memory node's hello in {@link #init()}, after its
 *       queue pair exists and before it connects, so the hello can never arrive to an empty receive queue; the
 *       SEND/RECV completions of that exchange (work request id {@link RdmaWorkRequests#CONTROL_WORK_REQUEST_ID})
 *       complete {@link #controlCompletion()}.</li>
 *   <li>Every other completion and the disconnect event go to the {@link RdmaQueuePair.Events} set by
 *       {@link #start}.</li>
 * </ul>
 * Completions arrive on the group's completion thread, connection manager events on its event thread.
 */
final class DisniEndpoint extends RdmaActiveEndpoint {
    private static final RdmaQueuePair.Events NOT_STARTED = new RdmaQueuePair.Events() {
        @Override
        public void onCompletion(long workRequestId, int status, int vendorError) {
        }

        @Override
        public void onDisconnected(String reason) {
        }
    };

    private final Object setUpLock = new Object();
    private Thread setUpThread;
    private boolean setUpFinished;
    private String setUpFailure;

    private final CompletableFuture<Integer> controlCompletion = new CompletableFuture<>();
    private volatile RdmaQueuePair.Events events = NOT_STARTED;
    private volatile String disconnectReason;
    private ByteBuffer helloBuffer;
    private IbvMr helloRegistration;

    DisniEndpoint(RdmaActiveEndpointGroup<DisniEndpoint> group, RdmaCmId id, boolean serverSide) throws IOException {
        super(group, id, serverSide);
    }

    /** Registers {@code buffer} (direct) with {@code pd} for {@code access}. */
    static IbvMr register(IbvPd pd, ByteBuffer buffer, int access) throws IOException {
        if (!buffer.isDirect()) {
            throw new IllegalArgumentException("only direct buffers can be registered, got " + buffer);
        }
        SVCRegMr call = pd.regMr(buffer, access);
        try {
            return call.execute().getMr();
        } finally {
            call.free();
        }
    }

    /** Deregisters {@code registration}, ignoring failures (the queue pair or device may already be gone). */
    static void deregisterQuietly(IbvMr registration) {
        if (registration == null) {
            return;
        }
        try {
            registration.deregMr().execute().free();
        } catch (IOException | RuntimeException ignored) {
            // Nothing more can be done: the process is giving the memory up anyway.
        }
    }

    /** Marks {@code thread} as the one connecting or accepting, to be interrupted if set-up fails or times out. */
    void beginSetUp(Thread thread) {
        synchronized (setUpLock) {
            setUpThread = thread;
        }
    }

    /**
     * Fails the set-up with {@code reason} unless it finished already. Called on a connection manager error event,
     * a disconnect during set-up, or a timeout.
     */
    void abortSetUp(String reason) {
        synchronized (setUpLock) {
            if (setUpFinished || setUpFailure != null) {
                return;
            }
            setUpFailure = reason;
            if (setUpThread != null) {
                setUpThread.interrupt();
            }
        }
    }

    /**
     * Ends the set-up window; call from the set-up thread once {@code connect()}/{@code accept()} returned or threw.
     *
     * @return why the set-up was aborted, or {@code null} if it was not
     */
    String finishSetUp() {
        synchronized (setUpLock) {
            setUpFinished = true;
            if (setUpFailure != null && setUpThread == Thread.currentThread()) {
                // The interrupt was ours; do not hand it to the caller.
                Thread.interrupted();
            }
            return setUpFailure;
        }
    }

    /** Whether a thread began setting this endpoint up (on the server: DiSNI's accept reached it). */
    boolean setUpStarted() {
        synchronized (setUpLock) {
            return setUpThread != null && !setUpFinished;
        }
    }

    private String setUpFailureOrNull() {
        synchronized (setUpLock) {
            return setUpFailure;
        }
    }

    @Override
    protected synchronized void init() throws IOException {
        super.init();
        if (isServerSide()) {
            // Called by DiSNI inside the server's accept, on the accepting thread.
            beginSetUp(Thread.currentThread());
            String failure = setUpFailureOrNull();
            if (failure != null) {
                throw new IOException("connection set-up aborted: " + failure);
            }
            return;
        }
        helloBuffer = ByteBuffer.allocateDirect(RdmaHandshakeDescriptor.MAX_MESSAGE_BYTES);
        helloRegistration = register(pd, helloBuffer, IbvMr.IBV_ACCESS_LOCAL_WRITE);
        IbvSge element = new IbvSge();
        element.setAddr(helloRegistration.getAddr());
        element.setLength(helloRegistration.getLength());
        element.setLkey(helloRegistration.getLkey());
        IbvRecvWR receive = new IbvRecvWR();
        receive.setWr_id(RdmaWorkRequests.CONTROL_WORK_REQUEST_ID);
        receive.getSg_list().add(element);
        receive.setNum_sge(1);
        SVCPostRecv call = postRecv(List.of(receive));
        try {
            call.execute();
        } finally {
            call.free();
        }
    }

    /** The client's hello receive buffer (valid after connecting). */
    ByteBuffer helloBuffer() {
        return helloBuffer;
    }

    /** Sends {@code length} bytes of the registered {@code message} as the hello (server side). */
    void sendHello(IbvMr message, int length) throws IOException {
        IbvSge element = new IbvSge();
        element.setAddr(message.getAddr());
        element.setLength(length);
        element.setLkey(message.getLkey());
        IbvSendWR send = new IbvSendWR();
        send.setWr_id(RdmaWorkRequests.CONTROL_WORK_REQUEST_ID);
        send.setOpcode(IbvSendWR.IBV_WR_SEND);
        send.setSend_flags(IbvSendWR.IBV_SEND_SIGNALED);
        send.getSg_list().add(element);
        send.setNum_sge(1);
        SVCPostSend call = postSend(List.of(send));
        try {
            call.execute();
        } finally {
            call.free();
        }
    }

    /** Completes with the byte length of the region exchange's SEND or RECV, or fails with its status. */
    CompletableFuture<Integer> controlCompletion() {
        return controlCompletion;
    }

    /** Routes completions and disconnection to {@code receiver} from now on. */
    void start(RdmaQueuePair.Events receiver) {
        events = receiver;
        String reason = disconnectReason;
        if (reason != null) {
            receiver.onDisconnected(reason);
        }
    }

    @Override
    public void dispatchCqEvent(IbvWC completion) throws IOException {
        // The completion object is reused by DiSNI's poller: read what is needed now.
        long workRequestId = completion.getWr_id();
        int status = completion.getStatus();
        if (workRequestId == RdmaWorkRequests.CONTROL_WORK_REQUEST_ID) {
            if (status == IbvWC.IbvWcStatus.IBV_WC_SUCCESS.ordinal()) {
                controlCompletion.complete(completion.getByte_len());
            } else {
                controlCompletion.completeExceptionally(new IOException("region exchange work request failed: status="
                        + RdmaConnection.statusName(status) + " vendor_error=" + completion.getVendor_err()));
            }
            return;
        }
        events.onCompletion(workRequestId, status, completion.getVendor_err());
    }

    @Override
    public synchronized void dispatchCmEvent(RdmaCmEvent event) throws IOException {
        super.dispatchCmEvent(event);
        int type = event.getEvent();
        String name = eventName(type);
        if (type == RdmaCmEvent.EventType.RDMA_CM_EVENT_DISCONNECTED.ordinal()
                || type == RdmaCmEvent.EventType.RDMA_CM_EVENT_DEVICE_REMOVAL.ordinal()) {
            disconnectReason = name;
            abortSetUp(name);
            controlCompletion.completeExceptionally(new IOException("connection ended before the region exchange: " + name));
            events.onDisconnected(name);
        } else if (type == RdmaCmEvent.EventType.RDMA_CM_EVENT_ADDR_ERROR.ordinal()
                || type == RdmaCmEvent.EventType.RDMA_CM_EVENT_ROUTE_ERROR.ordinal()
                || type == RdmaCmEvent.EventType.RDMA_CM_EVENT_CONNECT_ERROR.ordinal()
                || type == RdmaCmEvent.EventType.RDMA_CM_EVENT_UNREACHABLE.ordinal()
                || type == RdmaCmEvent.EventType.RDMA_CM_EVENT_REJECTED.ordinal()) {
            abortSetUp(name + " status=" + event.getStatus());
        }
    }

    private static String eventName(int type) {
        RdmaCmEvent.EventType[] types = RdmaCmEvent.EventType.values();
        return type >= 0 && type < types.length ? types[type].name() : "RDMA_CM_EVENT_" + type;
    }

    /** Closes the endpoint and the hello registration, ignoring failures. Not on DiSNI's event thread. */
    void closeQuietly() {
        try {
            close();
        } catch (IOException | RuntimeException e) {
            // Closing a broken endpoint may fail half way; its resources go with the group.
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        deregisterQuietly(helloRegistration);
        helloRegistration = null;
    }
}
