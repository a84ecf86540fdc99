package io.rolexkv.common.fabric.rdma;

import io.rolexkv.common.fabric.BatchResult;
import io.rolexkv.common.fabric.DoorbellBatch;
import io.rolexkv.common.fabric.FabricConnection;
import io.rolexkv.common.fabric.FabricException;
import io.rolexkv.common.fabric.FabricLimits;
import io.rolexkv.common.fabric.FabricServer;
import io.rolexkv.common.fabric.GlobalAddress;
import io.rolexkv.common.fabric.RegionInfo;
import io.rolexkv.common.fabric.RegisteredMemory;
import io.rolexkv.common.fabric.VerbRejectedException;

import java.io.PrintStream;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;

/**
 * End-to-end check of the rdma transport on real hardware, run by {@code scripts/rdma-smoke.sh}. Self-contained (it
 * needs no memory-node daemon) and with three modes:
 * <pre>
 *   check                                     report what the start-up check finds; exit 0 if RDMA can run
 *   server HOST:PORT [--node-id N] [--lifetime-seconds S]
 *                                             serve one region named "smoke" and print "READY endpoint=HOST:PORT"
 *   client HOST:PORT [--threads T] [--adds N] run the verb checks against that server, print PASS or FAIL
 * </pre>
 * Exit codes: 0 pass (or available), 1 a check failed, 2 RDMA unavailable here, 3 bad usage.
 *
 * <p>The verb checks ({@link #runChecks}) take any {@link FabricConnection}, so the tests run them over the loopback
 * transport, including over a connection that drops atomic operands the way released DiSNI does, which they must
 * catch.
 */
public final class RdmaSmokeCheck {
    public static final String REGION_NAME = "smoke";
    public static final long REGION_BYTES = 1 << 20;
    public static final String READY_PREFIX = "READY endpoint=";

    static final int EXIT_PASS = 0;
    static final int EXIT_FAIL = 1;
    static final int EXIT_UNAVAILABLE = 2;
    static final int EXIT_USAGE = 3;

    private static final long CAS_WORD = 0;
    private static final long FAA_WORD = 8;
    private static final long ORDER_WORD = 16;
    private static final long COUNTER_WORD = 24;
    private static final long BYTES_AREA = 128;
    private static final long LARGE_AREA = 64 << 10;
    private static final int LARGE_BYTES = 256 << 10;
    private static final int OUTSTANDING_PER_THREAD = 8;

    private RdmaSmokeCheck() {
    }

    public static void main(String[] args) {
        System.exit(run(args, System.out));
    }

    static int run(String[] args, PrintStream out) {
        if (args.length == 0) {
            return usage(out);
        }
        try {
            return switch (args[0]) {
                case "check" -> check(out);
                case "server" -> args.length < 2 ? usage(out) : serve(args[1], option(args, "--node-id", 0),
                        option(args, "--lifetime-seconds", 600), out);
                case "client" -> args.length < 2 ? usage(out) : client(args[1], option(args, "--threads", 4),
                        option(args, "--adds", 2000), out);
                default -> usage(out);
            };
        } catch (RdmaUnavailableException e) {
            out.println(e.getMessage());
            return EXIT_UNAVAILABLE;
        } catch (IllegalArgumentException e) {
            out.println("bad arguments: " + e.getMessage());
            return EXIT_USAGE;
        }
    }

    private static int usage(PrintStream out) {
        out.println("usage: RdmaSmokeCheck check | server HOST:PORT [--node-id N] [--lifetime-seconds S]"
                + " | client HOST:PORT [--threads T] [--adds N]");
        return EXIT_USAGE;
    }

    private static int option(String[] args, String name, int fallback) {
        for (int i = 2; i < args.length - 1; i++) {
            if (args[i].equals(name)) {
                return Integer.parseInt(args[i + 1]);
            }
        }
        return fallback;
    }

    private static int check(PrintStream out) {
        RdmaAvailability.Report report = RdmaAvailability.check();
        out.println("java.version=" + System.getProperty("java.version") + " java.library.path="
                + System.getProperty("java.library.path"));
        out.println(report.describe());
        return report.available() ? EXIT_PASS : EXIT_UNAVAILABLE;
    }

