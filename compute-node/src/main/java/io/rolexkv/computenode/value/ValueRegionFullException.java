package io.rolexkv.computenode.value;

/**
 * A write found no room for its value block: the memory node's values region is used up and no retired block of the
 * value's size class will free up. Nothing was stored. Give the memory node a larger {@value ValueRegionDescriptor#REGION_NAME}
 * region, or delete values (their blocks are reused after the grace period).
 */
public final class ValueRegionFullException extends RuntimeException {
    private static final long serialVersionUID = 1L;

    public ValueRegionFullException(String message) {
        super(message);
    }
}
