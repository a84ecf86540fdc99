package io.rolexkv.bench.jmh;

import io.rolexkv.common.fabric.BatchResult;
import io.rolexkv.common.fabric.CompletionBuffer;
import io.rolexkv.common.fabric.DoorbellBatch;
import io.rolexkv.common.fabric.FabricConnection;
import io.rolexkv.common.fabric.FabricCounters;
import io.rolexkv.common.fabric.FabricException;
import io.rolexkv.common.fabric.GlobalAddress;
import io.rolexkv.common.fabric.RegionInfo;
import io.rolexkv.common.fabric.VerbKind;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;

/**
 * A read-only snapshot of a memory node's regions in this process, served as a {@link FabricConnection}: a READ
 * answers a slice of the snapshot, with no copy and no transport, so the compute node's own code (the index's lookup,
 * as it runs after a real READ returns) can be timed without the network. Built by READing every region once from a
 * real memory node, so the bytes are exactly what the node holds. Any other verb is rejected: the snapshot never
 * changes.
 */
final class LocalMemoryConnection implements FabricConnection {
    /** Bytes per READ while taking the snapshot: well inside a doorbell's default byte limit. */
    private static final int SNAPSHOT_READ_BYTES = 8 << 20;

    private final int memoryNodeId;
    private final long incarnation;
    private final List<RegionInfo> regions;
    private final MemorySegment[] regionBytes;
    private final FabricCounters counters = new FabricCounters();
    private final Arena arena;
    private volatile boolean open = true;

    private LocalMemoryConnection(int memoryNodeId, long incarnation, List<RegionInfo> regions, MemorySegment[] regionBytes,
                                  Arena arena) {
        this.memoryNodeId = memoryNodeId;
        this.incarnation = incarnation;
        this.regions = regions;
        this.regionBytes = regionBytes;
        this.arena = arena;
    }

    /** READs every region {@code source} offers, whole, into memory of this process. */
    static LocalMemoryConnection snapshotOf(FabricConnection source) {
        Arena arena = Arena.ofShared();
        List<RegionInfo> regions = List.copyOf(source.regions());
        int slots = regions.stream().mapToInt(RegionInfo::id).max().orElse(-1) + 1;
        MemorySegment[] bytes = new MemorySegment[slots];
        try {
            for (RegionInfo region : regions) {
                MemorySegment copy = arena.allocate(region.length(), Long.BYTES);
                for (long offset = 0; offset < region.length(); offset += SNAPSHOT_READ_BYTES) {
                    int length = (int) Math.min(SNAPSHOT_READ_BYTES, region.length() - offset);
                    DoorbellBatch batch = new DoorbellBatch();
                    int verb = batch.read(GlobalAddress.of(source.memoryNodeId(), region.id(), offset), length);
                    MemorySegment.copy(source.execute(batch).read(verb), 0, copy, offset, length);
                }
                bytes[region.id()] = copy;
            }
        } catch (RuntimeException e) {
            arena.close();
            throw e;
        }
        return new LocalMemoryConnection(source.memoryNodeId(), source.incarnation(), regions, bytes, arena);
    }

    /** The snapshot of the region named {@code name}, read-only. */
    MemorySegment regionBytes(String name) {
        return regionBytes[region(name).id()].asReadOnly();
    }

    @Override
    public int memoryNodeId() {
        return memoryNodeId;
    }

    /** The source's: the snapshot is a copy of that memory. */
    @Override
    public long incarnation() {
        return incarnation;
    }

    @Override
    public List<RegionInfo> regions() {
        return regions;
    }

    @Override
    public CompletableFuture<BatchResult> post(DoorbellBatch batch) {
        FabricException rejected = rejection(batch);
        if (rejected != null) {
            return CompletableFuture.failedFuture(rejected);
        }
        counters.recordPosted(batch);
        MemorySegment[] reads = new MemorySegment[batch.size()];
        for (int verb = 0; verb < batch.size(); verb++) {
            long address = batch.address(verb);
            reads[verb] = regionBytes[GlobalAddress.region(address)].asSlice(GlobalAddress.offset(address), batch.length(verb));
        }
        return CompletableFuture.completedFuture(new BatchResult(batch, reads, new long[batch.size()]));
    }

    /** The READs' bytes copied straight from the snapshot into the caller's buffer, as a transport's completion lands. */
    @Override
    public void execute(DoorbellBatch batch, CompletionBuffer into) {
        FabricException rejected = rejection(batch);
        if (rejected != null) {
            throw rejected;
        }
        counters.recordPosted(batch);
        into.reset(batch);
        for (int verb = 0; verb < batch.size(); verb++) {
            long address = batch.address(verb);
            into.putRead(verb, regionBytes[GlobalAddress.region(address)], GlobalAddress.offset(address));
        }
    }

    /** Why {@code batch} cannot be served here (a verb other than a READ of a snapshot region), or null. */
    private FabricException rejection(DoorbellBatch batch) {
        List<String> rejected = null; // made only for a bad batch
        for (int verb = 0; verb < batch.size(); verb++) {
            long address = batch.address(verb);
            int region = GlobalAddress.region(address);
            if (batch.kind(verb) != VerbKind.READ || GlobalAddress.memoryNode(address) != memoryNodeId
                    || region >= regionBytes.length || regionBytes[region] == null
                    || GlobalAddress.offset(address) + batch.length(verb) > regionBytes[region].byteSize()) {
                if (rejected == null) {
                    rejected = new ArrayList<>();
                }
                rejected.add(batch.describe(verb));
            }
        }
        return rejected == null ? null : new FabricException("a read-only snapshot serves READs of its own regions only;"
                + " rejected=" + rejected);
    }

    @Override
    public FabricCounters counters() {
        return counters;
    }

    @Override
    public boolean isOpen() {
        return open;
    }

    /** Frees the snapshot; no READ may be in use afterwards. */
    @Override
    public void close() {
        if (open) {
            open = false;
            arena.close();
        }
    }
}
