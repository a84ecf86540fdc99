package io.rolexkv.common.fabric;

import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.MethodHandle;
import java.util.Locale;
import java.util.Set;

/**
 * Zeroed anonymous memory for a memory node's regions. Where the JVM may call the C library (Linux on x86-64 or
 * AArch64, native access enabled) it maps pages from the kernel ({@code mmap}), which are zero when first touched: a
 * region costs nothing when it is registered, and pages the index never reaches are never zeroed nor committed. A
 * node registers far more than it fills at first (about 130 MB for 200,000 records), and zeroing all of it up front
 * was a sizeable part of a short benchmark's memory-node CPU, which the RPC server (allocating as it goes) never paid.
 * Elsewhere, or if the kernel refuses, the memory comes from the arena, zeroed at once; both read the same.
 */
final class AnonymousMemory {
    private static final int PROT_READ = 0x1;
    private static final int PROT_WRITE = 0x2;
    private static final int MAP_PRIVATE = 0x02;
    /** Linux's value on the architectures named in {@link #KERNEL_ARCHITECTURES}. */
    private static final int MAP_ANONYMOUS = 0x20;
    private static final long MAP_FAILED = -1L;
    private static final Set<String> KERNEL_ARCHITECTURES = Set.of("amd64", "x86_64", "aarch64");

    private static final MethodHandle MMAP;
    private static final MethodHandle MUNMAP;

    static {
        MethodHandle mmap = null;
        MethodHandle munmap = null;
        String os = System.getProperty("os.name", "").toLowerCase(Locale.ROOT);
        String arch = System.getProperty("os.arch", "").toLowerCase(Locale.ROOT);
        if (os.equals("linux") && KERNEL_ARCHITECTURES.contains(arch)) {
            try {
                Linker linker = Linker.nativeLinker();
                mmap = linker.downcallHandle(linker.defaultLookup().find("mmap").orElseThrow(),
                        FunctionDescriptor.of(ValueLayout.JAVA_LONG, ValueLayout.JAVA_LONG, ValueLayout.JAVA_LONG,
                                ValueLayout.JAVA_INT, ValueLayout.JAVA_INT, ValueLayout.JAVA_INT, ValueLayout.JAVA_LONG));
                munmap = linker.downcallHandle(linker.defaultLookup().find("munmap").orElseThrow(),
                        FunctionDescriptor.of(ValueLayout.JAVA_INT, ValueLayout.JAVA_LONG, ValueLayout.JAVA_LONG));
            } catch (RuntimeException | LinkageError unavailable) {
                // Native access denied or no such symbol: the arena's zeroed memory serves instead.
                mmap = null;
                munmap = null;
            }
        }
        MMAP = mmap;
        MUNMAP = munmap;
    }

    private AnonymousMemory() {
    }

    /** Whether regions come from the kernel, zeroed lazily, on this JVM. */
    static boolean fromKernel() {
        return MMAP != null;
    }

    /**
     * {@code bytes} of zeroed memory aligned to at least {@code alignment} (a page at most), freed when {@code arena}
     * closes.
     */
    static MemorySegment allocate(Arena arena, long bytes, long alignment) {
        long size = Math.max(bytes, 1);
        if (MMAP != null) {
            long address = map(size);
            if (address != MAP_FAILED && address % alignment == 0) {
                return MemorySegment.ofAddress(address).reinterpret(size, arena, unused -> unmap(address, size))
                        .asSlice(0, bytes);
            }
            if (address != MAP_FAILED) {
                unmap(address, size);
            }
        }
        return arena.allocate(size, alignment).asSlice(0, bytes);
    }

    private static long map(long size) {
        try {
            return (long) MMAP.invokeExact(0L, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0L);
        } catch (Throwable e) {
            return MAP_FAILED;
        }
    }

    private static void unmap(long address, long size) {
        try {
            int ignored = (int) MUNMAP.invokeExact(address, size);
        } catch (Throwable e) {
            // Nothing to do: the process keeps the pages until it ends.
        }
    }
}
