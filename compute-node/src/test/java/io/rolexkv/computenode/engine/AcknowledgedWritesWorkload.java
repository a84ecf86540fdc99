package io.rolexkv.computenode.engine;

import io.rolexkv.common.fabric.ConnectionLostException;
import io.rolexkv.common.fabric.FabricException;
import io.rolexkv.common.kv.BaseKV;
import io.rolexkv.rolex.index.IndexGaveUpException;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Random;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Clients that keep reading and writing an engine while a test breaks its memory node (stops it, kills it, starts it
 * again), and the check afterwards that nothing acknowledged was lost. Each thread owns the keys congruent to it, so
 * the oracle needs no ordering between threads. Per key it knows the value that is there for sure (the last
 * acknowledged put; none: absent) and every value a failed put may have left, since a put that fails as a transport
 * failure has an unknown outcome.
 *
 * <p>What a client may see while the node is away: {@link ConnectionLostException} (outcome unknown) and
 * {@link IndexGaveUpException} (a lock left held by a put the fault cut short; nothing changed). Anything else is
 * collected as unexpected and fails {@link #stopAndCheck}.
 */
public final class AcknowledgedWritesWorkload implements AutoCloseable {
    private final BaseKV engine;
    private final long[] keys;
    private final Map<Long, byte[]> acknowledged = new ConcurrentHashMap<>();
    private final Map<Long, Set<String>> uncertain = new ConcurrentHashMap<>();
    private final AtomicBoolean stop = new AtomicBoolean();
    private final AtomicLong succeeded = new AtomicLong();
    private final List<Throwable> unexpected = new ArrayList<>();
    private final List<Thread> workers = new ArrayList<>();

    private AcknowledgedWritesWorkload(BaseKV engine, long[] keys) {
        this.engine = engine;
        this.keys = keys;
    }

    /**
     * Starts {@code threads} clients on {@code keys} (distinct), each operation a put with probability {@code putShare}
     * (values of 8 to 127 random bytes) and a get otherwise, thread {@code t} drawing from {@code seed + t}.
     */
    public static AcknowledgedWritesWorkload start(BaseKV engine, long[] keys, int threads, double putShare, long seed) {
        AcknowledgedWritesWorkload workload = new AcknowledgedWritesWorkload(engine, keys);
        for (int t = 0; t < threads; t++) {
            int thread = t;
            workload.workers.add(Thread.ofPlatform().name("acknowledged-writes-" + t)
                    .start(() -> workload.run(thread, threads, putShare, new Random(seed + thread))));
        }
        return workload;
    }

    private void run(int thread, int threads, double putShare, Random random) {
        while (!stop.get()) {
            long key = keys[random.nextInt(keys.length / threads) * threads + thread];
            try {
                if (random.nextDouble() < putShare) {
                    byte[] value = new byte[8 + random.nextInt(120)];
                    random.nextBytes(value);
                    try {
                        engine.put(key, value);
                        acknowledged.put(key, value);
                        uncertain.remove(key);
                    } catch (FabricException e) {
                        uncertain.computeIfAbsent(key, k -> new HashSet<>()).add(Arrays.toString(value));
                        throw e;
                    }
                } else {
                    engine.get(key);
                }
                succeeded.incrementAndGet();
            } catch (ConnectionLostException e) {
                // outcome unknown: a put's value is already among the key's uncertain ones
            } catch (IndexGaveUpException e) {
                // a lock left held by a put the fault cut short (leases are another item): nothing changed
            } catch (RuntimeException e) {
                synchronized (unexpected) {
                    unexpected.add(e);
                }
            }
        }
    }

    /** Operations that succeeded so far: a test reads it before and after a fault to see that operations resume. */
    public long succeeded() {
        return succeeded.get();
    }

    /** Keys with a value that is there for sure. */
    public int acknowledgedKeys() {
        return acknowledged.size();
    }

    /**
     * Stops the clients and checks, through the engine, that no client saw an unexpected failure and that every key
     * holds its acknowledged value (or is absent if it never had one), or one a failed put may have left.
     */
    public void stopAndCheck() throws InterruptedException {
        close();
        synchronized (unexpected) {
            assertEquals(List.of(), unexpected);
        }
        for (long key : keys) {
            Optional<byte[]> found = engine.get(key);
            byte[] sure = acknowledged.get(key);
            Set<String> maybe = uncertain.getOrDefault(key, Set.of());
            String foundText = found.map(Arrays::toString).orElse(null);
            boolean ok = (sure == null ? found.isEmpty() : Arrays.equals(sure, found.orElse(null)))
                    || maybe.contains(foundText);
            assertTrue(ok, "key=" + key + " found=" + foundText + " acknowledged=" + Arrays.toString(sure)
                    + " uncertain=" + maybe);
        }
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
