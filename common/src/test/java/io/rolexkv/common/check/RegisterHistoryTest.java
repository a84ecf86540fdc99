package io.rolexkv.common.check;

import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.OptionalLong;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The linearizability check on histories whose verdict is known: sequential ones, overlapping ones that admit an
 * order, and the classic anomalies (a stale read, a value never written, a lost update, reads that disagree on the
 * order of two writes), with and without writes of unknown outcome.
 */
class RegisterHistoryTest {
    private static final long KEY = 42;

    /** Builds one key's history from explicit times: {@code [call, response]} per operation. */
    private static final class Builder {
        final List<RegisterHistory.Operation> operations = new ArrayList<>();

        Builder get(long call, long response, Long result) {
            operations.add(new RegisterHistory.Operation(KEY, call, response, false, OptionalLong.empty(), true,
                    optional(result), "c"));
            return this;
        }

        Builder put(long call, long response, long value, Long previous) {
            operations.add(new RegisterHistory.Operation(KEY, call, response, true, OptionalLong.of(value), true,
                    optional(previous), "c"));
            return this;
        }

        Builder blindPut(long call, long response, long value) {
            operations.add(new RegisterHistory.Operation(KEY, call, response, true, OptionalLong.of(value), false,
                    OptionalLong.empty(), "c"));
            return this;
        }

        Builder unknownPut(long call, long value) {
            operations.add(new RegisterHistory.Operation(KEY, call, RegisterHistory.NEVER, true, OptionalLong.of(value),
                    false, OptionalLong.empty(), "c"));
            return this;
        }

        boolean linearizable() {
            return RegisterHistory.linearizable(operations, OptionalLong.empty());
        }

        private static OptionalLong optional(Long value) {
            return value == null ? OptionalLong.empty() : OptionalLong.of(value);
        }
    }

    @Test
    void aSequentialHistoryIsLinearizable() {
        assertTrue(new Builder().get(1, 2, null).put(3, 4, 7, null).get(5, 6, 7L).put(7, 8, 9, 7L).get(9, 10, 9L)
                .linearizable());
    }

    @Test
    void aReadOverlappingAWriteMaySeeEitherValue() {
        assertTrue(new Builder().put(1, 2, 1, null).blindPut(3, 6, 2).get(4, 5, 1L).linearizable());
        assertTrue(new Builder().put(1, 2, 1, null).blindPut(3, 6, 2).get(4, 5, 2L).linearizable());
    }

    @Test
    void aStaleReadAfterAWriteRespondedIsCaught() {
        assertFalse(new Builder().put(1, 2, 1, null).put(3, 4, 2, 1L).get(5, 6, 1L).linearizable());
    }

    @Test
    void aValueNeverWrittenIsCaught() {
        assertFalse(new Builder().put(1, 2, 1, null).get(3, 4, 5L).linearizable());
    }

    @Test
    void twoSwapsThatSawTheSamePreviousValueAreALostUpdate() {
        // Both overlap, both claim to have replaced 1: one of them must have replaced the other's value.
        assertFalse(new Builder().put(1, 2, 1, null).put(3, 6, 2, 1L).put(4, 5, 3, 1L).get(7, 8, 3L).linearizable());
        assertTrue(new Builder().put(1, 2, 1, null).put(3, 6, 2, 1L).put(4, 5, 3, 2L).get(7, 8, 3L).linearizable());
    }

    @Test
    void readersThatDisagreeOnTheOrderOfTwoWritesAreCaught() {
        // Writes of 1 and 2 overlap; one reader sees 1 then 2, another (later) sees 2 then 1.
        assertFalse(new Builder().blindPut(1, 20, 1).blindPut(2, 21, 2)
                .get(3, 4, 1L).get(5, 6, 2L).get(7, 8, 2L).get(9, 10, 1L).linearizable());
    }

    @Test
    void aWriteOfUnknownOutcomeMayHaveHappenedOrNot() {
        assertTrue(new Builder().put(1, 2, 1, null).unknownPut(3, 2).get(4, 5, 2L).get(6, 7, 2L).linearizable());
        assertTrue(new Builder().put(1, 2, 1, null).unknownPut(3, 2).get(4, 5, 1L).get(6, 7, 1L).linearizable());
        // ... but once seen it cannot be unseen, and it cannot act before its invocation.
        assertFalse(new Builder().put(1, 2, 1, null).unknownPut(3, 2).get(4, 5, 2L).get(6, 7, 1L).linearizable());
        assertFalse(new Builder().get(1, 2, 2L).unknownPut(3, 2).linearizable());
    }

    @Test
    void recordedHistoriesOfAConcurrentMapPassAndKeysAreCheckedApart() throws Exception {
        RegisterHistory history = new RegisterHistory();
        java.util.concurrent.ConcurrentHashMap<Long, Long> map = new java.util.concurrent.ConcurrentHashMap<>();
        List<Thread> threads = new ArrayList<>();
        for (int t = 0; t < 4; t++) {
            int client = t;
            threads.add(Thread.ofPlatform().start(() -> {
                Random random = new Random(client);
                for (int i = 0; i < 2_000; i++) {
                    long key = random.nextInt(4);
                    long call = history.invoke();
                    switch (random.nextInt(3)) {
                        case 0 -> {
                            Long value = map.get(key);
                            history.get("c" + client, call, key, value == null ? OptionalLong.empty() : OptionalLong.of(value));
                        }
                        case 1 -> {
                            long value = (long) client << 32 | i;
                            Long previous = map.put(key, value);
                            history.put("c" + client, call, key, value, previous == null ? OptionalLong.empty() : OptionalLong.of(previous));
                        }
                        default -> {
                            Long previous = map.remove(key);
                            history.remove("c" + client, call, key, previous == null ? OptionalLong.empty() : OptionalLong.of(previous));
                        }
                    }
                }
            }));
        }
        for (Thread thread : threads) {
            thread.join();
        }
        RegisterHistory.Result result = history.check(Map.of()).requireLinearizable();
        assertTrue(result.keysChecked() == 4 && result.operations() == 8_000, "checked: " + result);
    }

    @Test
    void aMapThatLosesUpdatesIsCaught() throws Exception {
        // Read-then-write without atomicity, both readers read before either writes (a barrier between): each round,
        // two swaps report the same previous value, which no register allows.
        RegisterHistory history = new RegisterHistory();
        java.util.concurrent.ConcurrentHashMap<Long, Long> map = new java.util.concurrent.ConcurrentHashMap<>();
        java.util.concurrent.CyclicBarrier bothRead = new java.util.concurrent.CyclicBarrier(2);
        List<Thread> threads = new ArrayList<>();
        List<Throwable> failures = new java.util.concurrent.CopyOnWriteArrayList<>();
        for (int t = 0; t < 2; t++) {
            int client = t;
            threads.add(Thread.ofPlatform().start(() -> {
                try {
                    for (int i = 0; i < 50; i++) {
                        long call = history.invoke();
                        Long previous = map.get(1L);
                        bothRead.await();
                        long value = (long) client << 32 | i;
                        map.put(1L, value);
                        history.put("c" + client, call, 1L, value, previous == null ? OptionalLong.empty() : OptionalLong.of(previous));
                        bothRead.await();
                    }
                } catch (Exception e) {
                    failures.add(e);
                }
            }));
        }
        for (Thread thread : threads) {
            thread.join();
        }
        assertTrue(failures.isEmpty(), "failures: " + failures);
        assertFalse(history.check(Map.of()).linearizable(), "two swaps per round saw the same previous value");
    }
}
