package io.rolexkv.rolex.index;

import io.rolexkv.common.fabric.FabricConnection;
import io.rolexkv.common.fabric.TestMemoryNode;

import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The {@link WordIndex} contract on ROLEX, with leaves of 8 (6 at load) and a tight error bound, so that inserts make
 * synonym leaves; every run ends with {@link IndexChecker}.
 */
class RolexIndexContractTest extends WordIndexContractTest<RolexIndex> {
    static final IndexGeometry SMALL_LEAVES = IndexGeometry.of(8, 0.75, 4).withEmptyIndexLeaves(16).withLeafAllocationChunk(4);

    @Override
    protected Map<String, Long> regions() {
        return IndexFixture.regions(64L << 20);
    }

    @Override
    protected RolexIndex bulkLoad(FabricConnection connection, long[] keys, long[] words) {
        return RolexIndex.bulkLoad(connection, SMALL_LEAVES, keys, words);
    }

    @Override
    protected RolexIndex createEmpty(FabricConnection connection) {
        return RolexIndex.createEmpty(connection, SMALL_LEAVES);
    }

    @Override
    protected RolexIndex open(FabricConnection connection, int client) {
        return RolexIndex.open(connection);
    }

    @Override
    protected long splits(RolexIndex index) {
        return index.counters().splits();
    }

    @Override
    protected long lockConflicts(RolexIndex index) {
        return index.counters().lockConflicts();
    }

    @Override
    protected void assertStructureSound(TestMemoryNode node, long keys) {
        IndexChecker.Report report = IndexChecker.check(node.connect()).requireSound();
        assertEquals(keys, report.keys(), "keys in the index: " + report);
    }

    @Override
    protected void afterConcurrentRun(String transport, List<RolexIndex> clients) {
        if (transport.endsWith(TestMemoryNode.TORN_SUFFIX)) {
            long torn = clients.stream().mapToLong(index -> index.counters().tornLeafReads()).sum();
            assertTrue(torn > 0, "readers must meet torn leaves and read them again, tornLeafReads=" + torn);
        }
    }

    @Override
    protected FabricConnection brokenWriteProtocol(FabricConnection connection) {
        return new UnlockFirstConnection(connection);
    }

    @Override
    protected void afterStaleBatchReads(RolexIndex reader) {
        assertTrue(reader.counters().unknownLinksFollowed() > 0,
                "the stale reader followed links its cache did not know: " + reader.counters());
    }
}
