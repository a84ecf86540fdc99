package io.rolexkv.bench.ycsb;

import site.ycsb.DB;
import site.ycsb.workloads.CoreWorkload;

/**
 * YCSB's {@link CoreWorkload}, generating exactly the same operations, that also tells the binding where each
 * read-modify-write begins and ends. YCSB's binding interface has no read-modify-write call (the workload issues a
 * read and then an update), so without this the harness could time the two parts but not attribute the compound's
 * latency and fabric cost to READ-MODIFY-WRITE. {@link YcsbRunner} runs this class wherever a workload names
 * {@code site.ycsb.workloads.CoreWorkload}.
 *
 * <p>The compound's latency is the sum of its read's and its update's as the binding timed them, so it leaves out the
 * workload's own work between them (building the new values, checking data integrity), as YCSB's READ-MODIFY-WRITE
 * figure does. Both parts are also counted as a READ and an UPDATE, as YCSB counts them.
 */
public class ReadModifyWriteAwareCoreWorkload extends CoreWorkload {

    @Override
    public void doTransactionReadModifyWrite(DB db) {
        ThreadOperationRecorder recorder = YcsbEngineRegistry.installed().statistics().recorderForCurrentThread();
        recorder.beginCompound();
        try {
            super.doTransactionReadModifyWrite(db);
        } finally {
            recorder.endCompound(OperationType.READ_MODIFY_WRITE);
        }
    }
}
