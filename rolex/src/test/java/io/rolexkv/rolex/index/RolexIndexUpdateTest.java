package io.rolexkv.rolex.index;

import io.rolexkv.common.fabric.DoorbellBatch;
import io.rolexkv.common.fabric.FabricConnection;
import io.rolexkv.common.fabric.FabricCounters;
import io.rolexkv.common.fabric.GlobalAddress;
import io.rolexkv.common.fabric.WordOrder;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.util.ArrayList;
import java.util.List;
import java.util.OptionalLong;
import java.util.concurrent.CopyOnWriteArrayList;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The engine's hooks: locked read-modify-write, extra verbs in the first doorbell, the previous word returned. */
@Timeout(60)
class RolexIndexUpdateTest {

    @Test
    void concurrentIncrementsThroughUpdateAreExact() throws Exception {
        long[] keys = {10, 20, 30};
        int threads = 4;
        int incrementsPerThread = 300;
        try (IndexFixture fixture = new IndexFixture("loopback", 8L << 20)) {
            RolexIndex.bulkLoad(fixture.connect(), IndexGeometry.of(8, 0.75, 2), keys, new long[keys.length]);
            List<Throwable> failures = new CopyOnWriteArrayList<>();
            List<Thread> workers = new ArrayList<>();
            for (int t = 0; t < threads; t++) {
                RolexIndex index = RolexIndex.open(fixture.connect());
                workers.add(Thread.ofVirtual().start(() -> {
                    try {
                        for (int i = 0; i < incrementsPerThread; i++) {
                            long key = keys[i % keys.length];
                            index.update(key, (current, finalDoorbell) -> OptionalLong.of(current.orElse(0) + 1));
                        }
                    } catch (Throwable e) {
                        failures.add(e);
                    }
                }));
            }
            for (Thread worker : workers) {
                worker.join();
            }
            assertTrue(failures.isEmpty(), () -> "failures: " + failures);
            RolexIndex check = RolexIndex.open(fixture.connect());
            long total = 0;
            for (long key : keys) {
                total += check.get(key).orElseThrow();
            }
            assertEquals((long) threads * incrementsPerThread, total);
        }
    }

    @Test
    void extrasRunInTheFirstDoorbellAndTheFinalDoorbellRunsBeforeTheUnlock() {
        try (IndexFixture fixture = new IndexFixture("loopback", 8L << 20)) {
            FabricConnection connection = fixture.connect();
            RolexIndex index = RolexIndex.bulkLoad(connection, IndexGeometry.DEFAULT, new long[] {1, 2, 3}, new long[] {11, 12, 13});
            long scratch = GlobalAddress.of(0, connection.region(IndexLayout.META_REGION).id(), 2048);
            FabricCounters.Snapshot before = connection.counters().snapshot();
            WriteResult put = index.put(2, 99, batch -> batch.writeLong(scratch, 0xABCD));
            assertEquals(2, connection.counters().snapshot().minus(before).doorbells(), "extras ride the first doorbell");
            assertEquals(OptionalLong.of(12), put.previous());
            assertEquals(0xABCD, WordOrder.getLong(fixture.memory.segment(IndexLayout.META_REGION), 2048));

            before = connection.counters().snapshot();
            WriteResult updated = index.update(3, (current, finalDoorbell) -> {
                DoorbellBatch read = new DoorbellBatch();
                read.read(scratch, 8);
                connection.execute(read); // a doorbell of its own while the lock is held, as for a value block
                finalDoorbell.writeLong(scratch, current.getAsLong());
                return OptionalLong.of(current.getAsLong() + 1);
            });
            assertEquals(3, connection.counters().snapshot().minus(before).doorbells(), "lock+read, value read, write+unlock");
            assertEquals(OptionalLong.of(13), updated.previous());
            assertEquals(OptionalLong.of(14), index.get(3));
            assertEquals(13, WordOrder.getLong(fixture.memory.segment(IndexLayout.META_REGION), 2048));
            assertEquals(OptionalLong.of(11), index.remove(1));
            assertEquals(OptionalLong.empty(), index.remove(1));
        }
    }
}
