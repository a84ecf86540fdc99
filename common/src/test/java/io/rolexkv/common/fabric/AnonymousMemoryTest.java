package io.rolexkv.common.fabric;

import org.junit.jupiter.api.Test;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.Locale;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Regions read as zero, are page aligned and take atomics wherever their memory comes from. */
class AnonymousMemoryTest {

    @Test
    void onLinuxRegionsComeFromTheKernel() {
        String os = System.getProperty("os.name").toLowerCase(Locale.ROOT);
        String arch = System.getProperty("os.arch").toLowerCase(Locale.ROOT);
        if (os.equals("linux") && (arch.equals("amd64") || arch.equals("aarch64"))) {
            assertTrue(AnonymousMemory.fromKernel(), "mmap should be reachable with native access enabled");
        }
    }

    @Test
    void aLargeRegionReadsZeroEverywhereAndKeepsWhatIsWritten() {
        long bytes = 1L << 30; // a gigabyte: cheap only because untouched pages cost nothing
        try (Arena arena = Arena.ofShared()) {
            MemorySegment region = AnonymousMemory.allocate(arena, bytes, RegisteredMemory.REGION_ALIGNMENT);
            assertEquals(bytes, region.byteSize());
            assertEquals(0, region.address() % RegisteredMemory.REGION_ALIGNMENT);
            for (long offset = 0; offset < bytes; offset += bytes / 64) {
                assertEquals(0L, region.get(ValueLayout.JAVA_LONG, offset), "offset=" + offset);
            }
            assertEquals(0L, region.get(ValueLayout.JAVA_LONG, bytes - 8));
            region.set(ValueLayout.JAVA_LONG, bytes - 8, 42L);
            assertEquals(42L, ValueLayout.JAVA_LONG.varHandle().getAndAdd(region, bytes - 8, 1L));
            assertEquals(43L, region.get(ValueLayout.JAVA_LONG, bytes - 8));
        }
    }

    @Test
    void anEmptyRegionHasNoBytes() {
        try (Arena arena = Arena.ofShared()) {
            assertEquals(0, AnonymousMemory.allocate(arena, 0, RegisteredMemory.REGION_ALIGNMENT).byteSize());
        }
    }
}