    private static int serve(String bindEndpoint, int nodeId, int lifetimeSeconds, PrintStream out) {
        CountDownLatch stop = new CountDownLatch(1);
        CountDownLatch stopped = new CountDownLatch(1);
        try (RdmaTransport transport = new RdmaTransport();
             RegisteredMemory memory = new RegisteredMemory(nodeId)) {
            memory.allocate(REGION_NAME, REGION_BYTES);
            try (FabricServer server = transport.serve(memory, bindEndpoint)) {
                // On SIGTERM: let the main thread deregister and disconnect before the JVM halts.
                Runtime.getRuntime().addShutdownHook(new Thread(() -> {
                    stop.countDown();
                    try {
                        stopped.await(10, TimeUnit.SECONDS);
                    } catch (InterruptedException e) {
                        Thread.currentThread().interrupt();
                    }
                }));
                out.println(READY_PREFIX + server.endpoint());
                out.flush();
                if (!stop.await(lifetimeSeconds, TimeUnit.SECONDS)) {
                    out.println("lifetime of " + lifetimeSeconds + " s is over; stopping");
                }
            }
            return EXIT_PASS;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return EXIT_FAIL;
        } catch (RdmaUnavailableException e) {
            throw e;
        } catch (IllegalStateException e) {
            out.println("FAIL cannot serve: " + e.getMessage());
            return EXIT_FAIL;
        } finally {
            // After the server, the memory and the transport are closed (try-with-resources closes them first).
            stopped.countDown();
        }
    }

    private static int client(String endpoint, int threads, int adds, PrintStream out) {
        try (RdmaTransport transport = new RdmaTransport(FabricLimits.DEFAULT)) {
            FabricConnection connection;
            try {
                connection = transport.connect(endpoint, null);
            } catch (FabricException e) {
                out.println("FAIL cannot connect: " + e.getMessage());
                return EXIT_FAIL;
            }
            try (connection) {
                return runChecks(connection, threads, adds, out) ? EXIT_PASS : EXIT_FAIL;
            }
        }
    }

    /** One named check: throws (any exception or a failed expectation) when it does not hold. */
    private interface Check {
        void run(FabricConnection connection, RegionInfo region) throws Exception;
    }

    /**
     * Runs every verb check against the region named {@value #REGION_NAME} of {@code connection} and prints one line
     * per check and a final {@code PASS}/{@code FAIL} line.
     *
     * @return whether every check passed
     */
    public static boolean runChecks(FabricConnection connection, int threads, int addsPerThread, PrintStream out) {
        List<String> names = List.of("region list", "write then read", "compare-and-swap", "fetch-and-add",
                "batch runs in order", "large read and write", "bad verb rejected, connection usable",
                "concurrent fetch-and-add sum");
        List<Check> checks = List.of(
                RdmaSmokeCheck::regionList,
                RdmaSmokeCheck::writeThenRead,
                RdmaSmokeCheck::compareAndSwap,
                RdmaSmokeCheck::fetchAndAdd,
                RdmaSmokeCheck::batchInOrder,
                RdmaSmokeCheck::largeReadAndWrite,
                RdmaSmokeCheck::badVerbRejected,
                (c, r) -> concurrentFetchAndAdd(c, r, threads, addsPerThread));
        out.println("rdma smoke check against memory node " + connection.memoryNodeId() + " (" + connection + ")");
        int passed = 0;
        RegionInfo region;
        try {
            region = connection.region(REGION_NAME);
        } catch (IllegalArgumentException e) {
            out.println("FAIL rdma smoke: " + e.getMessage());
            return false;
        }
        for (int i = 0; i < checks.size(); i++) {
            try {
                checks.get(i).run(connection, region);
                out.println("  ok    " + names.get(i));
                passed++;
            } catch (Exception | AssertionError e) {
                out.println("  FAIL  " + names.get(i) + ": " + e);
            }
        }
        boolean pass = passed == checks.size();
        out.println((pass ? "PASS" : "FAIL") + " rdma smoke: " + passed + "/" + checks.size() + " checks passed");
        return pass;
    }

