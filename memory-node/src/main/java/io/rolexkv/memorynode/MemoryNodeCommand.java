package io.rolexkv.memorynode;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.rolexkv.common.cli.UnexpectedFailures;
import io.rolexkv.common.config.ByteSize;
import io.rolexkv.common.config.ConfigException;
import io.rolexkv.common.config.ConfigNode;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;

/**
 * {@code rolexkv memory-node}: starts a memory node and keeps it running until SIGINT or SIGTERM, then stops it
 * cleanly (file-mapped regions flushed to their files).
 *
 * <p>Settings come from the config file's {@code memory_node} object, then from command-line options, which win. The
 * options are laid over the file's JSON before {@link MemoryNodeConfig#from} reads it, so there is one validation
 * for both; an error about a field an option filled names the option.
 *
 * <p>Exit codes: 0 after a clean stop (or {@code --print-config}), 2 for a bad option or config, 1 if the node
 * cannot start (port in use, region file locked or unreadable). Each is one line on stderr; a start failure also
 * leaves its stack trace in a log file the line names.
 */
@Command(name = "memory-node", mixinStandardHelpOptions = true, sortOptions = false, usageHelpAutoWidth = true,
        description = {
                "Starts a memory node: registers memory regions and serves them to compute nodes as one-sided verbs"
                        + " (READ, WRITE, CAS, FAA). Runs until interrupted (Ctrl-C or SIGTERM), then flushes"
                        + " file-mapped regions and exits.",
                "Options override the config file; without either, the node serves " + MemoryNodeCommand.DEFAULT_REGIONS_TEXT
                        + " of anonymous memory on " + MemoryNodeConfig.HOST_DEFAULT + ":" + MemoryNodeConfig.PORT_DEFAULT + "."},
        footer = {"", "Examples:",
                "  rolexkv memory-node --port 7000",
                "  rolexkv memory-node --host 0.0.0.0 --node-id 1 --data-dir data/node1",
                "  rolexkv memory-node --config node.json --region leaves=4GiB",
                "  rolexkv memory-node --region values=8GiB@spill/values.region",
                "  rolexkv memory-node --config node.json --print-config"})
public final class MemoryNodeCommand implements Callable<Integer> {
    /** Exit code for a bad option or config, as picocli uses for usage errors. */
    public static final int EXIT_USAGE = CommandLine.ExitCode.USAGE;
    /** Exit code when the node cannot start. */
    public static final int EXIT_START_FAILED = CommandLine.ExitCode.SOFTWARE;

    static final String DEFAULT_REGIONS_TEXT = "meta 1MiB, leaves 128MiB, tables 16MiB, models 16MiB, values 128MiB";
    private static final long STOP_TIMEOUT_SECONDS = 60;

    @Spec
    private CommandSpec spec;

    @Option(names = "--config", paramLabel = "FILE",
            description = "JSON config file; its \"" + MemoryNodeConfig.SECTION_NAME + "\" object holds the node's settings.")
    private Path configFile;

    @Option(names = "--node-id", paramLabel = "ID",
            description = "This node's id in global addresses, 0..255, unique in the cluster (default: "
                    + MemoryNodeConfig.MEMORY_NODE_ID_DEFAULT + ").")
    private Integer memoryNodeId;

    @Option(names = "--transport", paramLabel = "NAME",
            description = "tcp, loopback (in-process only, for tests and embedded runs) or rdma (default: "
                    + MemoryNodeConfig.TRANSPORT_DEFAULT + ").")
    private String transport;

    @Option(names = "--host", paramLabel = "HOST",
            description = "Address to listen on (default: " + MemoryNodeConfig.HOST_DEFAULT
                    + ", this machine only; 0.0.0.0 for every interface).")
    private String host;

    @Option(names = {"-p", "--port"}, paramLabel = "PORT",
            description = "Port to listen on, 0 for any free one (default: " + MemoryNodeConfig.PORT_DEFAULT + ").")
    private Integer port;

    @Option(names = "--region", paramLabel = "NAME=SIZE[@FILE]", converter = RegionOption.Converter.class,
            description = {"Sets the size (and optionally the backing file) of region NAME, adding it if the config has"
                    + " no such region. Repeatable. SIZE like 4096, 64MiB, 1GiB.",
                    "Default regions: " + DEFAULT_REGIONS_TEXT + "."})
    private List<RegionOption> regions = new ArrayList<>();

