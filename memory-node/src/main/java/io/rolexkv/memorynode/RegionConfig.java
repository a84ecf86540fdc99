package io.rolexkv.memorynode;

import com.fasterxml.jackson.databind.node.ObjectNode;
import io.rolexkv.common.config.ByteSize;
import io.rolexkv.common.config.ConfigNode;

import java.nio.file.Path;
import java.util.Objects;
import java.util.Optional;

/**
 * One region a memory node registers: its name (what compute nodes look it up by), its size, and the file it is
 * mapped from, if any. Without a file the region is anonymous memory, zeroed at start and lost at exit.
 *
 * <pre>{@code {"name": "leaves", "bytes": "128MiB", "file": "/data/rolexkv/leaves.region"}}</pre>
 *
 * @param name  unique on its node; letters, digits, {@code _ . -}; also the file name under a data directory
 * @param bytes the region's size
 * @param file  the absolute path of the file it is mapped from, or empty for anonymous memory
 */
public record RegionConfig(String name, long bytes, Optional<Path> file) {
    public static final String NAME_PROP_NAME = "name";
    public static final String BYTES_PROP_NAME = "bytes";
    public static final String FILE_PROP_NAME = "file";

    public RegionConfig {
        Objects.requireNonNull(name, "name");
        Objects.requireNonNull(file, "file");
    }

    /** An anonymous region. */
    public static RegionConfig anonymous(String name, long bytes) {
        return new RegionConfig(name, bytes, Optional.empty());
    }

    /** This region mapped from {@code file}. */
    public RegionConfig mappedFrom(Path file) {
        return new RegionConfig(name, bytes, Optional.of(file));
    }

    /** This region as config JSON; sizes written with the largest exact unit ({@code "128MiB"}). */
    public ObjectNode toJson() {
        ObjectNode json = ConfigNode.newObject();
        json.put(NAME_PROP_NAME, name);
        json.put(BYTES_PROP_NAME, ByteSize.format(bytes));
        file.ifPresent(path -> json.put(FILE_PROP_NAME, path.toString()));
        return json;
    }
}
