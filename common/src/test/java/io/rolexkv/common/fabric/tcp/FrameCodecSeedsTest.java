package io.rolexkv.common.fabric.tcp;

import io.netty.buffer.Unpooled;
import io.rolexkv.common.fabric.DoorbellBatch;
import io.rolexkv.common.fabric.GlobalAddress;
import io.rolexkv.common.net.FrameFormatException;
import org.junit.jupiter.api.function.Executable;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import java.io.IOException;
import java.io.InputStream;

import static org.junit.jupiter.api.Assertions.assertDoesNotThrow;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertThrows;

/**
 * The seeds {@link FrameCodecFuzzTest} replays are what their names say: a valid frame decodes, a broken one is refused.
 * A wire version change that leaves the valid seeds behind would otherwise make every seed a refusal, and the replay
 * would still pass while exercising nothing past the header.
 */
class FrameCodecSeedsTest {
    private static final String INPUTS = "FrameCodecFuzzTestInputs/";

    @ParameterizedTest(name = "{0}/{1}: valid={2}")
    @CsvSource({
            "requestDecoderDecodesOrRefuses, one_write, true",
            "requestDecoderDecodesOrRefuses, four_verbs, true",
            "requestDecoderDecodesOrRefuses, no_verbs, true",
            "requestDecoderDecodesOrRefuses, negative_count, false",
            "requestDecoderDecodesOrRefuses, truncated, false",
            "requestDecoderDecodesOrRefuses, bad_magic, false",
            "completionDecoderDecodesOrRefuses, done, true",
            "completionDecoderDecodesOrRefuses, refused, true",
            "completionDecoderDecodesOrRefuses, refused_whole_batch, true",
            "completionDecoderDecodesOrRefuses, bad_status, false",
            "helloDecoderDecodesOrRefuses, two_regions, true",
            "helloDecoderDecodesOrRefuses, no_regions, true",
            "helloDecoderDecodesOrRefuses, bad_limits, false",
    })
    void aSeedDecodesExactlyWhenItsNameSaysItIsValid(String target, String seed, boolean valid) throws IOException {
        byte[] data = seed(target + "/" + seed);
        Executable decode = switch (target) {
            case "requestDecoderDecodesOrRefuses" -> () -> FrameCodec.decodeRequest(Unpooled.wrappedBuffer(data));
            case "completionDecoderDecodesOrRefuses" ->
                    () -> FrameCodec.decodeCompletion(Unpooled.wrappedBuffer(data), posted());
            case "helloDecoderDecodesOrRefuses" -> () -> FrameCodec.decodeHello(Unpooled.wrappedBuffer(data));
            default -> throw new IllegalArgumentException(target);
        };
        if (valid) {
            assertDoesNotThrow(decode, seed + " is a valid frame of this wire version");
        } else {
            assertThrows(FrameFormatException.class, decode, seed + " is refused");
        }
    }

    /** The batch the fuzz test's completions claim to complete (the same shape as there). */
    private static DoorbellBatch posted() {
        DoorbellBatch batch = new DoorbellBatch();
        batch.read(GlobalAddress.of(3, 0, 0), 16);
        batch.write(GlobalAddress.of(3, 0, 8), new byte[] {1, 2, 3, 4});
        batch.compareAndSwap(GlobalAddress.of(3, 0, 16), 5, 6);
        batch.fetchAndAdd(GlobalAddress.of(3, 0, 24), 7);
        batch.read(GlobalAddress.of(3, 1, 0), 0);
        return batch;
    }

    private static byte[] seed(String name) throws IOException {
        try (InputStream in = FrameCodecSeedsTest.class.getResourceAsStream(INPUTS + name)) {
            assertNotNull(in, "seed " + name);
            return in.readAllBytes();
        }
    }
}
