package io.rolexkv.common.check;

import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.BitSet;
import java.util.Comparator;
import java.util.Deque;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.OptionalLong;
import java.util.Set;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.atomic.AtomicLong;

/**
 * A history of operations that concurrent clients ran on a key-value store, recorded as they ran, and the check that
 * it is linearizable: that every operation can be given one instant between its invocation and its response at which
 * it took effect, such that the store behaved as one register per key (a map) in that order.
 *
 * <p>Linearizability is local (Herlihy and Wing), so each key's history is checked on its own: a search in the
 * manner of Wing and Gong with Lowe's memoization of (operations linearized, register state), as Porcupine and
 * Knossos do. Time is a logical clock ({@link #invoke()} and the response methods each take the next tick), which
 * orders two operations exactly when one responded before the other was invoked.
 *
 * <p>What each kind of operation says:
 * <ul>
 *   <li>{@link #get}: the key held {@code result} at its instant.</li>
 *   <li>{@link #put}: the key held {@code previous} just before its instant and {@code value} after it (a {@code null}
 *       previous when the store does not report it).</li>
 *   <li>{@link #remove}: the key held {@code previous} just before, nothing after.</li>
 *   <li>{@link #putOutcomeUnknown} and {@link #removeOutcomeUnknown}: a write whose response never came (a lost
 *       connection): it may have taken effect at any instant after its invocation, or never.</li>
 * </ul>
 * An operation that failed having changed nothing (the store said so) is simply not recorded. Thread-safe.
 */
public final class RegisterHistory {
    /** The response time of an operation whose outcome is unknown: it never responded. */
    static final long NEVER = Long.MAX_VALUE;

    /**
     * One operation on one key: invoked at {@code call}, responded at {@code response} ({@link #NEVER} if unknown).
     * It changes the register if {@code writes} (to {@code written}, empty for a removal) and observes it if
     * {@code observes} (the state just before its change, or the state for a read).
     */
    public record Operation(long key, long call, long response, boolean writes, OptionalLong written, boolean observes,
                            OptionalLong observed, String client) {
        boolean completed() {
            return response != NEVER;
        }

        @Override
        public String toString() {
            String what = writes ? (written.isPresent() ? "put(" + written.getAsLong() + ")" : "remove()") : "get()";
            String saw = observes ? (observed.isPresent() ? String.valueOf(observed.getAsLong()) : "absent") : "?";
            return client + " " + what + " -> " + saw + " [" + call + "," + (completed() ? String.valueOf(response) : "never") + "]";
        }
    }

    /** What {@link #check} found. */
    public record Result(boolean linearizable, long keysChecked, long operations, String explanation) {
        /** Throws with the explanation unless the history is linearizable. */
        public Result requireLinearizable() {
            if (!linearizable) {
                throw new AssertionError("history is not linearizable: " + explanation);
            }
            return this;
        }
    }

    private final AtomicLong clock = new AtomicLong();
    private final ConcurrentLinkedQueue<Operation> operations = new ConcurrentLinkedQueue<>();

    /** Marks an operation's invocation: call just before issuing it, and pass the value to its response method. */
    public long invoke() {
        return clock.incrementAndGet();
    }

    public void get(String client, long call, long key, OptionalLong result) {
        operations.add(new Operation(key, call, clock.incrementAndGet(), false, OptionalLong.empty(), true, result, client));
    }

    /** @param previous what the key held before, or {@code null} if the store did not say */
    public void put(String client, long call, long key, long value, OptionalLong previous) {
        operations.add(new Operation(key, call, clock.incrementAndGet(), true, OptionalLong.of(value), previous != null,
                previous == null ? OptionalLong.empty() : previous, client));
    }

    /** @param previous what the key held before, or {@code null} if the store did not say */
    public void remove(String client, long call, long key, OptionalLong previous) {
        operations.add(new Operation(key, call, clock.incrementAndGet(), true, OptionalLong.empty(), previous != null,
                previous == null ? OptionalLong.empty() : previous, client));
    }

    public void putOutcomeUnknown(String client, long call, long key, long value) {
        operations.add(new Operation(key, call, NEVER, true, OptionalLong.of(value), false, OptionalLong.empty(), client));
    }

    public void removeOutcomeUnknown(String client, long call, long key) {
        operations.add(new Operation(key, call, NEVER, true, OptionalLong.empty(), false, OptionalLong.empty(), client));
    }

