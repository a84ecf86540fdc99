package io.rolexkv.memorynode;

import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.rolexkv.common.config.ByteSize;
import io.rolexkv.common.config.ConfigException;
import io.rolexkv.common.config.ConfigNode;
import io.rolexkv.common.fabric.FabricLimits;
import io.rolexkv.common.fabric.FabricTransports;
import io.rolexkv.common.fabric.GlobalAddress;
import io.rolexkv.common.net.ClusterSecret;

import java.nio.file.InvalidPathException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.regex.Pattern;

/**
 * Everything a memory node needs to start, read and validated in one place ({@link #from}) from the
 * {@value #SECTION_NAME} object of a JSON config file:
 *
 * <pre>{@code
 * {
 *   "memory_node": {
 *     "memory_node_id": 0,
 *     "transport": "tcp",
 *     "host": "127.0.0.1",
 *     "port": 7000,
 *     "max_verbs_per_batch": 4096,
 *     "max_bytes_per_batch": "64MiB",
 *     "data_dir": "/var/lib/rolexkv/node0",
 *     "auth_secret_file": "/etc/rolexkv/cluster.secret",
 *     "regions": [
 *       {"name": "meta", "bytes": "1MiB"},
 *       {"name": "leaves", "bytes": "4GiB", "file": "/mnt/pmem/leaves.region"}
 *     ]
 *   }
 * }
 * }</pre>
 *
 * Every field is optional. Other top-level fields of the file belong to other components (a cluster may keep one
 * file for memory and compute nodes) and are left to them; inside {@value #SECTION_NAME} an unknown field is an error.
 *
 * <p>Regions: without {@value #REGIONS_PROP_NAME} the node registers {@link #REGIONS_DEFAULT}, a few hundred MiB in
 * all, enough to try the store on a laptop. A region with a {@code file} is mapped from that file; with
 * {@value #DATA_DIR_PROP_NAME} set, every other region is mapped from {@code <data_dir>/<name>.region}, so the
 * node's memory outlives the process. Relative paths are resolved against the working directory, and the record
 * holds them absolute, so a written config reads back the same.
 *
 * @param memoryNodeId  this node's number in every {@link GlobalAddress}; unique in the cluster
 * @param transport     one of {@link FabricTransports#NAMES}
 * @param host          the address to listen on; the default serves this machine only
 * @param port          the port to listen on; 0 picks a free one (the node logs and reports the one it got)
 * @param limits        what one doorbell batch may hold
 * @param regions       the regions to register, in region-id order
 * @param dataDirectory where file-mapped regions live by default, or empty for anonymous memory
 * @param authSecretFile the file holding the cluster secret clients must prove (owner-readable only, not empty), or
 *                      empty: anyone who reaches the port is served (logged as a warning beyond loopback). Not
 *                      supported with the rdma transport yet
 * @param retrain       the background retraining of ROLEX models ({@value RetrainSettings#SECTION_NAME} object)
 */
