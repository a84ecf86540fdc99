package io.rolexkv.rolex.index;

import io.rolexkv.common.fabric.FabricConnection;
import io.rolexkv.common.fabric.FabricLimits;

/**
 * A memory node's retraining for whichever layout the index in its memory has ({@link
 * io.rolexkv.rolex.layout.IndexMetaDescriptor#LAYOUT_OFFSET}): the grouped layout's {@link Retrainer} or the lean
 * layout's {@link LeanRetrainer}. The layout is read every pass, since a compute node may rebuild the index in either.
 * Not thread-safe, like both retrainers: one background thread drives it.
 */
public final class LayoutRetrainer {
    private final FabricConnection connection;
    private final Retrainer grouped;
    private final LeanRetrainer lean;

    public LayoutRetrainer(FabricConnection connection, FabricLimits limits, Retrainer.Policy groupedPolicy,
                           LeanRetrainer.Policy leanPolicy) {
        this.connection = connection;
        this.grouped = new Retrainer(connection, limits, groupedPolicy);
        this.lean = new LeanRetrainer(connection, limits, leanPolicy);
    }

    /** One pass of the retrainer for the index's layout, a failure logged and backed off; whether it retrained. */
    public boolean passThenBackOff() throws InterruptedException {
        // Each retrainer also checks the layout word itself and rests on an index of the other layout, or on one being
        // rebuilt (not published).
        return LeanRetrainer.isLean(connection) ? lean.passThenBackOff() : grouped.passThenBackOff();
    }

    /**
     * Whether a pass may find work although nothing was written since the last one: a failed pass's recovery, or the
     * lean retrainer waiting out the idle time before it compacts what the last writes left.
     */
    public boolean hasWorkWithoutNewWrites() {
        return grouped.hasPendingRecovery() || lean.hasPendingRecovery() || lean.awaitsIdle();
    }

    /** What both retrainers have done, added up. */
    public Retrainer.Stats stats() {
        Retrainer.Stats a = grouped.stats();
        Retrainer.Stats b = lean.stats();
        return new Retrainer.Stats(a.retrains() + b.retrains(), a.retrainNanos() + b.retrainNanos(),
                a.keysRetrained() + b.keysRetrained(), a.failures() + b.failures());
    }
}
