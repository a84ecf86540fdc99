package io.rolexkv.common.fabric;

import io.rolexkv.common.config.ConfigException;
import io.rolexkv.common.config.ConfigNode;
import io.rolexkv.common.fabric.loopback.LoopbackTransport;
import io.rolexkv.common.fabric.rdma.RdmaTransport;
import io.rolexkv.common.fabric.tcp.TcpTransport;
import io.rolexkv.common.net.ClusterSecret;
import io.rolexkv.common.net.NetSettings;

import java.nio.file.InvalidPathException;
import java.nio.file.Path;
import java.util.List;
import java.util.Optional;

/** The one place that turns a transport name from config into a transport. */
public final class FabricTransports {
    /** The config field, on memory nodes and engines alike, that names the cluster secret's file. */
    public static final String AUTH_SECRET_FILE_PROP_NAME = "auth_secret_file";
    /** The names config may use, in the order the docs list them. */
    public static final List<String> NAMES = List.of(LoopbackTransport.NAME, TcpTransport.NAME, RdmaTransport.NAME);

    private FabricTransports() {
    }

    /**
     * Reads the optional {@value #AUTH_SECRET_FILE_PROP_NAME} field of a memory node's or an engine's config, and
     * the secret in it right away, so that a bad file is a config error naming the field, not a failed start.
     *
     * @param transport the transport the same config names; rdma cannot prove a secret yet
     * @return the file, absolute, or empty when the field is absent
     * @throws ConfigException if the path is bad, the file cannot be read, is readable by group or others, is empty or
     *                         too short, or the transport is rdma
     */
    public static Optional<Path> readAuthSecretFile(ConfigNode section, String transport) {
        Optional<String> text = section.optionalString(AUTH_SECRET_FILE_PROP_NAME);
        if (text.isEmpty()) {
            return Optional.empty();
        }
        Path file;
        try {
            file = Path.of(text.get()).toAbsolutePath().normalize();
        } catch (InvalidPathException e) {
            throw section.error(AUTH_SECRET_FILE_PROP_NAME, "bad path", "found=" + section.describe(AUTH_SECRET_FILE_PROP_NAME)
                    + " error=" + e.getReason());
        }
        if (transport.equals(RdmaTransport.NAME)) {
            throw section.error(AUTH_SECRET_FILE_PROP_NAME, "not supported with transport=" + transport,
                    "found=" + file + " allowed=transport " + TcpTransport.NAME + " (rdma cannot prove a secret yet)");
        }
        try {
            ClusterSecret.fromFile(file, AUTH_SECRET_FILE_PROP_NAME);
        } catch (IllegalArgumentException e) {
            throw section.error(AUTH_SECRET_FILE_PROP_NAME, "bad secret file", e.getMessage());
        }
        return Optional.of(file);
    }

    /** The secret in {@code file}, if any: what {@link #readAuthSecretFile} returned. */
    public static Optional<ClusterSecret> secret(Optional<Path> file) {
        return file.map(path -> ClusterSecret.fromFile(path, AUTH_SECRET_FILE_PROP_NAME));
    }

    /**
     * A new transport of the named kind.
     *
     * @throws IllegalArgumentException for an unknown name, listing the allowed ones
     * @throws io.rolexkv.common.fabric.rdma.RdmaUnavailableException for {@code rdma} on a host that cannot do RDMA,
     *         naming what to install
     */
    public static FabricTransport create(String name, FabricLimits limits) {
        return create(name, limits, Optional.empty());
    }

    /**
     * A new transport of the named kind whose connections prove {@code secret} ({@link ClusterSecret}), on both the
     * serving and the connecting end. The loopback transport has no network to guard and ignores it.
     *
     * @throws IllegalArgumentException for an unknown name, or a secret with a transport that cannot prove one (rdma,
     *         for now), naming the setting
     */
    public static FabricTransport create(String name, FabricLimits limits, Optional<ClusterSecret> secret) {
        if (secret.isPresent() && name.equals(RdmaTransport.NAME)) {
            throw new IllegalArgumentException(AUTH_SECRET_FILE_PROP_NAME + " is not supported by transport=" + name
                    + " yet: use transport=" + TcpTransport.NAME + ", or no secret on a network you trust");
        }
        return switch (name) {
            case LoopbackTransport.NAME -> new LoopbackTransport(limits);
            case TcpTransport.NAME -> new TcpTransport(limits, NetSettings.DEFAULT.withSecret(secret));
            case RdmaTransport.NAME -> new RdmaTransport(limits);
            default -> throw new IllegalArgumentException("transport=" + name + " allowed=" + NAMES);
        };
    }
}
