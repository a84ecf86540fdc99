package io.rolexkv.memorynode;

import io.rolexkv.common.fabric.RegisteredMemory;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.util.List;
import java.util.Optional;
import java.util.OptionalLong;

/**
 * Where a memory node keeps the incarnation of its data ({@link RegisteredMemory#incarnation()}) between runs: beside
 * each region file, in {@code <region file>.incarnation}, one line {@code 0x} and 16 hex digits. A region file and its
 * incarnation file travel together; the node's data came back whole only if every region is file-mapped, every file
 * already held data (but for regions of 0 bytes), and every incarnation file names the same id. Anything else (an anonymous region, a region file
 * created empty, an incarnation file missing, unreadable or disagreeing) means some memory starts afresh, so the node
 * gets a new incarnation, written beside every region file before it serves anyone.
 *
 * <p>The cautious side is the only safe one: a new incarnation for data that was in fact kept costs running compute
 * nodes a reopen, while an old incarnation for data that was lost would let them read empty memory as if it were theirs.
 * This is why an incarnation is never derived from the files' contents or dates, and why the new id is forced to disk
 * before the node serves.
 */
final class IncarnationFiles {
    static final String SUFFIX = ".incarnation";

    /** A region file as found at start-up, before it is mapped, and the region's configured size. */
    record RegionFile(String regionName, Path path, long existingBytes, long regionBytes) {
    }

    /** The node's incarnation, and in words where it came from (for the start-up log). */
    record Decision(long incarnation, boolean restored, String why) {
    }

    private IncarnationFiles() {
    }

    static Path incarnationFile(Path regionFile) {
        return regionFile.resolveSibling(regionFile.getFileName() + SUFFIX);
    }

    /**
     * The incarnation kept with {@code files} if the data of all {@code regionCount} regions came back, else a new one,
     * written beside every region file (and forced to disk) before this returns.
     */
    static Decision restoreOrCreate(int regionCount, List<RegionFile> files) {
        String fresh = whyFresh(regionCount, files);
        if (fresh == null) {
            long kept = read(files.getFirst().path()).orElseThrow();
            return new Decision(kept, true, "restored with every region file");
        }
        long incarnation = RegisteredMemory.newIncarnation();
        for (RegionFile file : files) {
            write(file, incarnation);
        }
        return new Decision(incarnation, false, fresh);
    }

    /** Why some memory starts afresh, or null if every region's data came back under one incarnation. */
    private static String whyFresh(int regionCount, List<RegionFile> files) {
        if (files.size() < regionCount) {
            return (regionCount - files.size()) + " of " + regionCount + " regions are anonymous memory";
        }
        Optional<Long> common = Optional.empty();
        for (RegionFile file : files) {
            // A region of 0 bytes has nothing to lose; any other one held data only if its file did.
            if (file.existingBytes() == 0 && file.regionBytes() > 0) {
                return "region " + file.regionName() + " file=" + file.path() + " was created empty";
            }
            OptionalLong kept = read(file.path());
            if (kept.isEmpty()) {
                return "region " + file.regionName() + " has no readable " + incarnationFile(file.path());
            }
            if (common.isPresent() && common.get() != kept.getAsLong()) {
                return "region " + file.regionName() + " has incarnation "
                        + RegisteredMemory.incarnationText(kept.getAsLong()) + " but another region has "
                        + RegisteredMemory.incarnationText(common.get());
            }
            common = Optional.of(kept.getAsLong());
        }
        return files.isEmpty() ? "no regions" : null;
    }

    /** The incarnation kept beside {@code regionFile}, or empty if there is none or it does not read as one. */
    private static OptionalLong read(Path regionFile) {
        String text;
        try {
            text = Files.readString(incarnationFile(regionFile), StandardCharsets.US_ASCII).strip();
        } catch (IOException | RuntimeException e) {
            return OptionalLong.empty();
        }
        if (text.length() != 18 || !text.startsWith("0x")) {
            return OptionalLong.empty();
        }
        try {
            return OptionalLong.of(Long.parseUnsignedLong(text.substring(2), 16));
        } catch (NumberFormatException e) {
            return OptionalLong.empty();
        }
    }

    /** Writes {@code incarnation} beside {@code file} durably: a temporary file, forced, then moved over the old one. */
    private static void write(RegionFile file, long incarnation) {
        Path target = incarnationFile(file.path());
        Path temporary = target.resolveSibling(target.getFileName() + ".tmp");
        byte[] line = (RegisteredMemory.incarnationText(incarnation) + "\n").getBytes(StandardCharsets.US_ASCII);
        try {
            try (FileChannel channel = FileChannel.open(temporary, StandardOpenOption.CREATE,
                    StandardOpenOption.TRUNCATE_EXISTING, StandardOpenOption.WRITE)) {
                ByteBuffer buffer = ByteBuffer.wrap(line);
                while (buffer.hasRemaining()) {
                    channel.write(buffer);
                }
                channel.force(true);
            }
            Files.move(temporary, target, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot write the incarnation of region " + file.regionName() + " to file="
                    + target, e);
        }
    }
}