    private static long at(FabricConnection connection, RegionInfo region, long offset) {
        return GlobalAddress.of(connection.memoryNodeId(), region.id(), offset);
    }

    private static void expect(boolean condition, String what) {
        if (!condition) {
            throw new AssertionError(what);
        }
    }

    private static void expectEquals(long expected, long actual, String what) {
        if (expected != actual) {
            throw new AssertionError(what + ": expected " + expected + " got " + actual);
        }
    }

    private static long readWord(FabricConnection connection, RegionInfo region, long offset) {
        DoorbellBatch read = new DoorbellBatch();
        read.read(at(connection, region, offset), Long.BYTES);
        return connection.execute(read).readLong(0, 0);
    }

    private static void writeWord(FabricConnection connection, RegionInfo region, long offset, long value) {
        DoorbellBatch write = new DoorbellBatch();
        write.writeLong(at(connection, region, offset), value);
        connection.execute(write);
    }

    private static void regionList(FabricConnection connection, RegionInfo region) {
        expect(region.length() >= LARGE_AREA + LARGE_BYTES, "region " + region.name() + " length=" + region.length()
                + " is too small for the checks");
        expect(connection.isOpen(), "connection is open");
    }

    private static void writeThenRead(FabricConnection connection, RegionInfo region) {
        byte[] pattern = new byte[64];
        new Random(1).nextBytes(pattern);
        byte[] odd = {7, 8, 9};
        DoorbellBatch write = new DoorbellBatch();
        write.write(at(connection, region, BYTES_AREA), pattern);
        write.write(at(connection, region, BYTES_AREA + 64 + 5), odd);
        connection.execute(write);
        DoorbellBatch read = new DoorbellBatch();
        read.read(at(connection, region, BYTES_AREA), 64);
        read.read(at(connection, region, BYTES_AREA + 64 + 5), 3);
        BatchResult result = connection.execute(read);
        expect(Arrays.equals(pattern, result.readBytes(0)), "64 bytes read back as written");
        expect(Arrays.equals(odd, result.readBytes(1)), "3 unaligned bytes read back as written");
    }

    private static void compareAndSwap(FabricConnection connection, RegionInfo region) {
        writeWord(connection, region, CAS_WORD, 0);
        DoorbellBatch swap = new DoorbellBatch();
        swap.compareAndSwap(at(connection, region, CAS_WORD), 0, 42);
        BatchResult first = connection.execute(swap);
        expect(first.casSucceeded(0), "CAS 0->42 on 0 succeeds (old=" + first.oldValue(0) + ")");
        DoorbellBatch miss = new DoorbellBatch();
        miss.compareAndSwap(at(connection, region, CAS_WORD), 0, 7);
        BatchResult second = connection.execute(miss);
        expect(!second.casSucceeded(0), "CAS 0->7 on 42 fails");
        expectEquals(42, second.oldValue(0), "failed CAS returns the current word");
        expectEquals(42, readWord(connection, region, CAS_WORD), "word after the CASes");
    }

    private static void fetchAndAdd(FabricConnection connection, RegionInfo region) {
        writeWord(connection, region, FAA_WORD, 0x1_0000_0000L);
        DoorbellBatch add = new DoorbellBatch();
        add.fetchAndAdd(at(connection, region, FAA_WORD), 5);
        add.fetchAndAdd(at(connection, region, FAA_WORD), -7);
        BatchResult result = connection.execute(add);
        expectEquals(0x1_0000_0000L, result.oldValue(0), "first FAA old value");
        expectEquals(0x1_0000_0005L, result.oldValue(1), "second FAA old value");
        expectEquals(0xFFFF_FFFEL, readWord(connection, region, FAA_WORD), "word after +5 and -7 (carry across 32 bits)");
    }

