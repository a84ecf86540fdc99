package io.rolexkv.bench.system;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * The command line that runs one of this project's main classes in a JVM of its own, as this process runs: the same
 * JDK and class path, and the JVM flags {@code scripts/rolexkv} passes (DiSNI reaches into {@code sun.nio.ch}; the
 * fabric maps and touches native memory). Every child process of a benchmark starts this way.
 */
public final class JavaCommand {
    private JavaCommand() {
    }

    /** {@code java <flags> -cp <this class path> mainClass arguments...}. */
    public static List<String> of(String mainClass, List<String> arguments) {
        List<String> command = new ArrayList<>();
        command.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
        command.add("--add-exports");
        command.add("java.base/sun.nio.ch=ALL-UNNAMED");
        command.add("--enable-native-access=ALL-UNNAMED");
        command.add("-cp");
        command.add(System.getProperty("java.class.path"));
        command.add(mainClass);
        command.addAll(arguments);
        return command;
    }
}
