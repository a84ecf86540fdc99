package io.rolexkv.common.fabric.fault;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.function.Executable;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class FaultPlanTest {

    @Test
    void noneInjectsNothing() {
        assertFalse(FaultPlan.NONE.addsLatency());
        assertFalse(FaultPlan.NONE.tearsWrites());
        assertFalse(FaultPlan.NONE.dropsAfterBatches());
        assertEquals(FaultPlan.SEED_DEFAULT, FaultPlan.NONE.seed());
    }

    @Test
    void builderSetsEveryFault() {
        FaultPlan plan = FaultPlan.builder().seed(9).latencyMicros(10, 20).tearWrites(0.5, 6, 30).dropAfterBatches(0)
                .build();
        assertEquals(new FaultPlan(9, 10, 20, 0.5, 6, 30, 0), plan);
        assertTrue(plan.addsLatency() && plan.tearsWrites() && plan.dropsAfterBatches());
        assertEquals(new FaultPlan(1, 10, 20, 0.5, 6, 30, 0), plan.withSeed(1));
        assertEquals(FaultPlan.builder().latencyMicros(7, 7).build(), FaultPlan.builder().fixedLatencyMicros(7).build());
        assertEquals(FaultPlan.builder().latencyMicros(0, 7).build(), FaultPlan.builder().randomLatencyMicros(7).build());
    }

    @Test
    void badSettingsAreRefusedNamingTheSetting() {
        assertRefused("min_latency_micros=-1", () -> FaultPlan.builder().latencyMicros(-1, 5).build());
        assertRefused("max_latency_micros=3", () -> FaultPlan.builder().latencyMicros(5, 3).build());
        assertRefused("max_latency_micros=2000000", () -> FaultPlan.builder().latencyMicros(0, 2_000_000).build());
        assertRefused("tear_probability=1.5", () -> FaultPlan.builder().tearWrites(1.5, 4, 0).build());
        assertRefused("tear_probability=NaN", () -> FaultPlan.builder().tearWrites(Double.NaN, 4, 0).build());
        assertRefused("max_tear_pieces=1", () -> FaultPlan.builder().tearWrites(1, 1, 0).build());
        assertRefused("max_tear_pause_micros=-5", () -> FaultPlan.builder().tearWrites(1, 4, -5).build());
        assertRefused("drop_after_batches=-2", () -> FaultPlan.builder().dropAfterBatches(-2).build());
    }

    private static void assertRefused(String expectedPart, Executable build) {
        IllegalArgumentException refused = assertThrows(IllegalArgumentException.class, build);
        assertTrue(refused.getMessage().contains(expectedPart), refused.getMessage());
    }
}
