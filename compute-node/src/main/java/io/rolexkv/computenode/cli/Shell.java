package io.rolexkv.computenode.cli;

import io.rolexkv.common.cli.UnexpectedFailures;
import io.rolexkv.common.fabric.FabricCounters;
import io.rolexkv.common.kv.BaseKV;
import io.rolexkv.common.kv.KeyValueBytes;
import io.rolexkv.computenode.KeyText;
import io.rolexkv.computenode.engine.RolexKV;
import io.rolexkv.computenode.value.ValueAllocator;
import io.rolexkv.rolex.index.IndexCounters;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.PrintWriter;
import java.io.UncheckedIOException;
import java.util.List;
import java.util.Locale;
import java.util.Optional;

/**
 * The shell's interpreter: one command per line against one {@link BaseKV}. Kept apart from the command-line wrapper
 * ({@link ShellCommand}) so tests drive it with strings.
 *
 * <pre>
 *   get KEY                 the value, or (absent)
 *   put KEY VALUE           stores VALUE: 0xHEX, "quoted text" with escapes, or the rest of the line as text
 *   delete KEY              deleted, or absent
 *   scan FROM [TO] [LIMIT]  KEY VALUE lines in key order; TO defaults to the largest key, LIMIT to 100
 *   stats                   the engine's cost counters and state
 *   help                    this list
 *   quit                    leaves (so does the end of input)
 * </pre>
 *
 * Keys are unsigned decimal or 0x hex ({@link KeyText}). Blank lines and lines starting with {@code #} are ignored.
 * A failed command prints {@code error: ...} on the error stream and the shell goes on.
 */
public final class Shell {
    static final String PROMPT = "rolexkv> ";
    static final int SCAN_LIMIT_DEFAULT = 100;
    static final String HELP = String.join(System.lineSeparator(),
            "commands:",
            "  get KEY                 the value, or (absent)",
            "  put KEY VALUE           VALUE: 0xHEX, \"quoted text\" (escapes \\\" \\\\ \\n \\t \\r \\0 \\xHH), or text to the end of the line",
            "  delete KEY              deleted, or absent",
            "  scan FROM [TO] [LIMIT]  KEY VALUE lines in key order (TO: the largest key, LIMIT: " + SCAN_LIMIT_DEFAULT + ", by default)",
            "  stats                   the engine's cost counters and state",
            "  help                    this list",
            "  quit                    leave (so does the end of input)",
            "keys: unsigned decimal (42) or hexadecimal (0x2a)");

    private final BaseKV engine;
    private final PrintWriter out;
    private final PrintWriter err;
    private final boolean hex;
    private boolean quit;

    /**
     * @param hex print every value as hex, even printable text
     */
    public Shell(BaseKV engine, PrintWriter out, PrintWriter err, boolean hex) {
        this.engine = engine;
        this.out = out;
        this.err = err;
        this.hex = hex;
    }

    /**
     * Runs commands from {@code in} until {@code quit} or the end of input; with {@code interactive}, prompts.
     *
     * @return how many commands failed
     */
    public int run(BufferedReader in, boolean interactive) {
        int failures = 0;
        try {
            while (!quit) {
                if (interactive) {
                    out.print(PROMPT);
                    out.flush();
                }
                String line = in.readLine();
                if (line == null) {
                    break;
                }
                if (!execute(line)) {
                    failures++;
                }
            }
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read commands", e);
        }
        return failures;
    }

    /** Runs one command line; returns false if it failed (the error is printed). */
    public boolean execute(String line) {
        String trimmed = line.strip();
        if (trimmed.isEmpty() || trimmed.startsWith("#")) {
            return true;
        }
        String[] parts = trimmed.split("\\s+", 3);
        String command = parts[0].toLowerCase(Locale.ROOT);
        try {
            switch (command) {
                case "get" -> get(argument(parts, 1, "get KEY"), parts.length > 2 ? parts[2] : null);
                case "put" -> put(argument(parts, 1, "put KEY VALUE"), parts.length > 2 ? parts[2] : "");
                case "delete", "del" -> delete(argument(parts, 1, "delete KEY"), parts.length > 2 ? parts[2] : null);
                case "scan" -> scan(trimmed.split("\\s+"));
                case "stats" -> stats();
                case "help", "?" -> out.println(HELP);
                case "quit", "exit" -> quit = true;
                default -> throw new IllegalArgumentException("unknown command \"" + parts[0] + "\"; try help");
            }
            return true;
        } catch (IllegalArgumentException e) {
            err.println("error: " + e.getMessage()); // the user's mistake: a bad key, value or command
            return false;
        } catch (RuntimeException e) {
            // The store failed (a lost connection, a give-up, corruption): say what, and keep the trace for whoever debugs.
            err.println("error: " + UnexpectedFailures.report("rolexkv shell " + command, e));
            return false;
        } finally {
            out.flush();
            err.flush();
        }
    }

