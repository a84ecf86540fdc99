package io.rolexkv.bench.system;

import java.util.List;

/**
 * The one place that turns a system name from the command line into a running {@link SystemUnderTest}: ROLEX, the
 * Sherman-style B+tree baseline on the same engine and fabric, the RPC baseline, and the in-process reference. An
 * unknown name is refused with the list of known ones, never replaced by another system.
 */
public final class SystemUnderTestFactory {
    public static final String ROLEX = "rolex";
    public static final String BTREE = "btree";
    public static final String RPC = "rpc";
    public static final String IN_PROCESS = InProcessSystem.NAME;

    /** The names the command line accepts, in the order the docs list them. */
    public static final List<String> SYSTEMS = List.of(ROLEX, BTREE, RPC, IN_PROCESS);
    /** The systems that are the one-sided engine, whose engine config {@link SystemOptions#engineSettings} adjust. */
    public static final List<String> ONE_SIDED = List.of(ROLEX, BTREE);
    /** The fabrics systems with memory nodes may use. */
    public static final List<String> FABRICS = List.of("loopback", "tcp");

    private SystemUnderTestFactory() {
    }

    /**
     * Opens the system {@code options} names.
     *
     * @throws IllegalArgumentException for an unknown system or fabric, listing the allowed ones, or engine settings for a
     *                                  system without an engine config
     */
    public static SystemUnderTest open(SystemOptions options) {
        if (!FABRICS.contains(options.fabric())) {
            throw new IllegalArgumentException("fabric=" + options.fabric() + " allowed=" + FABRICS);
        }
        if (!options.engineSettings().isEmpty() && !ONE_SIDED.contains(options.system())) {
            throw new IllegalArgumentException("system=" + options.system() + " has no engine config for engine settings "
                    + options.engineSettings() + "; they apply to " + ONE_SIDED);
        }
        return switch (options.system()) {
            case IN_PROCESS -> {
                if (!options.memoryNodes().isEmpty()) {
                    throw new IllegalArgumentException("system=" + IN_PROCESS + " runs without memory nodes but"
                            + " memory_nodes=" + options.memoryNodes() + " were given");
                }
                yield new InProcessSystem(options.maxValueBytes());
            }
            case ROLEX -> RolexSystem.open(options);
            case RPC -> RpcSystem.open(options);
            case BTREE -> BTreeSystem.open(options);
            default -> throw new IllegalArgumentException("system=" + options.system() + " allowed=" + SYSTEMS);
        };
    }
}
