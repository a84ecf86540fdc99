package io.rolexkv.common.fabric.rdma;

import io.rolexkv.common.fabric.FabricLimits;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class RdmaSettingsTest {

    @Test
    void badSettingsAreRefusedNamingTheSettingAndItsRange() {
        RdmaSettings defaults = RdmaSettings.DEFAULT;
        IllegalArgumentException chunk = assertThrows(IllegalArgumentException.class,
                () -> defaults.withRegistrationChunkShift(31));
        assertEquals(RdmaSettings.REGISTRATION_CHUNK_SHIFT_PROP_NAME + "=31 allowed=[12,30]", chunk.getMessage());

        IllegalArgumentException slot = assertThrows(IllegalArgumentException.class, () -> defaults.withStaging(4, 100));
        assertTrue(slot.getMessage().startsWith(RdmaSettings.STAGING_SLOT_BYTES_PROP_NAME + "=100"), slot.getMessage());

        IllegalArgumentException completions = assertThrows(IllegalArgumentException.class, () -> new RdmaSettings(
                4096, 1024, 16, 4096, 30, 1000, false));
        assertTrue(completions.getMessage().startsWith(RdmaSettings.COMPLETION_QUEUE_SIZE_PROP_NAME + "=1024"),
                completions.getMessage());
    }

    @Test
    void theSendQueueFitsTheLargestBatchTheLimitsAllow() {
        assertEquals(RdmaSettings.DEFAULT, RdmaSettings.forLimits(FabricLimits.DEFAULT));

        RdmaSettings large = RdmaSettings.forLimits(new FabricLimits(10_000, 1 << 20));

        assertEquals(10_000, large.sendQueueDepth());
        assertTrue(large.completionQueueSize() >= large.sendQueueDepth());
    }
}
