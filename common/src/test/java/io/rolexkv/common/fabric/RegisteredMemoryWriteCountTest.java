package io.rolexkv.common.fabric;

import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

/** The count of batches that changed memory, which lets background work sleep while verbs only read. */
class RegisteredMemoryWriteCountTest {

    @Test
    void onlyAppliedBatchesThatWriteAreCounted() {
        try (RegisteredMemory memory = new RegisteredMemory(0)) {
            int region = memory.allocate("r", 4096).id();
            long word = GlobalAddress.of(0, region, 64);
            assertEquals(0, memory.writeBatches());

            DoorbellBatch reads = new DoorbellBatch();
            reads.read(word, 64);
            reads.read(word, 8);
            VerbExecutor.execute(memory, FabricLimits.DEFAULT, reads);
            assertEquals(0, memory.writeBatches(), "a batch of READs changes nothing");

            DoorbellBatch mixed = new DoorbellBatch();
            mixed.read(word, 8);
            mixed.writeLong(word, 7);
            mixed.write(word + 8, new byte[16]);
            VerbExecutor.execute(memory, FabricLimits.DEFAULT, mixed);
            assertEquals(1, memory.writeBatches(), "one batch, however many WRITEs");

            DoorbellBatch cas = new DoorbellBatch();
            cas.compareAndSwap(word, 7, 8);
            VerbExecutor.execute(memory, FabricLimits.DEFAULT, cas);
            DoorbellBatch faa = new DoorbellBatch();
            faa.fetchAndAdd(word, 1);
            VerbExecutor.execute(memory, FabricLimits.DEFAULT, faa);
            assertEquals(3, memory.writeBatches());

            DoorbellBatch refused = new DoorbellBatch();
            refused.writeLong(word, 1);
            refused.read(GlobalAddress.of(0, region, 4096), 8); // out of bounds: the whole batch is refused
            assertThrows(VerbRejectedException.class, () -> VerbExecutor.execute(memory, FabricLimits.DEFAULT, refused));
            assertEquals(3, memory.writeBatches(), "a refused batch wrote nothing");
        }
    }

    @Test
    void memoryANicMayWriteReportsItsWritesAsUntracked() {
        try (RegisteredMemory memory = new RegisteredMemory(0)) {
            int region = memory.allocate("r", 4096).id();
            DoorbellBatch write = new DoorbellBatch();
            write.writeLong(GlobalAddress.of(0, region, 0), 1);
            VerbExecutor.execute(memory, FabricLimits.DEFAULT, write);
            memory.markWrittenBeyondCpu();
            assertEquals(RegisteredMemory.WRITES_UNTRACKED, memory.writeBatches());
            VerbExecutor.execute(memory, FabricLimits.DEFAULT, write);
            assertEquals(RegisteredMemory.WRITES_UNTRACKED, memory.writeBatches());
        }
    }
}
