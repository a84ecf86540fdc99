package io.rolexkv.common.fabric.rdma;

import com.ibm.disni.verbs.IbvSendWR;

import java.io.IOException;
import java.lang.foreign.MemorySegment;
import java.util.List;

/**
 * The few things {@link RdmaConnection} needs from a connected reliable queue pair: register local memory, post a
 * work request chain with one doorbell, and hear about completions and disconnection. DiSNI provides it on real
 * hardware ({@link DisniQueuePair}); the tests provide a software NIC that executes the same work requests against
 * local memory, so the connection's whole client path runs without a device.
 */
interface RdmaQueuePair extends AutoCloseable {

    /** A local memory registration: the lkey work requests name it by, released with {@link #close()}. */
    interface LocalRegistration extends AutoCloseable {
        int localKey();

        @Override
        void close();
    }

    /** Where completions and disconnection go; called from the queue pair's completion or event thread. */
    interface Events {
        /**
         * A work request completed: successfully ({@code status == 0}), or with an error, after which the queue pair
         * is in the error state.
         */
        void onCompletion(long workRequestId, int status, int vendorError);

        /** The connection is gone (the peer disconnected or died). */
        void onDisconnected(String reason);
    }

    /** Registers {@code memory} (off-heap) for local reads and writes by the NIC. */
    LocalRegistration registerLocal(MemorySegment memory) throws IOException;

    /** Sets the receiver of completions and disconnection; before the first post. */
    void start(Events events);

    /** Posts {@code chain} as one linked list in one {@code ibv_post_send}. Not called concurrently. */
    void postSend(List<IbvSendWR> chain) throws IOException;

    /** Tears the queue pair down; outstanding work requests are abandoned. Idempotent. */
    @Override
    void close();
}
