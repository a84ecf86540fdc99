package io.rolexkv.bench.cli;

import io.rolexkv.common.cli.UnexpectedFailures;
import io.rolexkv.common.config.ConfigException;
import io.rolexkv.computenode.cli.ShellCommand;
import io.rolexkv.memorynode.MemoryNodeCommand;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.ParseResult;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.Spec;
import picocli.CommandLine.UnmatchedArgumentException;

import java.io.IOException;
import java.io.InputStream;
import java.io.PrintWriter;
import java.io.UncheckedIOException;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.Properties;
import java.util.TreeSet;
import java.util.concurrent.Callable;

/**
 * {@code rolexkv}: the one command line of the project, run by {@code scripts/rolexkv}. It lives in {@code bench}
 * because that is the only module that sees every subcommand (memory node here; compute-node shell, YCSB runs and
 * the rest join as they are built).
 *
 * <p>Errors in options print one line naming the option, with a hint to {@code --help}, and exit with code 2;
 * subcommands report config errors the same way, and a config error that escapes a subcommand is caught here and
 * reported so too. No stack traces for a user's mistake. Anything else that escapes a subcommand is unexpected: one
 * line saying what failed, the stack trace in a log file the line names ({@link UnexpectedFailures}), exit code 1.
 */
@Command(name = "rolexkv", mixinStandardHelpOptions = true, versionProvider = RolexKvCli.Version.class,
        usageHelpAutoWidth = true,
        description = "A key-value store for RDMA disaggregated memory, indexed by the ROLEX learned index.",
        subcommands = {MemoryNodeCommand.class, ShellCommand.class, YcsbCommand.class, CompareCommand.class,
                CommandLine.HelpCommand.class},
        footer = {"", "Run 'rolexkv COMMAND --help' for a command's options."})
public final class RolexKvCli implements Callable<Integer> {
    @Spec
    private CommandSpec spec;

    public static void main(String[] args) {
        System.exit(commandLine().execute(args));
    }

    /** The command line with the project's error handling; tests run it with captured output. */
    public static CommandLine commandLine() {
        CommandLine commandLine = new CommandLine(new RolexKvCli());
        commandLine.setParameterExceptionHandler(RolexKvCli::reportUsageError);
        commandLine.setExecutionExceptionHandler(RolexKvCli::reportFailure);
        return commandLine;
    }

    /** {@code rolexkv} with no command: say what there is to run. */
    @Override
    public Integer call() {
        PrintWriter err = spec.commandLine().getErr();
        err.println("rolexkv: missing command; one of " + spec.subcommands().keySet() + " (see 'rolexkv --help')");
        err.flush();
        return spec.exitCodeOnInvalidInput();
    }

    private static int reportUsageError(ParameterException e, String[] args) {
        CommandLine commandLine = e.getCommandLine();
        String name = commandLine.getCommandSpec().qualifiedName();
        StringBuilder message = new StringBuilder(name).append(": ").append(e.getMessage());
        if (e instanceof UnmatchedArgumentException unmatched && !unmatched.getUnmatched().isEmpty()) {
            String typed = unmatched.getUnmatched().getFirst();
            CommandSpec spec = commandLine.getCommandSpec();
            List<String> suggestions = nearest(typed, typed.startsWith("-") ? spec.optionsMap().keySet() : spec.subcommands().keySet());
            if (!suggestions.isEmpty()) {
                message.append("; did you mean ").append(String.join(" or ", suggestions)).append('?');
            }
        }
        message.append(" (see '").append(name).append(" --help')");
        PrintWriter err = commandLine.getErr();
        err.println(message);
        err.flush();
        return commandLine.getCommandSpec().exitCodeOnInvalidInput();
    }

    /**
     * A failure a subcommand let through: a config error is the user's (one line, exit 2); anything else is unexpected
     * (one line, the stack trace in a log file, exit 1).
     */
    private static int reportFailure(Exception failure, CommandLine commandLine, ParseResult parsed) {
        String name = commandLine.getCommandSpec().qualifiedName();
        PrintWriter err = commandLine.getErr();
        if (failure instanceof ConfigException config) {
            err.println(name + ": " + config.getMessage());
            err.flush();
            return commandLine.getCommandSpec().exitCodeOnInvalidInput();
        }
        err.println(name + ": failed: " + UnexpectedFailures.report(name, failure));
        err.flush();
        return commandLine.getCommandSpec().exitCodeOnExecutionException();
    }

    /** The candidates closest to {@code typed} by edit distance (a swap of two letters counts one), if close at all. */
    static List<String> nearest(String typed, Collection<String> candidates) {
        int limit = Math.max(1, typed.length() / 4);
        int best = Integer.MAX_VALUE;
        List<String> nearest = new ArrayList<>();
        for (String candidate : new TreeSet<>(candidates)) {
            int distance = editDistance(typed, candidate);
            if (distance <= limit && distance <= best) {
                if (distance < best) {
                    nearest.clear();
                    best = distance;
                }
                nearest.add(candidate);
            }
        }
        return nearest;
    }

    /** Optimal string alignment distance: insertions, deletions, substitutions and adjacent swaps, each costing one. */
    static int editDistance(String a, String b) {
        int[][] distance = new int[a.length() + 1][b.length() + 1];
        for (int i = 0; i <= a.length(); i++) {
            distance[i][0] = i;
        }
        for (int j = 0; j <= b.length(); j++) {
            distance[0][j] = j;
        }
        for (int i = 1; i <= a.length(); i++) {
            for (int j = 1; j <= b.length(); j++) {
                int cost = a.charAt(i - 1) == b.charAt(j - 1) ? 0 : 1;
                int value = Math.min(Math.min(distance[i - 1][j] + 1, distance[i][j - 1] + 1), distance[i - 1][j - 1] + cost);
                if (i > 1 && j > 1 && a.charAt(i - 1) == b.charAt(j - 2) && a.charAt(i - 2) == b.charAt(j - 1)) {
                    value = Math.min(value, distance[i - 2][j - 2] + 1);
                }
                distance[i][j] = value;
            }
        }
        return distance[a.length()][b.length()];
    }

    /** The project version, written into a resource at build time. */
    static final class Version implements CommandLine.IVersionProvider {
        @Override
        public String[] getVersion() {
            Properties properties = new Properties();
            try (InputStream in = RolexKvCli.class.getResourceAsStream("version.properties")) {
                if (in != null) {
                    properties.load(in);
                }
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
            return new String[]{"rolexkv " + properties.getProperty("version", "unknown"),
                    "Java " + Runtime.version() + " (" + System.getProperty("java.vm.name") + ")"};
        }
    }
}
