package io.rolexkv.common.net;

/**
 * A tcp endpoint as config and {@link io.rolexkv.common.fabric.FabricServer#endpoint()} write it: {@code host:port},
 * or {@code [v6-address]:port}. Port 0 means any free port when binding.
 *
 * @param host a host name or IP address, without brackets
 * @param port 0 to 65535
 */
public record TcpEndpoint(String host, int port) {
    public TcpEndpoint {
        if (host == null || host.isEmpty()) {
            throw new IllegalArgumentException("tcp endpoint has no host");
        }
        if (port < 0 || port > 0xFFFF) {
            throw new IllegalArgumentException("tcp endpoint host=" + host + " port=" + port + " allowed=[0,65535]");
        }
    }

    /** Parses {@code host:port} or {@code [v6-address]:port}. */
    public static TcpEndpoint parse(String endpoint) {
        int colon = endpoint.lastIndexOf(':');
        if (colon <= 0 || colon == endpoint.length() - 1) {
            throw new IllegalArgumentException("endpoint=" + endpoint + " expected=host:port");
        }
        String host = endpoint.substring(0, colon);
        if (host.startsWith("[") && host.endsWith("]")) {
            host = host.substring(1, host.length() - 1);
        } else if (host.indexOf(':') >= 0) {
            throw new IllegalArgumentException("endpoint=" + endpoint + " expected=[v6-address]:port for an IPv6 host");
        }
        int port;
        try {
            port = Integer.parseInt(endpoint.substring(colon + 1));
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException("endpoint=" + endpoint + " port is not a number", e);
        }
        return new TcpEndpoint(host, port);
    }

    @Override
    public String toString() {
        return host.indexOf(':') >= 0 ? "[" + host + "]:" + port : host + ":" + port;
    }
}
