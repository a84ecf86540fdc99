package io.rolexkv.common.fabric.rdma;

import com.ibm.disni.verbs.IbvMr;
import com.ibm.disni.verbs.IbvSendWR;
import com.ibm.disni.verbs.SVCPostSend;

import java.io.IOException;
import java.lang.foreign.MemorySegment;
import java.util.List;

/** {@link RdmaQueuePair} on a connected DiSNI endpoint. */
final class DisniQueuePair implements RdmaQueuePair {
    private final DisniEndpoint endpoint;

    DisniQueuePair(DisniEndpoint endpoint) {
        this.endpoint = endpoint;
    }

    /**
     * DiSNI registers direct ByteBuffers (it takes the buffer's native address and capacity), while our memory lives
     * in MemorySegments. {@link MemorySegment#asByteBuffer()} of an off-heap segment is a direct buffer over the very
     * same bytes, so the registration covers the segment itself, no copy. The segment's arena, not the buffer, keeps
     * the memory alive: the caller frees it only after deregistering.
     */
    @Override
    public LocalRegistration registerLocal(MemorySegment memory) throws IOException {
        if (!memory.isNative()) {
            throw new IllegalArgumentException("only off-heap memory can be registered, got " + memory);
        }
        IbvMr registration = DisniEndpoint.register(endpoint.getPd(), memory.asByteBuffer(), IbvMr.IBV_ACCESS_LOCAL_WRITE);
        return new LocalRegistration() {
            @Override
            public int localKey() {
                return registration.getLkey();
            }

            @Override
            public void close() {
                DisniEndpoint.deregisterQuietly(registration);
            }
        };
    }

    @Override
    public void start(Events events) {
        endpoint.start(events);
    }

    @Override
    public void postSend(List<IbvSendWR> chain) throws IOException {
        // DiSNI serializes the chain into native memory and ibv_post_send copies it into the send queue, so the
        // stateful call can be freed right after executing.
        SVCPostSend call = endpoint.postSend(chain);
        try {
            call.execute();
        } finally {
            call.free();
        }
    }

    @Override
    public void close() {
        endpoint.closeQuietly();
    }

    @Override
    public String toString() {
        return "DisniQueuePair[endpoint=" + endpoint.getEndpointId() + "]";
    }
}
