package io.rolexkv.bench.system;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.function.Function;

/**
 * A server of ours (a memory node, the RPC baseline's server) run as its own JVM on this machine, as a benchmark's
 * embedded cluster has it: same class path and JDK as this process, its readiness line read from its standard output,
 * its CPU time measured from outside, stopped with SIGTERM (then killed if it hangs). Its output after readiness goes
 * to this process's standard error, prefixed, so a failure is visible.
 */
final class ChildProcess implements AutoCloseable {
    private static final Duration START_TIMEOUT = Duration.ofSeconds(60);
    private static final Duration STOP_TIMEOUT = Duration.ofSeconds(15);

    private final Process process;
    private final String name;
    private final String readyLine;

    private ChildProcess(Process process, String name, String readyLine) {
        this.process = process;
        this.name = name;
        this.readyLine = readyLine;
    }

    /**
     * Starts {@code mainClass} with {@code arguments} and waits for the first standard-output line that
     * {@code readiness} accepts (returns non-null for).
     *
     * @throws IllegalStateException if the process exits or stays silent for a minute before it is ready, with its
     *                               last lines of output
     */
    static ChildProcess start(String name, String mainClass, List<String> arguments, Function<String, String> readiness) {
        return start(name, List.of(), mainClass, arguments, readiness);
    }

    /**
     * {@link #start(String, String, List, Function)} under a launcher that runs the JVM as its own command, e.g.
     * {@code ip netns exec NAME} to start it in a network namespace (the launcher must exec, so the process is the JVM).
     */
    static ChildProcess start(String name, List<String> launcher, String mainClass, List<String> arguments,
                              Function<String, String> readiness) {
        List<String> command = new ArrayList<>(launcher);
        command.addAll(JavaCommand.of(mainClass, arguments));
        Process process;
        try {
            process = new ProcessBuilder(command).redirectErrorStream(true).start();
        } catch (IOException e) {
            throw new UncheckedIOException("cannot start " + name + ": " + command, e);
        }
        BufferedReader output = new BufferedReader(new InputStreamReader(process.getInputStream(), StandardCharsets.UTF_8));
        List<String> seen = new ArrayList<>();
        CompletableFuture<String> ready = CompletableFuture.supplyAsync(() -> {
            try {
                String line;
                while ((line = output.readLine()) != null) {
                    synchronized (seen) {
                        seen.add(line);
                    }
                    String accepted = readiness.apply(line);
                    if (accepted != null) {
                        return accepted;
                    }
                }
                return null;
            } catch (IOException e) {
                return null;
            }
        }, runnable -> Thread.ofPlatform().daemon().name(name + "-start").start(runnable));
        String readyLine;
        try {
            readyLine = ready.get(START_TIMEOUT.toMillis(), TimeUnit.MILLISECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            process.destroyForcibly();
            throw new IllegalStateException("interrupted while starting " + name, e);
        } catch (ExecutionException | TimeoutException e) {
            readyLine = null;
        }
        if (readyLine == null) {
            process.destroyForcibly();
            String last;
            synchronized (seen) {
                last = String.join("\n", seen.subList(Math.max(0, seen.size() - 20), seen.size()));
            }
            throw new IllegalStateException(name + " did not start (exit=" + (process.isAlive() ? "running" : process.exitValue())
                    + "); its last output:\n" + last);
        }
        Thread.ofPlatform().daemon().name(name + "-output").start(() -> {
            try {
                String line;
                while ((line = output.readLine()) != null) {
                    System.err.println("[" + name + "] " + line);
                }
            } catch (IOException ignored) {
                // The process ended; nothing more to show.
            }
        });
        return new ChildProcess(process, name, readyLine);
    }

    /**
     * A readiness check for servers that announce themselves with one line: accepts a line starting with
     * {@code lineStart} and answers the value of its {@code key=value} token (up to the next space).
     */
    static Function<String, String> valueOn(String lineStart, String key) {
        String token = key + "=";
        return line -> {
            int at = line.startsWith(lineStart) ? line.indexOf(token) : -1;
            if (at < 0) {
                return null;
            }
            int from = at + token.length();
            int end = line.indexOf(' ', from);
            return line.substring(from, end < 0 ? line.length() : end);
        };
    }

    /** What the readiness check returned for the ready line (for example the endpoint it names). */
    String readyLine() {
        return readyLine;
    }

    /** CPU seconds the process has used so far, user plus system, as the operating system counts them. */
    double cpuSeconds() {
        return process.toHandle().info().totalCpuDuration().map(duration -> duration.toNanos() / 1e9).orElse(0.0);
    }

    /** Kills the process with SIGKILL and waits for it to end: a crash, for fault tests (nothing is flushed). */
    void kill() throws InterruptedException {
        process.destroyForcibly();
        process.waitFor(STOP_TIMEOUT.toMillis(), TimeUnit.MILLISECONDS);
    }

    @Override
    public void close() {
        if (!process.isAlive()) {
            return;
        }
        process.destroy(); // SIGTERM: the servers flush and stop cleanly
        try {
            if (!process.waitFor(STOP_TIMEOUT.toMillis(), TimeUnit.MILLISECONDS)) {
                process.destroyForcibly();
                process.waitFor(STOP_TIMEOUT.toMillis(), TimeUnit.MILLISECONDS);
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            process.destroyForcibly();
        }
    }

    @Override
    public String toString() {
        return name + "[pid=" + process.pid() + "]";
    }
}
