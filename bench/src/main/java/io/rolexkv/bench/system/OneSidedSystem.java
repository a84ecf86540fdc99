package io.rolexkv.bench.system;

import com.fasterxml.jackson.databind.node.ObjectNode;
import io.rolexkv.common.config.ConfigNode;
import io.rolexkv.common.fabric.FabricCounters;
import io.rolexkv.common.kv.BaseKV;
import io.rolexkv.computenode.engine.IndexKind;
import io.rolexkv.computenode.engine.RolexKV;
import io.rolexkv.computenode.engine.RolexKVConfig;
import io.rolexkv.computenode.value.ValueRegionDescriptor;
import io.rolexkv.rolex.index.IndexCounters;
import io.rolexkv.rolex.index.LeanIndex;

import java.util.Map;
import java.util.Optional;
import java.util.OptionalDouble;
import java.util.OptionalLong;

/**
 * A system under test that is the {@link RolexKV} engine with some {@link IndexKind} on {@link MemoryNodes}: ROLEX
 * itself, or the B+tree baseline. Both get the same value store (values of exactly 8 bytes inline in the index's word,
 * {@code value_layout: inline8}; anything else in value blocks), the same fabric, the same cost attribution and the
 * same memory-node lifecycle, so a comparison between them differs only in the index.
 */
abstract class OneSidedSystem implements SystemUnderTest {

    private final String fabric;
    final RolexKV engine;
    final MemoryNodes nodes;

    OneSidedSystem(String fabric, RolexKV engine, MemoryNodes nodes) {
        this.fabric = fabric;
        this.engine = engine;
        this.nodes = nodes;
    }

    /** Bytes of the values region for {@code options}: 1.5 times the blocks of every record, 32 MB at least. */
    static long valuesRegionBytes(SystemOptions options) {
        long valueBlockBytes = options.maxValueBytes() <= 8 ? 0 : options.maxValueBytes() + 64L;
        return Math.max(32L << 20, expectedRecords(options) * valueBlockBytes * 3 / 2);
    }

    static long expectedRecords(SystemOptions options) {
        return Math.max(options.expectedRecords(), 1_000);
    }

    /**
     * Opens the engine with an index of {@code kind} on the nodes; closes the nodes if that fails.
     *
     * @param regions what each embedded node registers, the values region ({@value ValueRegionDescriptor#REGION_NAME})
     *                included
     */
    static <S extends OneSidedSystem> S open(SystemOptions options, IndexKind kind, Map<String, Long> regions,
                                             boolean retrain, Factory<S> factory) {
        MemoryNodes nodes = MemoryNodes.start(options, regions, retrain);
        try {
            ObjectNode config = RolexEngineConfigs.withSettings(RolexEngineConfigs.forValues(options.fabric(),
                    nodes.endpoints(), options.maxValueBytes(), RolexEngineConfigs.ROOM_WAIT_MILLIS_DEFAULT),
                    options.engineSettings());
            RolexKV engine = RolexKV.open(RolexKVConfig.from(ConfigNode.of(config)), nodes.transport(), kind);
            return factory.create(options.fabric(), engine, nodes);
        } catch (RuntimeException e) {
            nodes.close();
            throw e;
        }
    }

    @FunctionalInterface
    interface Factory<S extends OneSidedSystem> {
        S create(String fabric, RolexKV engine, MemoryNodes nodes);
    }

    @Override
    public final String fabric() {
        return fabric;
    }

    @Override
    public final BaseKV engine() {
        return engine;
    }

    @Override
    public final OperationCostProbe costProbe() {
        return () -> engine.threadCounters().snapshot();
    }

    @Override
    public final java.util.List<MemoryNodeShare> memoryNodes(boolean countRecords) {
        return engine.memoryNodeFigures(countRecords).stream()
                .map(node -> new MemoryNodeShare(node.endpoint(), node.records(), node.fabric())).toList();
    }

    @Override
    public final Optional<FabricCounters.Snapshot> fabricCounters() {
        return Optional.of(engine.counters().snapshot());
    }

    @Override
    public final Optional<IndexCounters.Snapshot> indexCounters() {
        return Optional.of(engine.indexCounters());
    }

    /** What the compute node caches of the index: ROLEX's models and tables, or the B+tree's internal nodes. */
    @Override
    public final OptionalLong modelCacheBytes() {
        return OptionalLong.of(engine.modelCacheBytes());
    }

    /**
     * The memory nodes' own count of completed retrains, read from each node's index meta region through the engine's
     * connections: so a node that is down, or came back without its data, stops the caller with the engine's
     * {@link io.rolexkv.common.fabric.MemoryNodeDownException} instead of being read afresh (a fresh node counts 0).
     */
    final OptionalLong retrainsPublished() {
        return OptionalLong.of(engine.sumOverMemoryNodes(LeanIndex::retrainsPublished));
    }

    @Override
    public final OptionalDouble memoryNodeCpuSeconds() {
        return nodes.cpuSeconds();
    }

    @Override
    public final void close() {
        try {
            engine.close();
        } finally {
            nodes.close();
        }
    }
}
