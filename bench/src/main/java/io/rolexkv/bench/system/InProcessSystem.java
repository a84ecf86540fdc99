package io.rolexkv.bench.system;

import io.rolexkv.common.fabric.FabricCounters;
import io.rolexkv.common.kv.BaseKV;
import io.rolexkv.common.kv.SortedMapKV;

import java.util.Optional;
import java.util.OptionalDouble;
import java.util.OptionalLong;

/**
 * The in-process reference engine ({@link SortedMapKV}) as a system under test: no fabric, no memory node, no model.
 * The floor every other system's figures are read against: what the benchmark harness itself costs.
 */
public final class InProcessSystem implements SystemUnderTest {
    public static final String NAME = SortedMapKV.ENGINE_TYPE;
    /** What {@link #fabric()} says: there is none. */
    public static final String NO_FABRIC = "none";

    private final SortedMapKV engine;

    public InProcessSystem(int maxValueBytes) {
        this.engine = new SortedMapKV(maxValueBytes);
    }

    @Override
    public String name() {
        return NAME;
    }

    @Override
    public String fabric() {
        return NO_FABRIC;
    }

    @Override
    public BaseKV engine() {
        return engine;
    }

    @Override
    public OperationCostProbe costProbe() {
        return OperationCostProbe.NONE;
    }

    @Override
    public Optional<FabricCounters.Snapshot> fabricCounters() {
        return Optional.empty();
    }

    @Override
    public OptionalLong modelCacheBytes() {
        return OptionalLong.empty();
    }

    @Override
    public OptionalLong retrains() {
        return OptionalLong.empty();
    }

    @Override
    public OptionalDouble memoryNodeCpuSeconds() {
        return OptionalDouble.empty();
    }

    @Override
    public void close() {
        engine.close();
    }
}
