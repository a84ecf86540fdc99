package io.rolexkv.bench.ycsb;

import io.rolexkv.common.fabric.FabricCounters;
import org.junit.jupiter.api.Test;

import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

class ThreadOperationRecorderTest {
    private static FabricCounters.Snapshot cost(long doorbells, long bytesRead, long bytesWritten) {
        return new FabricCounters.Snapshot(doorbells, doorbells, 0, 0, 0, bytesRead, bytesWritten);
    }

    @Test
    void aCompoundSumsItsPartsAndEndsAsTheWorstOfThem() {
        OperationStatistics statistics = new OperationStatistics();
        ThreadOperationRecorder recorder = statistics.recorderForCurrentThread();
        recorder.beginCompound();
        recorder.record(OperationType.READ, OperationOutcome.OK, 2_000, cost(1, 1024, 0));
        recorder.record(OperationType.UPDATE, OperationOutcome.OK, 3_000, cost(2, 1024, 1040));
        recorder.endCompound(OperationType.READ_MODIFY_WRITE);
        recorder.beginCompound();
        recorder.record(OperationType.READ, OperationOutcome.NOT_FOUND, 1_000, cost(1, 1024, 0));
        recorder.endCompound(OperationType.READ_MODIFY_WRITE);
        recorder.beginCompound();
        recorder.endCompound(OperationType.READ_MODIFY_WRITE);

        Map<OperationType, OperationFigures> figures = statistics.figures();
        OperationFigures compound = figures.get(OperationType.READ_MODIFY_WRITE);
        assertEquals(2, compound.count(), "a compound without parts is not an operation");
        assertEquals(1, compound.notFound());
        assertEquals(2.0, compound.roundTripsPerOp());
        assertEquals(1536.0, compound.bytesReadPerOp());
        assertEquals(520.0, compound.bytesWrittenPerOp());
        assertEquals(5.0, compound.p99Micros(), 0.01);
        assertEquals(2, figures.get(OperationType.READ).count(), "the parts count as themselves too");
        assertEquals(1, figures.get(OperationType.UPDATE).count());
    }

    @Test
    void compoundsDoNotNest() {
        ThreadOperationRecorder recorder = new OperationStatistics().recorderForCurrentThread();
        assertThrows(IllegalStateException.class, () -> recorder.endCompound(OperationType.READ_MODIFY_WRITE));
        recorder.beginCompound();
        assertThrows(IllegalStateException.class, recorder::beginCompound);
    }

    @Test
    void threadsGetTheirOwnRecordersAndFiguresMergeThem() throws InterruptedException {
        OperationStatistics statistics = new OperationStatistics();
        Thread[] threads = new Thread[3];
        for (int t = 0; t < threads.length; t++) {
            int operations = 100 * (t + 1);
            threads[t] = new Thread(() -> {
                ThreadOperationRecorder recorder = statistics.recorderForCurrentThread();
                for (int i = 0; i < operations; i++) {
                    recorder.record(OperationType.SCAN, OperationOutcome.OK, 10_000, cost(3, 4096, 0));
                }
            });
            threads[t].start();
        }
        for (Thread thread : threads) {
            thread.join(10_000);
        }
        OperationFigures scans = statistics.figures().get(OperationType.SCAN);
        assertEquals(600, scans.count());
        assertEquals(3.0, scans.roundTripsPerOp());
        assertEquals(10.0, scans.p50Micros(), 0.01);
    }
}