public record MemoryNodeConfig(int memoryNodeId, String transport, String host, int port, FabricLimits limits,
                               List<RegionConfig> regions, Optional<Path> dataDirectory, Optional<Path> authSecretFile,
                               RetrainSettings retrain) {
    public static final String SECTION_NAME = "memory_node";

    public static final String MEMORY_NODE_ID_PROP_NAME = "memory_node_id";
    public static final int MEMORY_NODE_ID_DEFAULT = 0;
    public static final String TRANSPORT_PROP_NAME = "transport";
    public static final String TRANSPORT_DEFAULT = "tcp";
    public static final String HOST_PROP_NAME = "host";
    /** Loopback only: a node reachable from other machines is a deliberate choice ({@code --host 0.0.0.0}). */
    public static final String HOST_DEFAULT = "127.0.0.1";
    public static final String PORT_PROP_NAME = "port";
    public static final int PORT_DEFAULT = 7000;
    public static final int PORT_MAX = 65535;
    public static final String DATA_DIR_PROP_NAME = "data_dir";
    public static final String REGIONS_PROP_NAME = "regions";
    public static final String AUTH_SECRET_FILE_PROP_NAME = FabricTransports.AUTH_SECRET_FILE_PROP_NAME;

    /**
     * The regions a node registers when the config names none: metadata (roots, epochs, counters), ROLEX leaves,
     * the leaf tables (LT/SLT), the models with their CirQ, and out-of-place value blocks. 289 MiB in all.
     */
    public static final List<RegionConfig> REGIONS_DEFAULT = List.of(
            RegionConfig.anonymous("meta", 1L << 20),
            RegionConfig.anonymous("leaves", 128L << 20),
            RegionConfig.anonymous("tables", 16L << 20),
            RegionConfig.anonymous("models", 16L << 20),
            RegionConfig.anonymous("values", 128L << 20));

    /** The file a region is mapped from under a data directory: {@code <data_dir>/<name>.region}. */
    public static final String REGION_FILE_SUFFIX = ".region";

    private static final Pattern REGION_NAME = Pattern.compile("[A-Za-z0-9][A-Za-z0-9_.-]{0,63}");
    private static final String REGION_NAME_RULE = "1 to 64 of [A-Za-z0-9_.-], starting with a letter or digit";

    /** A config without a cluster secret. */
    public MemoryNodeConfig(int memoryNodeId, String transport, String host, int port, FabricLimits limits,
                            List<RegionConfig> regions, Optional<Path> dataDirectory, RetrainSettings retrain) {
        this(memoryNodeId, transport, host, port, limits, regions, dataDirectory, Optional.empty(), retrain);
    }

    public MemoryNodeConfig {
        Objects.requireNonNull(authSecretFile, "authSecretFile");
        Objects.requireNonNull(transport, "transport");
        Objects.requireNonNull(host, "host");
        Objects.requireNonNull(limits, "limits");
        Objects.requireNonNull(dataDirectory, "dataDirectory");
        Objects.requireNonNull(retrain, "retrain");
        regions = List.copyOf(regions);
    }

    /** Reads the {@value #SECTION_NAME} object of a whole config document; it must be present. */
    public static MemoryNodeConfig fromRoot(ConfigNode root) {
        return from(root.object(SECTION_NAME));
    }

    /** Reads and validates the file at {@code file}; see {@link #fromRoot}. */
    public static MemoryNodeConfig load(Path file) {
        return fromRoot(ConfigNode.load(file));
    }

    /** The config of a node started with no config at all. */
    public static MemoryNodeConfig defaults() {
        return from(ConfigNode.empty());
    }

    /**
     * Reads and validates a {@value #SECTION_NAME} object: every field, its type and range, region names and files
     * unique, no unknown field.
     *
     * @throws ConfigException naming the first wrong field by its full path
     */
    public static MemoryNodeConfig from(ConfigNode section) {
        int memoryNodeId = section.optionalInt(MEMORY_NODE_ID_PROP_NAME, MEMORY_NODE_ID_DEFAULT, 0,
                GlobalAddress.MAX_MEMORY_NODES - 1);
        String transport = section.optionalOneOf(TRANSPORT_PROP_NAME, TRANSPORT_DEFAULT, FabricTransports.NAMES);
        if (!FabricTransports.NAMES.contains(transport)) {
            throw section.error(TRANSPORT_PROP_NAME, "unknown value", "found=\"" + transport
                    + "\" (the default) allowed=" + FabricTransports.NAMES + ": this build has no " + transport + " transport");
        }
        String host = section.optionalString(HOST_PROP_NAME, HOST_DEFAULT);
        if (host.chars().anyMatch(Character::isWhitespace)) {
            throw section.error(HOST_PROP_NAME, "bad host", "found=" + section.describe(HOST_PROP_NAME)
                    + " expected=a host name or IP address");
        }
        int port = section.optionalInt(PORT_PROP_NAME, PORT_DEFAULT, 0, PORT_MAX);
        FabricLimits limits = FabricLimits.from(section);
        Optional<Path> dataDirectory = section.optionalString(DATA_DIR_PROP_NAME)
                .map(text -> absolutePath(section, DATA_DIR_PROP_NAME, text));
        List<RegionConfig> listed = section.optionalArray(REGIONS_PROP_NAME)
                .map(elements -> readRegions(section, elements))
                .orElse(REGIONS_DEFAULT);
        Optional<Path> authSecretFile = FabricTransports.readAuthSecretFile(section, transport);
        RetrainSettings retrain = RetrainSettings.from(section);
        section.rejectUnknownFields();
        List<RegionConfig> regions = dataDirectory.map(directory -> mapUnderDataDirectory(listed, directory)).orElse(listed);
        checkFilesDistinct(section, regions);
        return new MemoryNodeConfig(memoryNodeId, transport, host, port, limits, regions, dataDirectory, authSecretFile,
                retrain);
    }

    /** The cluster secret clients must prove, read from {@link #authSecretFile()}, or empty. */
    public Optional<ClusterSecret> secret() {
        return FabricTransports.secret(authSecretFile);
    }

    private static List<RegionConfig> readRegions(ConfigNode section, List<ConfigNode> elements) {
        if (elements.isEmpty() || elements.size() > GlobalAddress.MAX_REGIONS) {
            throw section.error(REGIONS_PROP_NAME, "wrong number of regions",
                    "found=" + elements.size() + " allowed=[1," + GlobalAddress.MAX_REGIONS + "]");
        }
        List<RegionConfig> regions = new ArrayList<>(elements.size());
        Map<String, String> firstByName = new HashMap<>();
        for (ConfigNode element : elements) {
            String name = element.requireString(RegionConfig.NAME_PROP_NAME);
            if (!REGION_NAME.matcher(name).matches()) {
                throw element.error(RegionConfig.NAME_PROP_NAME, "bad region name",
                        "found=" + element.describe(RegionConfig.NAME_PROP_NAME) + " expected=" + REGION_NAME_RULE);
            }
            String first = firstByName.putIfAbsent(name, element.fieldPath(RegionConfig.NAME_PROP_NAME));
            if (first != null) {
                throw element.error(RegionConfig.NAME_PROP_NAME, "duplicate region name",
                        "found=\"" + name + "\" first=" + first);
            }
            long bytes = element.requireSize(RegionConfig.BYTES_PROP_NAME, 0, GlobalAddress.MAX_OFFSET);
            Optional<Path> file = element.optionalString(RegionConfig.FILE_PROP_NAME)
                    .map(text -> absolutePath(element, RegionConfig.FILE_PROP_NAME, text));
            element.rejectUnknownFields();
            regions.add(new RegionConfig(name, bytes, file));
        }
        return regions;
    }

    private static List<RegionConfig> mapUnderDataDirectory(List<RegionConfig> regions, Path dataDirectory) {
        List<RegionConfig> mapped = new ArrayList<>(regions.size());
        for (RegionConfig region : regions) {
            mapped.add(region.file().isPresent() ? region : region.mappedFrom(dataDirectory.resolve(region.name() + REGION_FILE_SUFFIX)));
        }
        return mapped;
    }

    private static void checkFilesDistinct(ConfigNode section, List<RegionConfig> regions) {
        Map<Path, String> firstByFile = new HashMap<>();
        for (RegionConfig region : regions) {
            if (region.file().isPresent()) {
                String first = firstByFile.putIfAbsent(region.file().get(), region.name());
                if (first != null) {
                    throw section.error(REGIONS_PROP_NAME, "two regions map one file", "file=" + region.file().get()
                            + " regions=[" + first + ", " + region.name() + "]");
                }
            }
        }
        // The node writes each region's incarnation beside its file; no region may be mapped from that file.
        for (RegionConfig region : regions) {
            if (region.file().isPresent()) {
                String other = firstByFile.get(IncarnationFiles.incarnationFile(region.file().get()));
                if (other != null) {
                    throw section.error(REGIONS_PROP_NAME, "a region maps another region's incarnation file", "file="
                            + IncarnationFiles.incarnationFile(region.file().get()) + " regions=[" + region.name() + ", "
                            + other + "]");
                }
            }
        }
    }

    private static Path absolutePath(ConfigNode node, String name, String text) {
        try {
            return Path.of(text).toAbsolutePath().normalize();
        } catch (InvalidPathException e) {
            throw node.error(name, "bad path", "found=" + node.describe(name) + " error=" + e.getReason());
        }
    }

    /** What clients connect to, before the server reports the port it bound ({@code host:port}). */
    public String bindEndpoint() {
        return host + ":" + port;
    }

    /** Bytes over all regions. */
    public long totalBytes() {
        return regions.stream().mapToLong(RegionConfig::bytes).sum();
    }

    /** This config as a whole config document ({@code {"memory_node": {...}}}) with every field written out. */
    public ObjectNode toJson() {
        ObjectNode section = ConfigNode.newObject();
        section.put(MEMORY_NODE_ID_PROP_NAME, memoryNodeId);
        section.put(TRANSPORT_PROP_NAME, transport);
        section.put(HOST_PROP_NAME, host);
        section.put(PORT_PROP_NAME, port);
        section.put(FabricLimits.MAX_VERBS_PER_BATCH_PROP_NAME, limits.maxVerbsPerBatch());
        section.put(FabricLimits.MAX_BYTES_PER_BATCH_PROP_NAME, ByteSize.format(limits.maxBytesPerBatch()));
        dataDirectory.ifPresent(directory -> section.put(DATA_DIR_PROP_NAME, directory.toString()));
        authSecretFile.ifPresent(file -> section.put(AUTH_SECRET_FILE_PROP_NAME, file.toString()));
        ArrayNode regionArray = section.putArray(REGIONS_PROP_NAME);
        regions.forEach(region -> regionArray.add(region.toJson()));
        section.set(RetrainSettings.SECTION_NAME, retrain.toJson());
        ObjectNode root = ConfigNode.newObject();
        root.set(SECTION_NAME, section);
        return root;
    }
}
