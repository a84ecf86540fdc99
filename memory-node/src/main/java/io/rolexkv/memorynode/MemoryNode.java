package io.rolexkv.memorynode;

import io.rolexkv.common.config.ByteSize;
import io.rolexkv.common.fabric.FabricServer;
import io.rolexkv.common.fabric.FabricTransport;
import io.rolexkv.common.fabric.FabricTransports;
import io.rolexkv.common.fabric.RegionInfo;
import io.rolexkv.common.fabric.RegisteredMemory;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.channels.OverlappingFileLockException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.List;

/**
 * A memory node: registers the configured regions (anonymous memory, or files mapped read-write) and serves them to
 * compute nodes over one transport. Per request it does nothing beyond what a NIC does (the transport's verb
 * executor); its own CPU is kept for background work, which runs in this process against {@link #memory()}.
 *
 * <p>Used two ways: by the {@code rolexkv memory-node} command as a daemon, and embedded (tests, an in-process
 * cluster), where {@link #transport()} is the transport to connect through (a loopback node is reachable only
 * through the transport instance that serves it).
 *
 * <p>File-mapped regions: each file is locked while the node runs, so two nodes never map the same file; a file
 * longer than its region is refused rather than silently cut short, and a shorter one grows (new bytes read as zero).
 * {@link #close()} flushes every mapped region to its file before unmapping it.
 *
 * <p>The node's memory has an {@link #incarnation()}, which compute nodes learn when they connect and compare after a
 * reconnect: kept across restarts that find every region's file with its data, new otherwise
 * ({@link IncarnationFiles} says exactly when), so a compute node can tell a node that came back with its data from
 * one that came back empty.
 */
