package io.rolexkv.common.fabric;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.security.SecureRandom;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.LongAdder;

/**
 * The regions one memory node exposes to one-sided verbs, numbered in registration order. A region is an off-heap
 * {@link MemorySegment}, either anonymous memory or a file mapped read-write (so a later restart finds the data
 * again). Regions are page aligned, so every 8-byte word at an 8-aligned offset is a valid CAS/FAA target.
 *
 * <p>Register every region before serving: clients learn the region list when they connect. Registration is
 * thread-safe; lookups on the verb path are lock-free reads of an immutable array.
 *
 * <p>The memory has an {@link #incarnation()}: a random id clients compare across reconnects to tell a node that came
 * back with its data from one that came back empty. Whoever creates the memory says which it is: a new id for regions
 * created afresh, the id kept with the data for regions restored from their files.
 */
public final class RegisteredMemory implements AutoCloseable {
    static final long REGION_ALIGNMENT = 4096;

    private static final SecureRandom INCARNATIONS = new SecureRandom();

    private final int memoryNodeId;
    private final long incarnation;
    private final Arena arena = Arena.ofShared();
    private final List<FileChannel> mappedFiles = new ArrayList<>();
    private volatile Region[] regions = new Region[0];
    /** Batches with a WRITE, CAS or FAA that {@link VerbExecutor} has applied here; see {@link #writeBatches()}. */
    private final LongAdder writeBatches = new LongAdder();
    /** Set once a NIC may write this memory without its CPU seeing it: from then on writes are not counted. */
    private volatile boolean writtenBeyondCpu;

    record Region(RegionInfo info, MemorySegment segment) {
    }

    /** Memory whose regions are all created afresh here: it gets a new incarnation. */
    public RegisteredMemory(int memoryNodeId) {
        this(memoryNodeId, newIncarnation());
    }

    /**
     * Memory of the given incarnation: {@link #newIncarnation()} for regions created afresh, or the one kept with
     * regions that are restored with everything they held.
     */
    public RegisteredMemory(int memoryNodeId, long incarnation) {
        if (memoryNodeId < 0 || memoryNodeId >= GlobalAddress.MAX_MEMORY_NODES) {
            throw new IllegalArgumentException("memory_node_id=" + memoryNodeId + " allowed=[0,"
                    + (GlobalAddress.MAX_MEMORY_NODES - 1) + "]");
        }
        this.memoryNodeId = memoryNodeId;
        this.incarnation = incarnation;
    }

    /** A new random incarnation, for memory created afresh (64 bits: two draws never meet in practice). */
    public static long newIncarnation() {
        return INCARNATIONS.nextLong();
    }

    /** How an incarnation is written in messages, logs and files: {@code 0x} and 16 hex digits. */
    public static String incarnationText(long incarnation) {
        return String.format("0x%016x", incarnation);
    }

    public int memoryNodeId() {
        return memoryNodeId;
    }

    /** The incarnation of this memory's data, which clients learn when they connect ({@link FabricConnection#incarnation()}). */
    public long incarnation() {
        return incarnation;
    }

    /**
     * Registers {@code bytes} of zeroed anonymous memory under {@code name}; where it can, pages are zeroed by the kernel
     * as they are first touched rather than all at once ({@link AnonymousMemory}).
     */
    public synchronized RegionInfo allocate(String name, long bytes) {
        checkNewRegion(name, bytes);
        return add(name, AnonymousMemory.allocate(arena, bytes, REGION_ALIGNMENT));
    }

    /**
     * Registers the file at {@code file}, grown to {@code bytes} if shorter (new bytes read as zero), mapped
     * read-write: writes reach the file through the page cache, {@link #force()} makes them durable.
     */
    public synchronized RegionInfo mapFile(String name, Path file, long bytes) {
        checkNewRegion(name, bytes);
        try {
            FileChannel channel = FileChannel.open(file, StandardOpenOption.CREATE, StandardOpenOption.READ,
                    StandardOpenOption.WRITE);
            mappedFiles.add(channel);
            return add(name, channel.map(FileChannel.MapMode.READ_WRITE, 0, bytes, arena));
        } catch (IOException e) {
            throw new UncheckedIOException("cannot map region " + name + " file=" + file + " bytes=" + bytes, e);
        }
    }

