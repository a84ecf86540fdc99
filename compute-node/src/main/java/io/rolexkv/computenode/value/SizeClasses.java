package io.rolexkv.computenode.value;

/**
 * The sizes value blocks come in. A block is rounded up to its class so a reclaimed block can serve any later value of
 * the same class; classes are fine enough that the rounding wastes at most 1/8 of a block.
 *
 * <pre>
 *   up to 256 bytes:   every multiple of 16            16, 32, 48, ..., 256
 *   above, per power   8 steps between p and 2p        288, 320, ..., 512, 576, 640, ..., 1024, 1152, ...
 *   of two p >= 256:
 * </pre>
 *
 * Pure functions of a size: every compute node computes the same class for the same value length, so whichever
 * node retires a block files it under the class its handle's length implies.
 */
public final class SizeClasses {
    /** The smallest class: a header and at least one byte, rounded to the block alignment. */
    public static final int MIN_CLASS_BYTES = ValueBlockDescriptor.HEADER_BYTES + ValueWord.BLOCK_ALIGNMENT;
    private static final int EXACT_UP_TO = 256;
    private static final int STEPS_PER_DOUBLING = 8;

    private SizeClasses() {
    }

    /** The class of a block of {@code blockBytes} (a multiple of the block alignment): the smallest class that fits. */
    public static int classBytes(int blockBytes) {
        checkBlockBytes(blockBytes);
        if (blockBytes <= EXACT_UP_TO) {
            return blockBytes;
        }
        int power = Integer.highestOneBit(blockBytes - 1);
        int step = power / STEPS_PER_DOUBLING;
        return (blockBytes + step - 1) / step * step;
    }

    /** The class of the block that holds a value of {@code length} bytes. */
    public static int classOfValue(int length) {
        return classBytes(ValueBlockDescriptor.blockBytes(length));
    }

    /** The largest class no bigger than {@code bytes}, or 0 if even the smallest is bigger. */
    public static int largestClassWithin(long bytes) {
        if (bytes < ValueWord.BLOCK_ALIGNMENT) {
            return 0;
        }
        if (bytes <= EXACT_UP_TO) {
            return (int) bytes / ValueWord.BLOCK_ALIGNMENT * ValueWord.BLOCK_ALIGNMENT;
        }
        int clamped = (int) Math.min(bytes, 1 << 30);
        int power = Integer.highestOneBit(clamped);
        int step = power / STEPS_PER_DOUBLING;
        return power + (clamped - power) / step * step;
    }

    private static void checkBlockBytes(int blockBytes) {
        if (blockBytes < ValueWord.BLOCK_ALIGNMENT || blockBytes % ValueWord.BLOCK_ALIGNMENT != 0) {
            throw new IllegalArgumentException("block bytes=" + blockBytes + " must be a positive multiple of "
                    + ValueWord.BLOCK_ALIGNMENT);
        }
    }
}
