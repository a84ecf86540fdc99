package io.rolexkv.common.cli;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.LocalDateTime;
import java.time.format.DateTimeFormatter;

/**
 * How the command line reports a failure that is not the user's mistake (a bug, a broken peer, a full disk): one line on
 * the terminal that says what happened, and the stack trace in a log file the line names, for whoever debugs it. A
 * user's mistake (a bad option or config) is reported by the command itself, in one line that names the field, and
 * never comes here.
 *
 * <p>Log files go to the folder the system property {@value #LOG_DIR_PROP_NAME} names, else the system's temporary
 * folder.
 */
public final class UnexpectedFailures {
    public static final String LOG_DIR_PROP_NAME = "rolexkv.log.dir";
    private static final Logger LOG = LoggerFactory.getLogger(UnexpectedFailures.class);
    private static final DateTimeFormatter STAMP = DateTimeFormatter.ofPattern("yyyyMMdd-HHmmss");

    private UnexpectedFailures() {
    }

    /**
     * Writes {@code failure}'s stack trace to a new log file for {@code command} (words like {@code rolexkv ycsb}) and
     * returns the line for the terminal: what failed and where the trace is.
     */
    public static String report(String command, Throwable failure) {
        String line = oneLine(failure);
        StringWriter trace = new StringWriter();
        try (PrintWriter writer = new PrintWriter(trace)) {
            writer.println(command + ": " + line);
            failure.printStackTrace(writer);
        }
        Path folder = Path.of(System.getProperty(LOG_DIR_PROP_NAME, System.getProperty("java.io.tmpdir")));
        String name = command.strip().replaceAll("[^A-Za-z0-9]+", "-") + "-" + LocalDateTime.now().format(STAMP) + "-"
                + ProcessHandle.current().pid() + "-";
        try {
            Files.createDirectories(folder);
            Path file = Files.createTempFile(folder, name, ".log");
            Files.writeString(file, trace.toString());
            LOG.debug("{}", trace);
            return line + " (stack trace in " + file + ")";
        } catch (IOException | RuntimeException e) {
            return line + " (its stack trace could not be written to " + folder + ": " + e + ")";
        }
    }

    /**
     * The failure's message (its type if it has none), cut to its first line; each cause whose message adds something
     * is appended as {@code caused by Type: message}.
     */
    public static String oneLine(Throwable failure) {
        String message = failure.getMessage();
        StringBuilder text = new StringBuilder(message == null || message.isBlank() ? failure.getClass().getSimpleName()
                : firstLine(message));
        for (Throwable cause = failure.getCause(); cause != null && cause != cause.getCause(); cause = cause.getCause()) {
            String causeMessage = cause.getMessage();
            if (causeMessage != null && !text.toString().contains(firstLine(causeMessage))) {
                text.append("; caused by ").append(describe(cause));
            }
        }
        return text.toString();
    }

    private static String describe(Throwable failure) {
        String message = failure.getMessage();
        return failure.getClass().getSimpleName() + (message == null || message.isBlank() ? "" : ": " + firstLine(message));
    }

    private static String firstLine(String message) {
        int end = message.indexOf('\n');
        return (end < 0 ? message : message.substring(0, end)).strip();
    }
}
