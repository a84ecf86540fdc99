package io.rolexkv.bench.ycsb;

import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.io.Reader;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Properties;

/**
 * The workload files: YCSB's core workloads A to F and the load phase, shipped in this jar under {@code /workloads/}
 * (also usable by a stock YCSB with {@code -P}), or any YCSB workload file by path.
 */
public final class YcsbWorkloads {
    /** The load phase alone: the record shape, no transactions. */
    public static final String LOAD = "load";
    /** The names {@code --workload} accepts besides a file path, in the order the docs list them. */
    public static final List<String> NAMES = List.of("a", "b", "c", "d", "e", "f", LOAD);

    private static final String RESOURCE_FOLDER = "/workloads/";

    private YcsbWorkloads() {
    }

    /** True if {@code name} is the load phase alone. */
    public static boolean isLoadOnly(String name) {
        return LOAD.equals(name);
    }

    /**
     * The properties of the workload {@code nameOrPath}: one of {@link #NAMES} (a letter for YCSB's workloadX) or the
     * path of a workload file.
     *
     * @throws IllegalArgumentException if it is neither, naming the allowed names
     */
    public static Properties load(String nameOrPath) {
        if (NAMES.contains(nameOrPath)) {
            String resource = RESOURCE_FOLDER + resourceName(nameOrPath);
            try (InputStream in = YcsbWorkloads.class.getResourceAsStream(resource)) {
                if (in == null) {
                    throw new IllegalStateException("workload file " + resource + " is missing from the jar");
                }
                return read(new InputStreamReader(in, StandardCharsets.UTF_8));
            } catch (IOException e) {
                throw new UncheckedIOException("cannot read workload file " + resource, e);
            }
        }
        Path path = Path.of(nameOrPath);
        if (!Files.isRegularFile(path)) {
            throw new IllegalArgumentException("workload=" + nameOrPath + " is neither a workload name " + NAMES
                    + " nor a readable workload file");
        }
        try (Reader reader = Files.newBufferedReader(path, StandardCharsets.UTF_8)) {
            return read(reader);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read workload file " + path, e);
        }
    }

    /** The file name of a named workload: {@code workloada} .. {@code workloadf}, or {@code load}. */
    static String resourceName(String name) {
        return isLoadOnly(name) ? LOAD : "workload" + name;
    }

    private static Properties read(Reader reader) throws IOException {
        Properties properties = new Properties();
        properties.load(reader);
        return properties;
    }
}
