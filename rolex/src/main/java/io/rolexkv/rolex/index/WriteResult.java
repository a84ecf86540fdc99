package io.rolexkv.rolex.index;

import java.util.OptionalLong;

/** What a write of a {@link WordIndex} found and left: the key's word before and after (empty: absent). */
public record WriteResult(OptionalLong previous, OptionalLong written) {
    public PutOutcome outcome() {
        return previous.isPresent() ? PutOutcome.UPDATED : PutOutcome.INSERTED;
    }
}