    @Option(names = "--data-dir", paramLabel = "DIR",
            description = "Keep regions in files under DIR, one NAME.region each (unless a region names its own file),"
                    + " so the data outlives the process.")
    private String dataDirectory;

    @Option(names = "--print-config",
            description = "Print the effective config (file plus options, defaults filled in) as JSON and exit.")
    private boolean printConfig;

    private final CountDownLatch started = new CountDownLatch(1);
    private final CountDownLatch stopRequested = new CountDownLatch(1);
    private volatile MemoryNode node;

    /** One {@code --region NAME=SIZE[@FILE]}, checked for shape only; the size is validated with the config. */
    record RegionOption(String name, String size, Optional<String> file) {
        static final class Converter implements CommandLine.ITypeConverter<RegionOption> {
            @Override
            public RegionOption convert(String value) {
                int equals = value.indexOf('=');
                if (equals <= 0 || equals == value.length() - 1) {
                    throw new CommandLine.TypeConversionException("'" + value + "' is not NAME=SIZE, for example leaves=1GiB");
                }
                String name = value.substring(0, equals);
                String rest = value.substring(equals + 1);
                int at = rest.indexOf('@');
                if (at == 0 || at == rest.length() - 1) {
                    throw new CommandLine.TypeConversionException("'" + value + "' is not NAME=SIZE@FILE, for example values=8GiB@data/values.region");
                }
                return at < 0 ? new RegionOption(name, rest, Optional.empty())
                        : new RegionOption(name, rest.substring(0, at), Optional.of(rest.substring(at + 1)));
            }
        }

        String text() {
            return name + "=" + size + file.map(path -> "@" + path).orElse("");
        }
    }

    @Override
    public Integer call() {
        PrintWriter out = spec.commandLine().getOut();
        PrintWriter err = spec.commandLine().getErr();
        MemoryNodeConfig config;
        try {
            config = effectiveConfig();
        } catch (ConfigException e) {
            err.println(spec.qualifiedName() + ": " + e.getMessage());
            err.flush();
            return EXIT_USAGE;
        }
        if (printConfig) {
            out.println(ConfigNode.toText(config.toJson()));
            out.flush();
            return CommandLine.ExitCode.OK;
        }
        try {
            node = MemoryNode.start(config);
        } catch (RuntimeException e) {
            err.println(spec.qualifiedName() + ": cannot start: " + UnexpectedFailures.report(spec.qualifiedName(), e));
            err.flush();
            started.countDown();
            return EXIT_START_FAILED;
        }
        CountDownLatch stopped = new CountDownLatch(1);
        Thread hook = new Thread(() -> {
            stopRequested.countDown();
            awaitAtMost(stopped, STOP_TIMEOUT_SECONDS);
        }, "memory-node-shutdown");
        Runtime.getRuntime().addShutdownHook(hook);
        try {
            out.println("memory node ready memory_node=" + config.memoryNodeId() + " transport=" + config.transport()
                    + " endpoint=" + node.endpoint() + " regions=" + config.regions().size() + " bytes="
                    + ByteSize.format(config.totalBytes()) + " (Ctrl-C stops it)");
            out.flush();
            started.countDown();
            awaitStopRequest();
        } finally {
            node.close();
            stopped.countDown();
            try {
                Runtime.getRuntime().removeShutdownHook(hook);
            } catch (IllegalStateException shuttingDown) {
                // The hook is what stopped us; it is running and finishes now.
            }
        }
        return CommandLine.ExitCode.OK;
    }

    /**
     * The config file (or nothing) with the options laid over it, read and validated.
     *
     * @throws ConfigException naming the option when the bad value came from one, else the config field
     */
    MemoryNodeConfig effectiveConfig() {
        ObjectNode root = configFile == null ? ConfigNode.newObject() : ConfigNode.load(configFile).json();
        Map<String, String> optionByField = new HashMap<>();
        try {
            return MemoryNodeConfig.fromRoot(ConfigNode.of(withOptions(root, optionByField)));
        } catch (ConfigException e) {
            String option = optionByField.get(e.field());
            if (option != null) {
                throw new ConfigException(e.reason(), "", ("option=" + option + " " + e.detail()).strip(), e);
            }
            if (configFile != null && !e.field().isEmpty()) {
                throw new ConfigException(e.reason(), e.field(), (e.detail() + " config=" + configFile).strip(), e);
            }
            throw e;
        }
    }

