package io.rolexkv.bench.baseline.btree;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The report the YCSB harness will call, on a small load: its figures agree with the protocol's promises. */
@Timeout(60)
class BTreeCostReportTest {

    @Test
    void reportsShapeCacheAndPerOperationCosts() {
        BTreeCostReport.Report report = BTreeCostReport.measure(20_000, 6_000, BTreeOptions.DEFAULT, 7);
        assertEquals(20_000 + 6_000, report.shape().keys(), "loaded keys plus inserted ones");
        assertEquals(3, report.shape().height());
        assertEquals(report.shape().internalNodes() * BTreeOptions.DEFAULT.nodeBytes(), report.cachedBytes(),
                "a warm compute node caches every internal node");
        assertEquals(1.0, report.get().doorbells(), "a warm get is one round trip");
        assertEquals(BTreeOptions.DEFAULT.nodeBytes(), report.get().bytesRead());
        assertEquals(2.0, report.insertWithoutSplit().doorbells());
        assertEquals(BTreeNodeDescriptor.ENTRY_BYTES + 8, report.insertWithoutSplit().bytesWritten());
        assertEquals(2.0, report.update().doorbells());
        assertTrue(report.insertWithSplit().operations() > 0, "some inserts split");
        assertTrue(report.insertWithSplit().doorbells() >= 3, report.toString());
        assertTrue(report.insert().doorbells() > 2 && report.insert().doorbells() < 2.5, report.toString());
        assertTrue(report.scan().doorbells() >= 1 && report.scan().doorbells() <= 2, report.toString());
        assertTrue(report.toString().contains("height=3"), report.toString());
    }
}
