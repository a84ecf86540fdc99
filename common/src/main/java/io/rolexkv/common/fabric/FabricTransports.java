package io.rolexkv.common.fabric;

import io.rolexkv.common.fabric.loopback.LoopbackTransport;
import io.rolexkv.common.fabric.rdma.RdmaTransport;
import io.rolexkv.common.fabric.tcp.TcpTransport;

import java.util.List;

/** The one place that turns a transport name from config into a transport. */
public final class FabricTransports {
    /** The names config may use, in the order the docs list them. */
    public static final List<String> NAMES = List.of(LoopbackTransport.NAME, TcpTransport.NAME, RdmaTransport.NAME);

    private FabricTransports() {
    }

    /**
     * A new transport of the named kind.
     *
     * @throws IllegalArgumentException for an unknown name, listing the allowed ones
     * @throws io.rolexkv.common.fabric.rdma.RdmaUnavailableException for {@code rdma} on a host that cannot do RDMA,
     *         naming what to install
     */
    public static FabricTransport create(String name, FabricLimits limits) {
        return switch (name) {
            case LoopbackTransport.NAME -> new LoopbackTransport(limits);
            case TcpTransport.NAME -> new TcpTransport(limits);
            case RdmaTransport.NAME -> new RdmaTransport(limits);
            default -> throw new IllegalArgumentException("transport=" + name + " allowed=" + NAMES);
        };
    }
}
