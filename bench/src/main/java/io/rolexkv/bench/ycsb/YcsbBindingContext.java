package io.rolexkv.bench.ycsb;

import io.rolexkv.bench.system.OperationCostProbe;
import io.rolexkv.common.kv.BaseKV;

import java.util.Objects;
import java.util.Optional;

/**
 * What every {@link RolexKvYcsbClient} of one phase shares: the one engine of the process, how to attribute fabric
 * costs per thread, where to record measurements and errors, and, for a bulk load phase, where inserts are held.
 * Installed in the {@link YcsbEngineRegistry} by whoever runs YCSB; YCSB makes one binding per client thread, and each
 * one picks this up in {@code init()}.
 */
public final class YcsbBindingContext {
    private final BaseKV engine;
    private final OperationCostProbe costProbe;
    private final OperationStatistics statistics;
    private final BindingErrors errors;
    private final BulkLoadBuffer bulkLoadBuffer;

    private YcsbBindingContext(BaseKV engine, OperationCostProbe costProbe, BulkLoadBuffer bulkLoadBuffer) {
        this.engine = Objects.requireNonNull(engine, "engine");
        this.costProbe = Objects.requireNonNull(costProbe, "costProbe");
        this.statistics = new OperationStatistics();
        this.errors = new BindingErrors();
        this.bulkLoadBuffer = bulkLoadBuffer;
    }

    /** A context whose inserts go straight to {@code engine}, with costs from {@code costProbe}. */
    public static YcsbBindingContext of(BaseKV engine, OperationCostProbe costProbe) {
        return new YcsbBindingContext(engine, costProbe, null);
    }

    /** A context for a bulk load phase: inserts are held in {@code buffer} for one bulk load at the end. */
    public static YcsbBindingContext bulkLoading(BaseKV engine, OperationCostProbe costProbe, BulkLoadBuffer buffer) {
        return new YcsbBindingContext(engine, costProbe, Objects.requireNonNull(buffer, "buffer"));
    }

    public BaseKV engine() {
        return engine;
    }

    public OperationCostProbe costProbe() {
        return costProbe;
    }

    public OperationStatistics statistics() {
        return statistics;
    }

    public BindingErrors errors() {
        return errors;
    }

    /** Where inserts are held, when this is a bulk load phase. */
    public Optional<BulkLoadBuffer> bulkLoadBuffer() {
        return Optional.ofNullable(bulkLoadBuffer);
    }
}
