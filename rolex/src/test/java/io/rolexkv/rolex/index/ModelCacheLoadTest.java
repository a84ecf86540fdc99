package io.rolexkv.rolex.index;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.util.OptionalLong;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Opening an index whose tables take several doorbells to read: every model gets its own tables. */
@Timeout(60)
class ModelCacheLoadTest {

    @Test
    void anIndexWithThousandsOfModelsOpensWithEveryModelsTables() {
        Random random = new Random(17);
        long[] keys = new long[40_000];
        long cursor = 0;
        for (int i = 0; i < keys.length; i++) {
            cursor += 1 + (random.nextInt(4) == 0 ? random.nextInt(1_000_000) : random.nextInt(10)); // jagged: many models
            keys[i] = cursor;
        }
        try (IndexFixture fixture = new IndexFixture("loopback", 64L << 20)) {
            RolexIndex loaded = RolexIndex.bulkLoad(fixture.connect(), IndexGeometry.of(8, 0.75, 1), keys, keys.clone());
            assertTrue(loaded.cache().modelCount() > 1_000, "models=" + loaded.cache().modelCount());
            RolexIndex opened = RolexIndex.open(fixture.connect());
            assertEquals(loaded.cache().modelCount(), opened.cache().modelCount());
            OptionalLong[] values = opened.getAll(keys);
            for (int i = 0; i < keys.length; i++) {
                assertEquals(OptionalLong.of(keys[i]), values[i], "key " + keys[i]);
            }
        }
    }
}
