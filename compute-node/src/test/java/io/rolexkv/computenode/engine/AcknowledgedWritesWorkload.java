package io.rolexkv.computenode.engine;

import io.rolexkv.common.check.RegisterHistory;
import io.rolexkv.common.fabric.ConnectionLostException;
import io.rolexkv.common.kv.BaseKV;
import io.rolexkv.rolex.index.IndexGaveUpException;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.OptionalLong;
import java.util.Random;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;

import static org.junit.jupiter.api.Assertions.assertEquals;

/**
 * Clients that keep reading, writing and deleting through an engine while a test breaks its memory node (stops it,
 * kills it, starts it again), every operation recorded in a {@link RegisterHistory}, and the check afterwards that the
 * history is linearizable per key: no acknowledged write lost, no value that goes back, no read of a value never
 * written. All clients share all keys, so writes to one key race.
 *
 * <p>Each put writes a value no other put writes: 8 to 127 bytes whose first 8 hold the put's id and the rest are made
 * from it, so a read names the put it saw and a value torn or mixed from two puts is caught on the spot.
 *
 * <p>What a client may see while the node is away: {@link ConnectionLostException}, after which a write's outcome is
 * unknown (recorded so: it may have taken effect at any instant after its invocation, or never) and a read is left
 * out; and {@link IndexGaveUpException} (a lock left held by a write the fault cut short; nothing changed, so the
 * operation is left out). Anything else is collected as unexpected and fails {@link #stopAndCheck}.
 */
public final class AcknowledgedWritesWorkload implements AutoCloseable {
    private static final int ID_BYTES = Long.BYTES;

    private final BaseKV engine;
    private final long[] keys;
    private final RegisterHistory history = new RegisterHistory();
    private final AtomicBoolean stop = new AtomicBoolean();
    private final AtomicLong succeeded = new AtomicLong();
    private final AtomicLong acknowledgedPuts = new AtomicLong();
    private final List<Throwable> unexpected = new ArrayList<>();
    private final List<Thread> workers = new ArrayList<>();

    private AcknowledgedWritesWorkload(BaseKV engine, long[] keys) {
        this.engine = engine;
        this.keys = keys;
    }

    /**
     * Starts {@code threads} clients on {@code keys} (distinct), each operation a write with probability
     * {@code writeShare} (one in ten of them a delete, the others puts) and a get otherwise, thread {@code t} drawing
     * from {@code seed + t}.
     */
    public static AcknowledgedWritesWorkload start(BaseKV engine, long[] keys, int threads, double writeShare, long seed) {
        AcknowledgedWritesWorkload workload = new AcknowledgedWritesWorkload(engine, keys);
        for (int t = 0; t < threads; t++) {
            int thread = t;
            workload.workers.add(Thread.ofPlatform().name("acknowledged-writes-" + t)
                    .start(() -> workload.run(thread, writeShare, new Random(seed + thread))));
        }
        return workload;
    }

    /** A value for put {@code id}: its id, then bytes made from it. */
    static byte[] valueOf(long id) {
        Random bytes = new Random(id);
        byte[] value = new byte[ID_BYTES + bytes.nextInt(120)];
        bytes.nextBytes(value);
        ByteBuffer.wrap(value).order(ByteOrder.LITTLE_ENDIAN).putLong(0, id);
        return value;
    }

    /** The id of the put that wrote {@code value}; throws if the value is not exactly what that put wrote. */
    static long idOf(byte[] value) {
        if (value.length < ID_BYTES) {
            throw new AssertionError("a value of " + value.length + " bytes, no put wrote one");
        }
        long id = ByteBuffer.wrap(value).order(ByteOrder.LITTLE_ENDIAN).getLong(0);
        if (!java.util.Arrays.equals(valueOf(id), value)) {
            throw new AssertionError("the value read names put " + id + " but is not what it wrote (torn or mixed)");
        }
        return id;
    }

    private void run(int thread, double writeShare, Random random) {
        String client = "client-" + thread;
        long nextId = ((long) thread + 1) << 40;
        while (!stop.get()) {
            long key = keys[random.nextInt(keys.length)];
            boolean write = random.nextDouble() < writeShare;
            boolean delete = write && random.nextInt(10) == 0;
            long id = nextId++;
            long call = history.invoke();
            try {
                if (delete) {
                    engine.delete(key);
                    history.remove(client, call, key, null);
                } else if (write) {
                    engine.put(key, valueOf(id));
                    history.put(client, call, key, id, null);
                    acknowledgedPuts.incrementAndGet();
                } else {
                    history.get(client, call, key, read(key));
                }
                succeeded.incrementAndGet();
            } catch (ConnectionLostException e) {
                if (delete) {
                    history.removeOutcomeUnknown(client, call, key);
                } else if (write) {
                    history.putOutcomeUnknown(client, call, key, id);
                }
            } catch (IndexGaveUpException e) {
                // a lock left held by a write the fault cut short (leases are another item): nothing changed
            } catch (RuntimeException | AssertionError e) {
                synchronized (unexpected) {
                    unexpected.add(e);
                }
            }
        }
    }

    private OptionalLong read(long key) {
        Optional<byte[]> found = engine.get(key);
        return found.isPresent() ? OptionalLong.of(idOf(found.get())) : OptionalLong.empty();
    }

    /** Operations that succeeded so far: a test reads it before and after a fault to see that operations resume. */
    public long succeeded() {
        return succeeded.get();
    }

    /** Puts acknowledged so far. */
    public long acknowledgedPuts() {
        return acknowledgedPuts.get();
    }

    /**
     * Stops the clients, reads every key once more (recorded in the history too), and checks that no client saw an
     * unexpected failure and that the history is linearizable per key.
     *
     * @return what the check found, for a test to report
     */
    public RegisterHistory.Result stopAndCheck() throws InterruptedException {
        close();
        synchronized (unexpected) {
            assertEquals(List.of(), unexpected);
        }
        for (long key : keys) {
            long call = history.invoke();
            history.get("final-read", call, key, read(key));
        }
        return history.check(Map.of()).requireLinearizable();
    }

    /** Stops the clients and waits for them. Idempotent. */
    @Override
    public void close() throws InterruptedException {
        stop.set(true);
        for (Thread worker : workers) {
            worker.join();
        }
    }
}
