package io.rolexkv.common.background;

import org.junit.jupiter.api.Test;

import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class BackgroundLoopTest {

    @Test
    void aFailingPassIsCountedAndTheLoopGoesOn() throws InterruptedException {
        AtomicInteger passes = new AtomicInteger();
        CountDownLatch afterFailures = new CountDownLatch(1);
        try (BackgroundLoop loop = BackgroundLoop.start("test-failing-loop", () -> {
            int pass = passes.incrementAndGet();
            if (pass <= 3) {
                throw new IllegalStateException("pass " + pass + " fails on purpose");
            }
            afterFailures.countDown();
            return false;
        }, 1, 1)) {
            assertTrue(afterFailures.await(10, TimeUnit.SECONDS), "the loop stopped after a failing pass");
            assertEquals(3, loop.failures());
        }
    }

    @Test
    void aPassThatFoundWorkIsFollowedAtOnceAndCloseStopsTheLoop() throws InterruptedException {
        AtomicInteger passes = new AtomicInteger();
        CountDownLatch busy = new CountDownLatch(100);
        BackgroundLoop loop = BackgroundLoop.start("test-busy-loop", () -> {
            passes.incrementAndGet();
            busy.countDown();
            return true;
        }, 60_000, 60_000);
        // With an idle pause of a minute, 100 passes within seconds means work is followed without a pause.
        assertTrue(busy.await(10, TimeUnit.SECONDS));
        loop.close();
        int stopped = passes.get();
        Thread.sleep(50);
        assertEquals(stopped, passes.get(), "passes ran after close");
        assertEquals(0, loop.failures());
    }

    @Test
    void pausesMustBePositive() {
        assertThrows(IllegalArgumentException.class, () -> BackgroundLoop.start("bad", () -> false, 0, 1));
    }
}
