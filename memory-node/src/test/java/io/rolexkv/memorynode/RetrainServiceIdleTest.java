package io.rolexkv.memorynode;

import io.rolexkv.common.fabric.DoorbellBatch;
import io.rolexkv.common.fabric.FabricLimits;
import io.rolexkv.common.fabric.GlobalAddress;
import io.rolexkv.common.fabric.RegisteredMemory;
import io.rolexkv.common.fabric.VerbExecutor;
import io.rolexkv.rolex.index.IndexLayout;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.util.function.BooleanSupplier;

import static org.junit.jupiter.api.Assertions.assertEquals;

/** The retrainer does not scan the synonym tables again while no verb has written since its last idle pass. */
@Timeout(60)
class RetrainServiceIdleTest {

    private static RegisteredMemory indexRegions() {
        RegisteredMemory memory = new RegisteredMemory(0);
        memory.allocate(IndexLayout.META_REGION, 4096);
        memory.allocate(IndexLayout.LEAVES_REGION, 1 << 20);
        memory.allocate(IndexLayout.TABLES_REGION, 1 << 20);
        memory.allocate(IndexLayout.MODELS_REGION, 1 << 20);
        return memory;
    }

    @Test
    void passesAreSkippedWhileNothingIsWrittenAndResumeAfterAWrite() throws InterruptedException {
        try (RegisteredMemory memory = indexRegions();
             RetrainService service = new RetrainService(memory, FabricLimits.DEFAULT, RetrainSettings.DEFAULT)) {
            await(() -> service.passesSkipped() >= 20);
            long run = service.passesRun();
            await(() -> service.passesSkipped() >= 40);
            assertEquals(run, service.passesRun(), "passes ran although nothing was written");

            DoorbellBatch write = new DoorbellBatch();
            write.writeLong(GlobalAddress.of(0, memory.regions().get(1).id(), 0), 42);
            VerbExecutor.execute(memory, FabricLimits.DEFAULT, write);
            await(() -> service.passesRun() > run);
        }
    }

    @Test
    void everyPassRunsWhenANicMayWriteTheMemory() throws InterruptedException {
        try (RegisteredMemory memory = indexRegions()) {
            memory.markWrittenBeyondCpu();
            try (RetrainService service = new RetrainService(memory, FabricLimits.DEFAULT, RetrainSettings.DEFAULT)) {
                await(() -> service.passesRun() >= 10);
                assertEquals(0, service.passesSkipped());
            }
        }
    }

    private static void await(BooleanSupplier condition) throws InterruptedException {
        while (!condition.getAsBoolean()) {
            Thread.sleep(1); // bounded by the class timeout
        }
    }
}