public final class MemoryNode implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(MemoryNode.class);

    private final MemoryNodeConfig config;
    private final RegisteredMemory memory;
    private final List<RegionFile> regionFiles;
    private final FabricTransport transport;
    private final FabricServer server;
    private final RetrainService retrainService;
    private boolean closed;

    /** A region's backing file, held locked for the node's life, and how many bytes it held when it was locked. */
    private record RegionFile(Path path, FileChannel channel, FileLock lock, long existingBytes) {
    }

    private MemoryNode(MemoryNodeConfig config, RegisteredMemory memory, List<RegionFile> regionFiles,
                       FabricTransport transport, FabricServer server) {
        this.config = config;
        this.memory = memory;
        this.regionFiles = regionFiles;
        this.transport = transport;
        this.server = server;
        this.retrainService = config.retrain().threads() > 0 && RetrainService.hasIndexRegions(memory)
                ? new RetrainService(memory, config.limits(), config.retrain()) : null;
    }

    /**
     * Registers every region of {@code config} and starts serving them. On failure whatever was set up is released
     * again before the exception leaves.
     *
     * @throws UncheckedIOException  if a region file cannot be created, locked or mapped
     * @throws IllegalStateException if a region file is in use by another node or is longer than its region
     * @throws RuntimeException      whatever the transport throws when it cannot serve (for example a port in use)
     */
    public static MemoryNode start(MemoryNodeConfig config) {
        RegisteredMemory memory = null;
        List<RegionFile> regionFiles = new ArrayList<>();
        FabricTransport transport = null;
        try {
            // Every file first: whether the data came back decides the incarnation the memory is created with.
            List<IncarnationFiles.RegionFile> found = new ArrayList<>();
            for (RegionConfig region : config.regions()) {
                if (region.file().isPresent()) {
                    RegionFile regionFile = lock(region, region.file().get());
                    regionFiles.add(regionFile);
                    found.add(new IncarnationFiles.RegionFile(region.name(), regionFile.path(), regionFile.existingBytes(),
                            region.bytes()));
                }
            }
            IncarnationFiles.Decision incarnation = IncarnationFiles.restoreOrCreate(config.regions().size(), found);
            LOG.info("memory node incarnation={} memory_node={} {}: {}",
                    RegisteredMemory.incarnationText(incarnation.incarnation()), config.memoryNodeId(),
                    incarnation.restored() ? "kept" : "new", incarnation.why());
            memory = new RegisteredMemory(config.memoryNodeId(), incarnation.incarnation());
            int nextFile = 0;
            for (RegionConfig region : config.regions()) {
                register(config.memoryNodeId(), memory, region,
                        region.file().isPresent() ? regionFiles.get(nextFile++) : null);
            }
            transport = FabricTransports.create(config.transport(), config.limits(), config.secret());
            FabricServer server = transport.serve(memory, config.bindEndpoint());
            LOG.info("memory node serving memory_node={} transport={} endpoint={} regions={} bytes={} max_verbs_per_batch={}"
                            + " max_bytes_per_batch={}", config.memoryNodeId(), config.transport(), server.endpoint(),
                    config.regions().size(), ByteSize.format(config.totalBytes()), config.limits().maxVerbsPerBatch(),
                    config.limits().maxBytesPerBatch());
            return new MemoryNode(config, memory, regionFiles, transport, server);
        } catch (RuntimeException | Error e) {
            if (transport != null) {
                transport.close();
            }
            if (memory != null) {
                memory.close();
            }
            releaseAll(regionFiles);
            throw e;
        }
    }

    /** Registers {@code region}: anonymous memory, or {@code regionFile} (locked and checked already) mapped. */
    private static void register(int memoryNodeId, RegisteredMemory memory, RegionConfig region, RegionFile regionFile) {
        if (regionFile == null) {
            RegionInfo info = memory.allocate(region.name(), region.bytes());
            LOG.info("region registered memory_node={} region={} name={} bytes={} size={} backing=anonymous",
                    memoryNodeId, info.id(), info.name(), info.length(), ByteSize.format(info.length()));
            return;
        }
        RegionInfo info = memory.mapFile(region.name(), regionFile.path(), region.bytes());
        LOG.info("region registered memory_node={} region={} name={} bytes={} size={} backing=file file={} existing_bytes={}",
                memoryNodeId, info.id(), info.name(), info.length(), ByteSize.format(info.length()), regionFile.path(),
                regionFile.existingBytes());
    }

    /**
     * Locks {@code region}'s {@code file} (created if missing) and checks it fits the region.
     *
     * @throws IllegalStateException if another node holds the file, or it is longer than the region
     */
    private static RegionFile lock(RegionConfig region, Path file) {
        String regionName = region.name();
        FileChannel channel = null;
        try {
            if (file.getParent() != null) {
                Files.createDirectories(file.getParent());
            }
            channel = FileChannel.open(file, StandardOpenOption.CREATE, StandardOpenOption.READ, StandardOpenOption.WRITE);
            FileLock lock = channel.tryLock();
            if (lock == null) {
                throw new OverlappingFileLockException();
            }
            RegionFile regionFile = new RegionFile(file, channel, lock, channel.size());
            if (regionFile.existingBytes() > region.bytes()) {
                releaseAll(List.of(regionFile));
                throw new IllegalStateException("region " + regionName + " file=" + file + " holds bytes="
                        + regionFile.existingBytes() + " but the region is bytes=" + region.bytes() + "; a region file"
                        + " never shrinks: give the region at least " + ByteSize.format(regionFile.existingBytes())
                        + " or move the file away");
            }
            return regionFile;
        } catch (OverlappingFileLockException e) {
            closeQuietly(channel);
            throw new IllegalStateException("region " + regionName + " file=" + file
                    + " is in use by another memory node (it holds the file's lock)", e);
        } catch (IOException e) {
            closeQuietly(channel);
            throw new UncheckedIOException("cannot open region " + regionName + " file=" + file + ": " + e, e);
        }
    }

    /** What the background retrainer has done, or zeros if retraining is off. */
    public io.rolexkv.rolex.index.LeanRetrainer.Stats retrainStats() {
        return retrainService == null ? io.rolexkv.rolex.index.LeanRetrainer.Stats.NONE : retrainService.stats();
    }

    /** CPU seconds the background retrainer has used. */
    public double retrainCpuSeconds() {
        return retrainService == null ? 0 : retrainService.cpuSeconds();
    }

    /** The incarnation of this node's data, as compute nodes see it ({@link RegisteredMemory#incarnation()}). */
    public long incarnation() {
        return memory.incarnation();
    }

    public MemoryNodeConfig config() {
        return config;
    }

    /** The registered regions, for work that runs inside the memory node (retraining, persistence) and for tests. */
    public RegisteredMemory memory() {
        return memory;
    }

    /** What clients pass to {@link FabricTransport#connect}: {@code host:port} with the port actually bound. */
    public String endpoint() {
        return server.endpoint();
    }

    /** The transport serving this node; embedded clients connect through it. */
    public FabricTransport transport() {
        return transport;
    }

    /** Flushes every file-mapped region to its file. */
    public void flush() {
        memory.force();
    }

    /**
     * Stops serving (open connections break), flushes file-mapped regions, frees the memory and releases the region
     * files. Idempotent.
     */
    @Override
    public synchronized void close() {
        if (closed) {
            return;
        }
        closed = true;
        try {
            if (retrainService != null) {
                retrainService.close();
            }
            server.close();
            transport.close();
            memory.force();
        } finally {
            memory.close();
            releaseAll(regionFiles);
        }
        LOG.info("memory node stopped memory_node={} endpoint={} flushed_files={}", config.memoryNodeId(),
                server.endpoint(), regionFiles.size());
    }

    private static void releaseAll(List<RegionFile> regionFiles) {
        for (RegionFile regionFile : regionFiles) {
            try {
                regionFile.lock().release();
            } catch (IOException ignored) {
                // Closing the channel below releases the lock too.
            }
            closeQuietly(regionFile.channel());
        }
    }

    private static void closeQuietly(FileChannel channel) {
        if (channel != null) {
            try {
                channel.close();
            } catch (IOException ignored) {
                // Nothing was written through this channel: the mapping holds the data.
            }
        }
    }

    @Override
    public String toString() {
        return "MemoryNode[memory_node=" + config.memoryNodeId() + " transport=" + config.transport() + " endpoint="
                + server.endpoint() + "]";
    }
}
