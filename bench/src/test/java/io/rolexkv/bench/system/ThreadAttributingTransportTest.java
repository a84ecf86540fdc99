package io.rolexkv.bench.system;

import io.rolexkv.common.fabric.DoorbellBatch;
import io.rolexkv.common.fabric.FabricConnection;
import io.rolexkv.common.fabric.FabricCounters;
import io.rolexkv.common.fabric.FabricServer;
import io.rolexkv.common.fabric.GlobalAddress;
import io.rolexkv.common.fabric.RegionInfo;
import io.rolexkv.common.fabric.RegisteredMemory;
import io.rolexkv.common.fabric.loopback.LoopbackTransport;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

@Timeout(value = 30, unit = TimeUnit.SECONDS)
class ThreadAttributingTransportTest {

    @Test
    void eachThreadIsChargedWithExactlyWhatItPostedOnASharedConnection() throws Exception {
        FabricCounters totals = new FabricCounters();
        try (RegisteredMemory memory = new RegisteredMemory(3);
             ThreadAttributingTransport transport = new ThreadAttributingTransport(new LoopbackTransport())) {
            RegionInfo region = memory.allocate("data", 1 << 16);
            try (FabricServer server = transport.serve(memory, "attributed-node");
                 FabricConnection connection = transport.connect(server.endpoint(), totals)) {
                long base = GlobalAddress.of(3, region.id(), 0);
                int threads = 4;
                ConcurrentHashMap<Integer, FabricCounters.Snapshot> charged = new ConcurrentHashMap<>();
                CountDownLatch start = new CountDownLatch(1);
                Thread[] workers = new Thread[threads];
                for (int t = 0; t < threads; t++) {
                    int id = t;
                    workers[t] = new Thread(() -> {
                        try {
                            start.await();
                        } catch (InterruptedException e) {
                            Thread.currentThread().interrupt();
                            return;
                        }
                        FabricCounters.Snapshot before = transport.callingThreadTotals();
                        // Thread t posts t + 1 doorbells, each a 64-byte READ and an 8-byte WRITE of its own slot.
                        for (int i = 0; i <= id; i++) {
                            DoorbellBatch batch = new DoorbellBatch();
                            batch.read(base + id * 64L, 64);
                            batch.writeLong(base + 4096 + id * 8L, i);
                            connection.execute(batch);
                        }
                        connection.execute(new DoorbellBatch());
                        charged.put(id, transport.callingThreadTotals().minus(before));
                    });
                    workers[t].start();
                }
                start.countDown();
                for (Thread worker : workers) {
                    worker.join(20_000);
                }
                long doorbells = 0;
                for (int t = 0; t < threads; t++) {
                    FabricCounters.Snapshot cost = charged.get(t);
                    assertEquals(new FabricCounters.Snapshot(t + 1, t + 1, t + 1, 0, 0, 64L * (t + 1), 8L * (t + 1)),
                            cost, "thread " + t);
                    doorbells += cost.doorbells();
                }
                assertEquals(doorbells, totals.snapshot().doorbells(), "the connection's own totals are untouched");
                assertEquals(doorbells, connection.counters().snapshot().doorbells());
                assertEquals(FabricCounters.Snapshot.ZERO, transport.callingThreadTotals(),
                        "the test thread posted nothing");
                assertTrue(connection.isOpen());
                assertEquals("loopback", transport.name());
            }
        }
    }
}