    private static void batchInOrder(FabricConnection connection, RegionInfo region) {
        long word = at(connection, region, ORDER_WORD);
        DoorbellBatch batch = new DoorbellBatch();
        batch.writeLong(word, 1);
        int firstRead = batch.read(word, 8);
        int swap = batch.compareAndSwap(word, 1, 2);
        int secondRead = batch.read(word, 8);
        int add = batch.fetchAndAdd(word, 5);
        int thirdRead = batch.read(word, 8);
        batch.writeLong(word, 100);
        int lastRead = batch.read(word, 8);
        BatchResult result = connection.execute(batch);
        expectEquals(1, result.readLong(firstRead, 0), "READ after WRITE 1");
        expect(result.casSucceeded(swap), "CAS 1->2 sees the WRITE");
        expectEquals(2, result.readLong(secondRead, 0), "READ after CAS");
        expectEquals(2, result.oldValue(add), "FAA sees the CAS");
        expectEquals(7, result.readLong(thirdRead, 0), "READ after FAA");
        expectEquals(100, result.readLong(lastRead, 0), "READ after the last WRITE");
    }

    private static void largeReadAndWrite(FabricConnection connection, RegionInfo region) {
        byte[] pattern = new byte[LARGE_BYTES];
        new Random(2).nextBytes(pattern);
        DoorbellBatch write = new DoorbellBatch();
        write.write(at(connection, region, LARGE_AREA), pattern);
        connection.execute(write);
        DoorbellBatch read = new DoorbellBatch();
        read.read(at(connection, region, LARGE_AREA), LARGE_BYTES);
        expect(Arrays.equals(pattern, connection.execute(read).readBytes(0)), LARGE_BYTES + " bytes read back as written");
    }

    private static void badVerbRejected(FabricConnection connection, RegionInfo region) {
        DoorbellBatch bad = new DoorbellBatch();
        bad.read(at(connection, region, region.length() - 4), 8);
        try {
            connection.execute(bad);
            throw new AssertionError("a READ past the region end was not rejected");
        } catch (VerbRejectedException e) {
            expect(e.reason() == VerbRejectedException.Reason.OUT_OF_BOUNDS, "reason " + e.reason());
        }
        expect(connection.isOpen(), "connection open after a rejected batch");
        readWord(connection, region, CAS_WORD);
    }

    private static void concurrentFetchAndAdd(FabricConnection connection, RegionInfo region, int threads,
                                              int addsPerThread) throws InterruptedException {
        writeWord(connection, region, COUNTER_WORD, 0);
        long counter = at(connection, region, COUNTER_WORD);
        Set<Long> oldValues = ConcurrentHashMap.newKeySet();
        AtomicReference<Throwable> failure = new AtomicReference<>();
        List<Thread> workers = new ArrayList<>();
        for (int t = 0; t < threads; t++) {
            workers.add(Thread.ofPlatform().name("smoke-faa-" + t).start(() -> {
                try {
                    List<CompletableFuture<BatchResult>> window = new ArrayList<>();
                    for (int i = 0; i < addsPerThread; i++) {
                        DoorbellBatch add = new DoorbellBatch();
                        add.fetchAndAdd(counter, 1);
                        window.add(connection.post(add));
                        if (window.size() == OUTSTANDING_PER_THREAD || i == addsPerThread - 1) {
                            for (CompletableFuture<BatchResult> pending : window) {
                                oldValues.add(FabricConnection.await(pending).oldValue(0));
                            }
                            window.clear();
                        }
                    }
                } catch (Throwable e) {
                    failure.compareAndSet(null, e);
                }
            }));
        }
        for (Thread worker : workers) {
            worker.join();
        }
        if (failure.get() != null) {
            throw new AssertionError("a worker failed: " + failure.get(), failure.get());
        }
        long total = (long) threads * addsPerThread;
        expectEquals(total, readWord(connection, region, COUNTER_WORD), "counter after " + threads + " threads x "
                + addsPerThread + " FAA +1");
        expectEquals(total, oldValues.size(), "distinct old values (each FAA saw its own)");
        expect(oldValues.stream().allMatch(value -> value >= 0 && value < total), "old values within [0," + total + ")");
    }
}