    /** Flushes every file-mapped region to its file. */
    public synchronized void force() {
        for (Region region : regions) {
            if (region.segment().isMapped()) {
                region.segment().force();
            }
        }
    }

    private void checkNewRegion(String name, long bytes) {
        if (bytes < 0 || bytes > GlobalAddress.MAX_OFFSET) {
            throw new IllegalArgumentException("region " + name + " bytes=" + bytes + " allowed=[0," + GlobalAddress.MAX_OFFSET + "]");
        }
        if (regions.length >= GlobalAddress.MAX_REGIONS) {
            throw new IllegalStateException("memory node " + memoryNodeId + " already has " + regions.length + " regions, the most an address can name");
        }
        for (Region region : regions) {
            if (region.info().name().equals(name)) {
                throw new IllegalArgumentException("memory node " + memoryNodeId + " already has a region named " + name);
            }
        }
    }

    private RegionInfo add(String name, MemorySegment segment) {
        RegionInfo info = new RegionInfo(regions.length, name, segment.byteSize());
        Region[] grown = java.util.Arrays.copyOf(regions, regions.length + 1);
        grown[info.id()] = new Region(info, segment);
        regions = grown;
        return info;
    }

    public List<RegionInfo> regions() {
        Region[] current = regions;
        List<RegionInfo> infos = new ArrayList<>(current.length);
        for (Region region : current) {
            infos.add(region.info());
        }
        return List.copyOf(infos);
    }

    /** The region's memory, for the memory node's own background work (retraining, persistence) and for tests. */
    public MemorySegment segment(int regionId) {
        Region[] current = regions;
        if (regionId < 0 || regionId >= current.length) {
            throw new IllegalArgumentException("memory node " + memoryNodeId + " has no region " + regionId);
        }
        return current[regionId].segment();
    }

    public MemorySegment segment(String name) {
        for (Region region : regions) {
            if (region.info().name().equals(name)) {
                return region.segment();
            }
        }
        throw new IllegalArgumentException("memory node " + memoryNodeId + " has no region named " + name);
    }

    /** Region {@code id}'s memory, or {@code null}: the verb path's lookup, which reports a miss itself. */
    MemorySegment segmentOrNull(int regionId) {
        Region[] current = regions;
        return regionId >= 0 && regionId < current.length ? current[regionId].segment() : null;
    }

    int regionCount() {
        return regions.length;
    }

    /** Each region's length, for {@link VerbExecutor#validate}: one object for the node's life, not one per batch. */
    final VerbExecutor.RegionLengths regionLengths = region -> {
        MemorySegment segment = segmentOrNull(region);
        return segment == null ? VerbExecutor.NO_REGION : segment.byteSize();
    };

    /** What {@link #writeBatches()} answers once writes can reach this memory without its CPU seeing them. */
    public static final long WRITES_UNTRACKED = -1;

    /**
     * How many batches that change memory (a WRITE, CAS or FAA) the verb executor has applied here so far, or
     * {@link #WRITES_UNTRACKED} if a NIC may write this memory itself ({@link #markWrittenBeyondCpu()}). Background work
     * that only reacts to what verbs wrote (the retrainer) may skip a pass while this stays the same. Each count is made
     * after its batch's last store, so a reader that sees a count also sees those batches' stores. Writes made straight
     * into a {@link #segment} are not counted.
     */
    public long writeBatches() {
        return writtenBeyondCpu ? WRITES_UNTRACKED : writeBatches.sum();
    }

    /** Says a NIC may now write this memory directly (rdma): {@link #writeBatches()} can no longer tell. Irreversible. */
    public void markWrittenBeyondCpu() {
        writtenBeyondCpu = true;
    }

    /** Counts one applied batch that changed memory; the verb executor's, after the batch's last store. */
    void countWriteBatch() {
        writeBatches.increment();
    }

    /** Frees anonymous regions and unmaps files. No verb may run on this memory afterwards. */
    @Override
    public synchronized void close() {
        arena.close();
        for (FileChannel channel : mappedFiles) {
            try {
                channel.close();
            } catch (IOException ignored) {
                // Closing a mapped file's channel after unmapping has nothing left to lose.
            }
        }
        mappedFiles.clear();
    }
}
