package io.rolexkv.bench.ycsb;

import io.rolexkv.bench.system.InProcessSystem;
import org.apache.htrace.core.HTraceConfiguration;
import org.apache.htrace.core.Tracer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import site.ycsb.ClientThread;
import site.ycsb.DB;
import site.ycsb.DBFactory;
import site.ycsb.workloads.CoreWorkload;

import java.io.OutputStream;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.Set;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The binding under YCSB's own, unmodified client: {@code site.ycsb.ClientThread} and {@code CoreWorkload}, as a stock
 * {@code bin/ycsb load} and {@code run} would drive it (the harness only replaces the thread loop).
 */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class YcsbOwnClientThreadTest {
    private static final int RECORDS = 300;
    private static final int OPERATIONS = 800;
    private static final int THREADS = 2;

    private static Map<String, Map<String, Long>> runPhase(Properties properties, boolean transactions)
            throws Exception {
        Properties phase = new Properties();
        phase.putAll(properties);
        phase.setProperty("dotransactions", String.valueOf(transactions));
        YcsbMeasurements.startPhase(phase);
        CoreWorkload workload = new CoreWorkload();
        workload.init(phase);
        int operations = transactions ? OPERATIONS : RECORDS;
        CountDownLatch finished = new CountDownLatch(THREADS);
        List<Thread> threads = new ArrayList<>();
        try (Tracer tracer = new Tracer.Builder("test").conf(HTraceConfiguration.EMPTY).build()) {
            for (int threadId = 0; threadId < THREADS; threadId++) {
                DB db = DBFactory.newDB(RolexKvYcsbClient.class.getName(), phase, tracer);
                ClientThread client = new ClientThread(db, transactions, workload, phase, operations / THREADS, -1,
                        finished);
                client.setThreadId(threadId);
                client.setThreadCount(THREADS);
                Thread thread = new Thread(client, "ycsb-client-thread-" + threadId);
                threads.add(thread);
                thread.start();
            }
            assertTrue(finished.await(50, TimeUnit.SECONDS), "YCSB's client threads finished");
            for (Thread thread : threads) {
                thread.join();
            }
        }
        workload.cleanup();
        return YcsbMeasurements.exportPhase(OutputStream.nullOutputStream(), operations, 1);
    }

    @Test
    void loadAndRunThroughYcsbsClientThread() throws Exception {
        Properties properties = YcsbRunConfig.builder().workload("f").records(RECORDS).operations(OPERATIONS)
                .threads(THREADS).property("dataintegrity", "true").build().properties();
        try (InProcessSystem system = new InProcessSystem(1 << 12);
             YcsbEngineRegistry.Installation installation = YcsbEngineRegistry.install(system.engine())) {
            Map<String, Map<String, Long>> load = runPhase(properties, false);
            assertEquals(Map.of("INSERT", Map.of("OK", (long) RECORDS)), load);

            Map<String, Map<String, Long>> run = runPhase(properties, true);
            // Workload F: every operation reads (a read-modify-write starts with one); read-modify-writes update.
            assertEquals(Map.of("OK", (long) OPERATIONS), run.get("READ"), "every read found its record");
            assertEquals(Map.of("OK", (long) OPERATIONS), run.get("VERIFY"), "YCSB found every value it read intact");
            assertEquals(Set.of("OK"), run.get("UPDATE").keySet());
            assertEquals(0, installation.context().errors().count());
            StoredRecords.assertEveryRecordIntact(properties, system.engine(), RECORDS);
        }
    }
}
