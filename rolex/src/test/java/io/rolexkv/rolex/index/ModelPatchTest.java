package io.rolexkv.rolex.index;

import org.junit.jupiter.api.Test;

import java.lang.foreign.MemorySegment;
import java.util.ArrayList;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;

/** A model set patch: round trip, what it changes, and every way a read of it can be bad, refused. */
class ModelPatchTest {
    private static LeanModel model(long lowKey) {
        return new LeanModel(lowKey, lowKey, 0.5, 0, 64, lowKey * 4096, 32, 3);
    }

    private static List<LeanModel> models(long... lowKeys) {
        List<LeanModel> models = new ArrayList<>();
        for (long lowKey : lowKeys) {
            models.add(model(lowKey));
        }
        return models;
    }

    private static final ModelPatch PATCH = new ModelPatch(7, new int[] {1, 4}, new int[] {2, 1}, new int[] {1, 3},
            models(15, 40, 41, 42));

    @Test
    void aPatchReplacesItsRunsAndLeavesTheRest() {
        List<LeanModel> before = models(0, 10, 20, 30, 40, 50);
        ModelPatch read = ModelPatch.decode(MemorySegment.ofArray(PATCH.encode()), 7);
        assertEquals(models(0, 15, 30, 40, 41, 42, 50), read.applyTo(before));
    }

    @Test
    void aPatchOfAnotherEpochOrDamagedIsRefused() {
        byte[] encoded = PATCH.encode();
        assertNull(ModelPatch.decode(MemorySegment.ofArray(encoded), 8), "another epoch's slot");
        for (int offset : new int[] {0, 4, 24, 30, encoded.length - 1}) {
            byte[] damaged = encoded.clone();
            damaged[offset] ^= 0x10;
            assertNull(ModelPatch.decode(MemorySegment.ofArray(damaged), 7), "a flipped bit at byte " + offset);
        }
        assertNull(ModelPatch.decode(MemorySegment.ofArray(new byte[encoded.length]), 7), "zeroes");
        assertNull(ModelPatch.decode(MemorySegment.ofArray(encoded).asSlice(0, encoded.length - 8), 7), "cut short");
    }

    @Test
    void aPatchThatDoesNotFitTheSetItIsAppliedToIsRefused() {
        assertNull(PATCH.applyTo(models(0, 10, 20, 30)), "runs past the end of a shorter set");
    }
}
