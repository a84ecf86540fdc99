package io.rolexkv.common.fabric;

/**
 * What a client learns about one registered region when it connects (the tcp and rdma transports exchange this
 * right after the connection is set up, as RDMA peers exchange address, length and rkey).
 *
 * @param id     the region number in {@link GlobalAddress}
 * @param name   the name the memory node registered it under (for example {@code "leaves"}); unique per node
 * @param length bytes in the region
 */
public record RegionInfo(int id, String name, long length) {
    public RegionInfo {
        if (id < 0 || id >= GlobalAddress.MAX_REGIONS) {
            throw new IllegalArgumentException("region id=" + id + " allowed=[0," + (GlobalAddress.MAX_REGIONS - 1) + "]");
        }
        if (name == null || name.isEmpty()) {
            throw new IllegalArgumentException("region id=" + id + " has no name");
        }
        if (length < 0) {
            throw new IllegalArgumentException("region " + name + " length=" + length + " must be >= 0");
        }
    }
}
