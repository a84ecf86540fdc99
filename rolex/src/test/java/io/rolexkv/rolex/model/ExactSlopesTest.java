package io.rolexkv.rolex.model;

import org.junit.jupiter.api.Test;

import java.math.BigInteger;
import java.util.SplittableRandom;

import static org.junit.jupiter.api.Assertions.assertEquals;

class ExactSlopesTest {
    private static final long[] EDGE_RUNS = {1, 2, 3, Long.MAX_VALUE, Long.MIN_VALUE, -1L, -2L, 1L << 32,
        (1L << 32) - 1, 0x8000_0000_0000_0001L};
    private static final long[] EDGE_RISES = {0, 1, -1, 2, -2, (1L << 62) - 1, -(1L << 62) + 1, 1L << 31,
        -(1L << 31), 123_456_789L};

    @Test
    void agreesWithBigIntegerOnEdgeValues() {
        for (long runA : EDGE_RUNS) {
            for (long riseA : EDGE_RISES) {
                for (long runB : EDGE_RUNS) {
                    for (long riseB : EDGE_RISES) {
                        assertAgrees(runA, riseA, runB, riseB);
                    }
                }
            }
        }
    }

    @Test
    void agreesWithBigIntegerOnRandomValues() {
        SplittableRandom random = new SplittableRandom(3);
        for (int i = 0; i < 200_000; i++) {
            long runA = positiveRun(random);
            long runB = positiveRun(random);
            long riseA = random.nextLong() >> (1 + random.nextInt(63));
            long riseB = random.nextInt(4) == 0 ? riseA : random.nextLong() >> (1 + random.nextInt(63));
            assertAgrees(runA, riseA, runB, riseB);
            // Equal slopes written differently: k*rise / k*run.
            long scale = 1 + random.nextInt(1000);
            if (Long.compareUnsigned(runA, Long.divideUnsigned(-1L, scale)) <= 0
                && Math.abs(riseA) <= Long.MAX_VALUE / scale) {
                assertEquals(0, ExactSlopes.compare(runA, riseA, runA * scale, riseA * scale));
            }
        }
    }

    private static long positiveRun(SplittableRandom random) {
        long run = random.nextLong() >>> random.nextInt(64);
        return run == 0 ? 1 : run;
    }

    private static void assertAgrees(long runA, long riseA, long runB, long riseB) {
        BigInteger left = BigInteger.valueOf(riseA).multiply(unsigned(runB));
        BigInteger right = BigInteger.valueOf(riseB).multiply(unsigned(runA));
        int expected = Integer.signum(left.compareTo(right));
        assertEquals(expected, Integer.signum(ExactSlopes.compare(runA, riseA, runB, riseB)),
            () -> "runA=" + Long.toUnsignedString(runA) + " riseA=" + riseA + " runB=" + Long.toUnsignedString(runB)
                + " riseB=" + riseB);
    }

    private static BigInteger unsigned(long value) {
        return new BigInteger(Long.toUnsignedString(value));
    }
}
