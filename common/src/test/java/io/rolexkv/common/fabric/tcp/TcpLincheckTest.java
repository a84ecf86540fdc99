package io.rolexkv.common.fabric.tcp;

import io.rolexkv.common.fabric.DoorbellBatch;
import io.rolexkv.common.fabric.FabricConnection;
import io.rolexkv.common.fabric.FabricServer;
import io.rolexkv.common.fabric.GlobalAddress;
import io.rolexkv.common.fabric.RegisteredMemory;
import org.jetbrains.lincheck.datastructures.LongGen;
import org.jetbrains.lincheck.datastructures.Operation;
import org.jetbrains.lincheck.datastructures.Param;
import org.jetbrains.lincheck.datastructures.StressOptions;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * CAS, FAA and READ of one 8-byte word through the tcp transport are linearizable against a plain {@code long}
 * ({@link WordSpecification}). Threads use different connections, so the check spans queue pairs as well as
 * threads.
 *
 * <p>Stress mode, not model checking: model checking must schedule every thread that touches shared state, but here
 * the verbs run on the memory node's Netty event loops (and the completions on the client's), threads Lincheck does
 * not own, so it cannot explore their interleavings. Stress mode runs the generated scenarios on real threads many
 * times over.
 */
@Param(name = "word", gen = LongGen.class, conf = "0:2")
@Param(name = "delta", gen = LongGen.class, conf = "1:3")
@Timeout(60)
public class TcpLincheckTest {
    private static final long WORD = GlobalAddress.of(TcpTestSupport.MEMORY_NODE, 0, 8);

    private static RegisteredMemory memory;
    private static TcpTransport transport;
    private static final List<FabricConnection> CONNECTIONS = new ArrayList<>();
    private static final AtomicInteger NEXT_CONNECTION = new AtomicInteger();
    private static final ThreadLocal<FabricConnection> CONNECTION = ThreadLocal.withInitial(
            () -> CONNECTIONS.get(Math.floorMod(NEXT_CONNECTION.getAndIncrement(), CONNECTIONS.size())));

    @BeforeAll
    static void start() {
        memory = TcpTestSupport.newMemory();
        transport = new TcpTransport();
        FabricServer server = transport.serve(memory, TcpTestSupport.LOCALHOST_ANY_PORT);
        for (int i = 0; i < 3; i++) {
            CONNECTIONS.add(transport.connect(server.endpoint(), null));
        }
    }

    @AfterAll
    static void stop() {
        transport.close();
        memory.close();
        CONNECTIONS.clear();
    }

    /** Each scenario starts from a zero word. */
    public TcpLincheckTest() {
        if (!CONNECTIONS.isEmpty()) {
            DoorbellBatch reset = new DoorbellBatch();
            reset.writeLong(WORD, 0);
            CONNECTIONS.getFirst().execute(reset);
        }
    }

    @Operation
    public long compareAndSwap(@Param(name = "word") long expected, @Param(name = "word") long desired) {
        DoorbellBatch batch = new DoorbellBatch();
        int cas = batch.compareAndSwap(WORD, expected, desired);
        return CONNECTION.get().execute(batch).oldValue(cas);
    }

    @Operation
    public long fetchAndAdd(@Param(name = "delta") long delta) {
        DoorbellBatch batch = new DoorbellBatch();
        int faa = batch.fetchAndAdd(WORD, delta);
        return CONNECTION.get().execute(batch).oldValue(faa);
    }

    @Operation
    public long read() {
        DoorbellBatch batch = new DoorbellBatch();
        int read = batch.read(WORD, Long.BYTES);
        return CONNECTION.get().execute(batch).readLong(read, 0);
    }

    @Test
    void casFaaAndReadOfOneWordAreLinearizable() {
        new StressOptions()
                .iterations(15)
                .invocationsPerIteration(80)
                .threads(3)
                .actorsPerThread(3)
                .sequentialSpecification(WordSpecification.class)
                .check(getClass());
    }

    /** The sequential model: one word in local memory. */
    public static class WordSpecification {
        private long value;

        public long compareAndSwap(long expected, long desired) {
            long old = value;
            if (old == expected) {
                value = desired;
            }
            return old;
        }

        public long fetchAndAdd(long delta) {
            long old = value;
            value += delta;
            return old;
        }

        public long read() {
            return value;
        }
    }
}