    /** Lays the options over {@code root}, noting which config field each option filled. */
    private ObjectNode withOptions(ObjectNode root, Map<String, String> optionByField) {
        if (!(root.get(MemoryNodeConfig.SECTION_NAME) instanceof ObjectNode)) {
            if (configFile != null) {
                MemoryNodeConfig.fromRoot(ConfigNode.of(root)); // throws: the file lacks the section or has a non-object
            }
            root.set(MemoryNodeConfig.SECTION_NAME, ConfigNode.newObject());
        }
        ObjectNode section = (ObjectNode) root.get(MemoryNodeConfig.SECTION_NAME);
        JsonNodeFactory json = JsonNodeFactory.instance;
        if (memoryNodeId != null) {
            put(section, MemoryNodeConfig.MEMORY_NODE_ID_PROP_NAME, json.numberNode(memoryNodeId), "--node-id", optionByField);
        }
        if (transport != null) {
            put(section, MemoryNodeConfig.TRANSPORT_PROP_NAME, json.textNode(transport), "--transport", optionByField);
        }
        if (host != null) {
            put(section, MemoryNodeConfig.HOST_PROP_NAME, json.textNode(host), "--host", optionByField);
        }
        if (port != null) {
            put(section, MemoryNodeConfig.PORT_PROP_NAME, json.numberNode(port), "--port", optionByField);
        }
        if (dataDirectory != null) {
            put(section, MemoryNodeConfig.DATA_DIR_PROP_NAME, json.textNode(dataDirectory), "--data-dir", optionByField);
        }
        if (!regions.isEmpty()) {
            overrideRegions(section, optionByField);
        }
        return root;
    }

    private static void put(ObjectNode section, String name, JsonNode value, String option, Map<String, String> optionByField) {
        section.set(name, value);
        optionByField.put(MemoryNodeConfig.SECTION_NAME + "." + name, option);
    }

    /** Merges {@code --region} options into the config's region list (or the default one) by name. */
    private void overrideRegions(ObjectNode section, Map<String, String> optionByField) {
        JsonNode listed = section.get(MemoryNodeConfig.REGIONS_PROP_NAME);
        if (listed == null) {
            ArrayNode defaults = section.putArray(MemoryNodeConfig.REGIONS_PROP_NAME);
            MemoryNodeConfig.REGIONS_DEFAULT.forEach(region -> defaults.add(region.toJson()));
        } else if (!listed.isArray()) {
            return; // the config's own error about the field's type comes first
        }
        ArrayNode array = (ArrayNode) section.get(MemoryNodeConfig.REGIONS_PROP_NAME);
        for (RegionOption option : regions) {
            ObjectNode region = null;
            int index = 0;
            for (; index < array.size(); index++) {
                JsonNode element = array.get(index);
                if (element instanceof ObjectNode object && option.name().equals(object.path(RegionConfig.NAME_PROP_NAME).asText(null))) {
                    region = object;
                    break;
                }
            }
            if (region == null) {
                region = array.addObject().put(RegionConfig.NAME_PROP_NAME, option.name());
            }
            region.put(RegionConfig.BYTES_PROP_NAME, option.size());
            ObjectNode target = region;
            option.file().ifPresent(file -> target.put(RegionConfig.FILE_PROP_NAME, file));
            String path = MemoryNodeConfig.SECTION_NAME + "." + MemoryNodeConfig.REGIONS_PROP_NAME + "[" + index + "].";
            for (String field : List.of(RegionConfig.NAME_PROP_NAME, RegionConfig.BYTES_PROP_NAME, RegionConfig.FILE_PROP_NAME)) {
                optionByField.put(path + field, "--region " + option.text());
            }
        }
    }

    /** Stops a node this command runs, as SIGTERM would. */
    void requestStop() {
        stopRequested.countDown();
    }

    /** The running node once it has started, or null if it failed to; for tests that drive the command in a thread. */
    MemoryNode awaitStarted(long timeout, TimeUnit unit) throws InterruptedException {
        return started.await(timeout, unit) ? node : null;
    }

    /** Waits for SIGINT/SIGTERM (through the shutdown hook) or {@link #requestStop()}; an interrupt also stops. */
    private void awaitStopRequest() {
        try {
            stopRequested.await();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    /** The shutdown hook's wait for the clean stop; bounded so a stuck close cannot keep the JVM from exiting. */
    private static void awaitAtMost(CountDownLatch latch, long seconds) {
        try {
            latch.await(seconds, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
