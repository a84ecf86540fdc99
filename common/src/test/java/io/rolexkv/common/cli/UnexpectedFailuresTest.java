package io.rolexkv.common.cli;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

class UnexpectedFailuresTest {

    @Test
    void theTerminalGetsOneLineAndTheLogFileTheStackTrace(@TempDir Path folder) throws IOException {
        String previous = System.getProperty(UnexpectedFailures.LOG_DIR_PROP_NAME);
        System.setProperty(UnexpectedFailures.LOG_DIR_PROP_NAME, folder.toString());
        try {
            IllegalStateException failure = new IllegalStateException("engine broke\nsecond line",
                    new UncheckedIOException("disk gone", new IOException("disk gone")));
            String line = UnexpectedFailures.report("rolexkv ycsb", failure);
            assertFalse(line.contains("\n"), line);
            assertTrue(line.startsWith("engine broke; caused by UncheckedIOException: disk gone"
                    + " (stack trace in " + folder), line);
            Path log = Path.of(line.substring(line.indexOf(folder.toString()), line.length() - 1));
            String trace = Files.readString(log);
            assertTrue(trace.startsWith("rolexkv ycsb: engine broke"), trace);
            assertTrue(trace.contains("java.lang.IllegalStateException: engine broke"), trace);
            assertTrue(trace.contains("at io.rolexkv.common.cli.UnexpectedFailuresTest"), trace);
            assertTrue(log.getFileName().toString().startsWith("rolexkv-ycsb-"), log.toString());
        } finally {
            if (previous == null) {
                System.clearProperty(UnexpectedFailures.LOG_DIR_PROP_NAME);
            } else {
                System.setProperty(UnexpectedFailures.LOG_DIR_PROP_NAME, previous);
            }
        }
    }

    @Test
    void aFailureWithoutMessageIsNamedByItsType() {
        assertEquals("NullPointerException", UnexpectedFailures.oneLine(new NullPointerException()));
    }
}
