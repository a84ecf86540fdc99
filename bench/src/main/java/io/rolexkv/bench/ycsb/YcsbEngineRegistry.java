package io.rolexkv.bench.ycsb;

import io.rolexkv.bench.system.OperationCostProbe;
import io.rolexkv.common.kv.BaseKV;

import java.util.Optional;
import java.util.concurrent.atomic.AtomicReference;

/**
 * Where YCSB's bindings find the engine. YCSB creates one {@code DB} per client thread, by class name, with no way to
 * pass it an object; but the engine (its connections, its model cache) must be one per process and shared by every
 * thread, as a real compute node's would be. So whoever runs YCSB in-process installs the engine here first and every
 * {@link RolexKvYcsbClient} takes it from here in {@code init()}; with nothing installed (YCSB's own
 * {@code site.ycsb.Client}), the bindings share an engine they open themselves ({@link StandaloneEngine}).
 *
 * <p>One installation at a time; closing the returned {@link Installation} removes it (try-with-resources). The engine
 * is not closed by the registry: its owner closes it.
 */
public final class YcsbEngineRegistry {
    private static final AtomicReference<YcsbBindingContext> INSTALLED = new AtomicReference<>();

    private YcsbEngineRegistry() {
    }

    /** Installs {@code engine}, without fabric costs, for the bindings created from now on. */
    public static Installation install(BaseKV engine) {
        return install(YcsbBindingContext.of(engine, OperationCostProbe.NONE));
    }

    /**
     * Installs {@code context} for the bindings created from now on.
     *
     * @throws IllegalStateException if another context is installed
     */
    public static Installation install(YcsbBindingContext context) {
        if (!INSTALLED.compareAndSet(null, context)) {
            throw new IllegalStateException("a YCSB engine is already installed; close its installation first");
        }
        return new Installation(context);
    }

    /**
     * The installed context.
     *
     * @throws IllegalStateException if none is installed
     */
    public static YcsbBindingContext installed() {
        YcsbBindingContext context = INSTALLED.get();
        if (context == null) {
            throw new IllegalStateException("no engine is installed for the YCSB binding: call"
                    + " YcsbEngineRegistry.install(engine) before YCSB creates its clients (YcsbRunner does)");
        }
        return context;
    }

    /** The installed context, if any. */
    public static Optional<YcsbBindingContext> current() {
        return Optional.ofNullable(INSTALLED.get());
    }

    /** One engine installed; {@link #close()} uninstalls it. */
    public static final class Installation implements AutoCloseable {
        private final YcsbBindingContext context;

        private Installation(YcsbBindingContext context) {
            this.context = context;
        }

        public YcsbBindingContext context() {
            return context;
        }

        /** Uninstalls this context (if it is still the one installed). Idempotent. */
        @Override
        public void close() {
            INSTALLED.compareAndSet(context, null);
        }
    }
}
