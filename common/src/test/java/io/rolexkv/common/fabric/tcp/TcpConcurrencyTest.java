package io.rolexkv.common.fabric.tcp;

import io.rolexkv.common.fabric.BatchResult;
import io.rolexkv.common.fabric.DoorbellBatch;
import io.rolexkv.common.fabric.FabricConnection;
import io.rolexkv.common.fabric.FabricServer;
import io.rolexkv.common.fabric.GlobalAddress;
import io.rolexkv.common.fabric.RegisteredMemory;
import io.rolexkv.common.fabric.WordOrder;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.time.Duration;
import java.util.ArrayList;
import java.util.BitSet;
import java.util.List;
import java.util.Random;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.atomic.AtomicReference;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The atomics do their job across connections and threads, over tcp: CAS is a working spin lock (a non-atomic
 * read-increment-write under it loses no update), and concurrent FAAs add up exactly, each seeing a distinct old value.
 */
@Timeout(60)
class TcpConcurrencyTest {
    private static final int THREADS = 8;
    private static final int CONNECTIONS = 3;
    private static final int NODE = TcpTestSupport.MEMORY_NODE;

    private RegisteredMemory memory;
    private TcpTransport transport;
    private List<FabricConnection> connections;

    @BeforeEach
    void start() {
        memory = TcpTestSupport.newMemory();
        transport = new TcpTransport();
        FabricServer server = transport.serve(memory, TcpTestSupport.LOCALHOST_ANY_PORT);
        connections = new ArrayList<>();
        for (int i = 0; i < CONNECTIONS; i++) {
            connections.add(transport.connect(server.endpoint(), null));
        }
    }

    @AfterEach
    void stop() {
        transport.close();
        memory.close();
    }

    @Test
    void casSpinLockMakesAReadIncrementWriteExact() throws InterruptedException {
        long lock = GlobalAddress.of(NODE, 0, 0);
        long counter = GlobalAddress.of(NODE, 0, 64);
        int incrementsPerThread = 40;
        runThreads(thread -> {
            FabricConnection connection = connections.get(thread % CONNECTIONS);
            long owner = thread + 1;
            for (int i = 0; i < incrementsPerThread; i++) {
                acquire(connection, lock, owner);
                DoorbellBatch read = new DoorbellBatch();
                int value = read.read(counter, Long.BYTES);
                long seen = connection.execute(read).readLong(value, 0);
                // Not atomic on its own: only the lock keeps another thread from writing in between.
                DoorbellBatch writeAndRelease = new DoorbellBatch();
                writeAndRelease.writeLong(counter, seen + 1);
                int release = writeAndRelease.compareAndSwap(lock, owner, 0);
                BatchResult released = connection.execute(writeAndRelease);
                assertTrue(released.casSucceeded(release), "lock word changed while held; owner=" + owner
                        + " found=" + released.oldValue(release));
            }
        });
        assertEquals((long) THREADS * incrementsPerThread, WordOrder.getLong(memory.segment(0), 64));
        assertEquals(0, WordOrder.getLong(memory.segment(0), 0));
    }

    private static void acquire(FabricConnection connection, long lock, long owner) {
        DoorbellBatch tryLock = new DoorbellBatch();
        int cas = tryLock.compareAndSwap(lock, 0, owner);
        while (!connection.execute(tryLock).casSucceeded(cas)) {
            Thread.yield();
        }
    }

    @Test
    void concurrentFetchAndAddsSumExactlyAndEachSeesADistinctOldValue() throws InterruptedException {
        long word = GlobalAddress.of(NODE, 1, 16);
        int addsPerThread = 150;
        ConcurrentLinkedQueue<Long> oldValues = new ConcurrentLinkedQueue<>();
        runThreads(thread -> {
            FabricConnection connection = connections.get(thread % CONNECTIONS);
            Random random = new Random(0xFAA0L + thread);
            int done = 0;
            while (done < addsPerThread) {
                // Several FAAs of the same word in one batch: each must still see the one before it.
                int inBatch = Math.min(1 + random.nextInt(4), addsPerThread - done);
                DoorbellBatch batch = new DoorbellBatch();
                for (int i = 0; i < inBatch; i++) {
                    batch.fetchAndAdd(word, 1);
                }
                BatchResult result = connection.execute(batch);
                for (int i = 0; i < inBatch; i++) {
                    oldValues.add(result.oldValue(i));
                }
                done += inBatch;
            }
        });
        int total = THREADS * addsPerThread;
        assertEquals(total, WordOrder.getLong(memory.segment(1), 16));
        BitSet seen = new BitSet(total);
        for (long old : oldValues) {
            assertTrue(old >= 0 && old < total && !seen.get((int) old), "old value seen twice or out of range: " + old);
            seen.set((int) old);
        }
        assertEquals(total, seen.cardinality());
    }

    private interface Worker {
        void run(int thread);
    }

    /** Runs {@code worker} on {@link #THREADS} virtual threads and rethrows the first failure. */
    private static void runThreads(Worker worker) throws InterruptedException {
        AtomicReference<Throwable> failure = new AtomicReference<>();
        List<Thread> threads = new ArrayList<>();
        for (int t = 0; t < THREADS; t++) {
            int thread = t;
            threads.add(Thread.ofVirtual().name("worker-" + t).start(() -> {
                try {
                    worker.run(thread);
                } catch (Throwable e) {
                    failure.compareAndSet(null, e);
                }
            }));
        }
        for (Thread thread : threads) {
            assertTrue(thread.join(Duration.ofSeconds(50)), thread.getName() + " hung");
        }
        if (failure.get() != null) {
            throw new AssertionError("a worker failed", failure.get());
        }
    }
}