    private static String argument(String[] parts, int index, String usage) {
        if (parts.length <= index) {
            throw new IllegalArgumentException("usage: " + usage);
        }
        return parts[index];
    }

    private static long key(String text) {
        try {
            return KeyText.parse(text);
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException("bad key: " + e.getMessage());
        }
    }

    private static void noMore(String extra, String usage) {
        if (extra != null) {
            throw new IllegalArgumentException("unexpected \"" + extra + "\"; usage: " + usage);
        }
    }

    private void get(String keyText, String extra) {
        noMore(extra, "get KEY");
        Optional<byte[]> value = engine.get(key(keyText));
        out.println(value.map(bytes -> ValueText.format(bytes, hex)).orElse("(absent)"));
    }

    private void put(String keyText, String valueText) {
        long key = key(keyText);
        engine.put(key, ValueText.parse(valueText));
        out.println("ok");
    }

    private void delete(String keyText, String extra) {
        noMore(extra, "delete KEY");
        out.println(engine.delete(key(keyText)) ? "deleted" : "absent");
    }

    private void scan(String[] parts) {
        if (parts.length < 2 || parts.length > 4) {
            throw new IllegalArgumentException("usage: scan FROM [TO] [LIMIT]");
        }
        long from = key(parts[1]);
        long to = parts.length > 2 ? key(parts[2]) : -1L;
        int limit = SCAN_LIMIT_DEFAULT;
        if (parts.length > 3) {
            try {
                limit = Integer.parseInt(parts[3]);
            } catch (NumberFormatException e) {
                throw new IllegalArgumentException("bad limit \"" + parts[3] + "\": expected a count from 0 to " + Integer.MAX_VALUE);
            }
        }
        List<KeyValueBytes> pairs = engine.scan(from, to, limit);
        for (KeyValueBytes pair : pairs) {
            out.println(KeyText.decimal(pair.key()) + " " + ValueText.format(pair.value(), hex));
        }
    }

    private void stats() {
        out.println("engine=" + engine.getClass().getSimpleName() + " max_value_bytes=" + engine.maxValueBytes());
        if (!(engine instanceof RolexKV rolex)) {
            out.println("no fabric: everything is in this process");
            return;
        }
        out.println("memory_nodes=" + rolex.memoryNodes());
        out.println("value_layout=" + rolex.valueFormat().configName());
        FabricCounters.Snapshot counters = rolex.counters().snapshot();
        out.println("doorbells=" + counters.doorbells() + " reads=" + counters.reads() + " writes=" + counters.writes()
                + " compare_and_swaps=" + counters.compareAndSwaps() + " fetch_and_adds=" + counters.fetchAndAdds()
                + " bytes_read=" + counters.bytesRead() + " bytes_written=" + counters.bytesWritten());
        out.println("model_cache_bytes=" + rolex.modelCacheBytes());
        IndexCounters.Snapshot index = rolex.indexCounters();
        out.println("index: splits=" + index.splits() + " lock_conflicts=" + index.lockConflicts() + " torn_reads="
                + index.tornReads() + " refreshes=" + index.refreshes() + " inserts_rejected=" + index.insertsRejected());
        ValueAllocator.ValueSpace space = rolex.valueSpace();
        out.println("value_bytes: claimed=" + space.claimedBytes() + " allocated=" + space.allocatedBytes()
                + " retired=" + space.retiredBytes() + " reused=" + space.reusedBytes() + " pending=" + space.pendingBytes()
                + " free=" + space.freeBytes() + " stale_block_reads=" + rolex.staleBlockReads());
    }
}
