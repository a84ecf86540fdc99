package io.rolexkv.computenode.cli;

import io.rolexkv.common.cli.UnexpectedFailures;
import io.rolexkv.common.config.ConfigException;
import io.rolexkv.common.config.ConfigNode;
import io.rolexkv.common.fabric.loopback.LoopbackTransport;
import io.rolexkv.common.kv.BaseKV;
import io.rolexkv.computenode.EmbeddedCluster;
import io.rolexkv.computenode.KVEngines;
import io.rolexkv.computenode.engine.RolexKVConfig;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;
import picocli.CommandLine.Model.CommandSpec;

import java.io.BufferedReader;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.io.PrintWriter;
import java.io.StringReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.Callable;

/**
 * {@code rolexkv shell --config FILE}: a small client for a store, interactive at a terminal and scriptable otherwise
 * (commands from stdin, or {@code -e} options). The config file is an engine config ({@code engine_type} and the
 * engine's fields, see the README); a {@code rolex} config over {@code loopback} starts its memory nodes inside the
 * shell, for trying the store out (they vanish with it).
 *
 * <p>Exit codes: 0 if every command succeeded, 1 if any failed (each failure prints {@code error: ...} and the shell
 * goes on), 2 for a bad option or config, 3 if the store cannot be reached. Each is one line on stderr; a store that
 * cannot be reached also leaves the stack trace in a log file the line names.
 */
@Command(name = "shell", mixinStandardHelpOptions = true, sortOptions = false, usageHelpAutoWidth = true,
        description = {"A small client: get, put, delete, scan and stats against the store a config file describes.",
                "Reads commands from stdin (prompting at a terminal), or runs the -e commands in order."},
        footer = {"", "Commands:", "  get KEY | put KEY VALUE | delete KEY | scan FROM [TO] [LIMIT] | stats | help | quit",
                "Keys are unsigned decimal (42) or hex (0x2a). Values are 0xHEX, \"quoted text\" or text to the end of the line.",
                "", "Examples:",
                "  rolexkv shell --config compute-node/src/main/resources/config/rolex-engine.json",
                "  rolexkv shell --config engine.json -e 'put 42 hello' -e 'get 42'",
                "  printf 'put 0x2a 0x00ff\\nscan 0\\n' | rolexkv shell --config engine.json --hex"})
public final class ShellCommand implements Callable<Integer> {
    public static final int EXIT_COMMAND_FAILED = 1;
    public static final int EXIT_USAGE = CommandLine.ExitCode.USAGE;
    public static final int EXIT_UNREACHABLE = 3;

    @Spec
    private CommandSpec spec;

    @Option(names = "--config", required = true, paramLabel = "FILE",
            description = "Engine config: a JSON object with engine_type (rolex or in_process) and the engine's fields.")
    private Path configFile;

    @Option(names = {"-e", "--execute"}, paramLabel = "COMMAND",
            description = "Run this command instead of reading stdin; repeat for several, run in order.")
    private List<String> commands = List.of();

    @Option(names = "--hex", description = "Print every value as hex, even printable text.")
    private boolean hex;

    private final InputStream stdin;

    public ShellCommand() {
        this(System.in);
    }

    /** A shell reading commands from {@code stdin} when no {@code -e} is given (tests pass a script). */
    public ShellCommand(InputStream stdin) {
        this.stdin = stdin;
    }

    /** Until the top-level {@code rolexkv} command registers this one: {@code java ... ShellCommand --config FILE}. */
    public static void main(String[] args) {
        System.exit(new CommandLine(new ShellCommand()).execute(args));
    }

    @Override
    public Integer call() {
        PrintWriter out = spec.commandLine().getOut();
        PrintWriter err = spec.commandLine().getErr();
        ConfigNode config;
        EmbeddedCluster embedded = null;
        BaseKV engine;
        try {
            config = ConfigNode.load(configFile);
            embedded = startInProcessNodes(config, err);
            engine = embedded == null ? KVEngines.open(config) : KVEngines.open(config, embedded.transport());
        } catch (ConfigException e) {
            err.println("shell: config " + configFile + ": " + e.getMessage());
            err.flush();
            closeQuietly(embedded);
            return EXIT_USAGE;
        } catch (RuntimeException e) {
            err.println("shell: cannot open the store of " + configFile + ": "
                    + UnexpectedFailures.report(spec.qualifiedName(), e));
            err.flush();
            closeQuietly(embedded);
            return EXIT_UNREACHABLE;
        }
        try (BaseKV opened = engine) {
            Shell shell = new Shell(opened, out, err, hex);
            int failures;
            if (!commands.isEmpty()) {
                failures = shell.run(new BufferedReader(new StringReader(String.join("\n", commands))), false);
            } else {
                boolean interactive = System.console() != null && stdin == System.in;
                if (interactive) {
                    out.println("rolexkv shell on " + opened + "; type help for commands, quit to leave");
                }
                failures = shell.run(new BufferedReader(new InputStreamReader(stdin, StandardCharsets.UTF_8)), interactive);
            }
            return failures == 0 ? 0 : EXIT_COMMAND_FAILED;
        } finally {
            closeQuietly(embedded);
        }
    }

    /**
     * For a {@code rolex} config over {@code loopback}: memory nodes can only live in this process, so start them,
     * served under the config's endpoints. Null for any other config.
     */
    private static EmbeddedCluster startInProcessNodes(ConfigNode config, PrintWriter err) {
        // describe() reads a field without claiming it, so an in_process config still has "transport" refused.
        if (!("\"" + RolexKVConfig.ENGINE_TYPE + "\"").equals(config.describe(KVEngines.ENGINE_TYPE_PROP_NAME))
                || !("\"" + LoopbackTransport.NAME + "\"").equals(config.describe(RolexKVConfig.TRANSPORT_PROP_NAME))) {
            return null;
        }
        RolexKVConfig rolex = RolexKVConfig.from(config);
        List<String> endpoints = rolex.memoryNodes().stream().map(RolexKVConfig.MemoryNodeRange::endpoint).toList();
        err.println("shell: starting " + endpoints.size() + " in-process memory node(s) " + endpoints
                + " (loopback): the store lives as long as this shell");
        err.flush();
        return EmbeddedCluster.start(LoopbackTransport.NAME, endpoints, EmbeddedCluster.Regions.DEFAULT, true);
    }

    private static void closeQuietly(EmbeddedCluster cluster) {
        if (cluster != null) {
            cluster.close();
        }
    }
}