    public int size() {
        return operations.size();
    }

    /**
     * Checks every key's history, starting from {@code initial} (what each key held before the first operation; keys
     * not in it held nothing). Reports the first key whose history has no linearization, with its operations.
     */
    public Result check(Map<Long, Long> initial) {
        Map<Long, List<Operation>> byKey = new HashMap<>();
        for (Operation operation : operations) {
            byKey.computeIfAbsent(operation.key(), k -> new ArrayList<>()).add(operation);
        }
        long checked = 0;
        for (Map.Entry<Long, List<Operation>> entry : byKey.entrySet()) {
            Long start = initial.get(entry.getKey());
            List<Operation> history = entry.getValue();
            if (!linearizable(history, start == null ? OptionalLong.empty() : OptionalLong.of(start))) {
                history.sort(Comparator.comparingLong(Operation::call));
                return new Result(false, checked + 1, operations.size(), "key=" + Long.toUnsignedString(entry.getKey())
                        + " initial=" + (start == null ? "absent" : start) + " operations (by invocation):\n  "
                        + String.join("\n  ", history.stream().map(Operation::toString).toList()));
            }
            checked++;
        }
        return new Result(true, checked, operations.size(), "");
    }

    // ------------------------------------------------------------------ the search for one key

    /** An event of the search's list: an operation's invocation or its response, in time order. */
    private static final class Event {
        final int operation;
        final boolean isCall;
        final long time;
        Event match;
        Event previous;
        Event next;

        Event(int operation, boolean isCall, long time) {
            this.operation = operation;
            this.isCall = isCall;
            this.time = time;
        }

        void lift() {
            previous.next = next;
            if (next != null) {
                next.previous = previous;
            }
        }

        void unlift() {
            previous.next = this;
            if (next != null) {
                next.previous = this;
            }
        }
    }

    /** A state of the search: which operations are linearized, and what the register holds after them. */
    private record Memo(BitSet linearized, boolean present, long value) {
    }

    /** The linearized call, and the register state before it, to restore on backtracking. */
    private record Frame(Event call, OptionalLong before) {
    }

    static boolean linearizable(List<Operation> history, OptionalLong initial) {
        int count = history.size();
        List<Event> events = new ArrayList<>(2 * count);
        int completed = 0;
        for (int i = 0; i < count; i++) {
            Operation operation = history.get(i);
            Event call = new Event(i, true, operation.call());
            Event response = new Event(i, false, operation.response());
            call.match = response;
            events.add(call);
            events.add(response);
            completed += operation.completed() ? 1 : 0;
        }
        events.sort(Comparator.comparingLong((Event e) -> e.time).thenComparing(e -> !e.isCall));
        Event head = new Event(-1, true, Long.MIN_VALUE);
        Event tail = head;
        for (Event event : events) {
            tail.next = event;
            event.previous = tail;
            tail = event;
        }
        BitSet linearized = new BitSet(count);
        Set<Memo> seen = new HashSet<>();
        Deque<Frame> stack = new ArrayDeque<>();
        OptionalLong state = initial;
        int remaining = completed;
        Event entry = head.next;
        while (remaining > 0) {
            if (entry != null && !entry.isCall && !history.get(entry.operation).completed()) {
                entry = entry.next; // an unknown outcome never forces its operation in
                continue;
            }
            if (entry != null && entry.isCall) {
                Operation operation = history.get(entry.operation);
                if (!operation.observes() || operation.observed().equals(state)) {
                    OptionalLong after = operation.writes() ? operation.written() : state;
                    linearized.set(entry.operation);
                    if (seen.add(new Memo((BitSet) linearized.clone(), after.isPresent(), after.orElse(0)))) {
                        stack.push(new Frame(entry, state));
                        state = after;
                        entry.lift();
                        entry.match.lift();
                        remaining -= operation.completed() ? 1 : 0;
                        entry = head.next;
                        continue;
                    }
                    linearized.clear(entry.operation);
                }
                entry = entry.next;
                continue;
            }
            // A response whose operation is not linearized yet, or the end: undo the last choice and try the next.
            if (stack.isEmpty()) {
                return false;
            }
            Frame frame = stack.pop();
            state = frame.before();
            linearized.clear(frame.call().operation);
            frame.call().match.unlift();
            frame.call().unlift();
            remaining += history.get(frame.call().operation).completed() ? 1 : 0;
            entry = frame.call().next;
        }
        return true;
    }
}
