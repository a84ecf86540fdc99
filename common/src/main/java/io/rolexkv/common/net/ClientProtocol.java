package io.rolexkv.common.net;

import java.util.function.Function;
import java.util.function.ToIntFunction;

/**
 * What a protocol tells {@link FrameConnection} about its HELLO, the one frame a server sends unasked: how large it
 * may be, how to read it, and what it says about the server.
 *
 * @param peerKind           the server's kind for messages: {@code "memory node"}, {@code "rpc server"}
 * @param maxHelloFrameBytes the largest HELLO any server of this protocol sends, length field included
 * @param helloDecoder       decodes the HELLO, or throws naming what is wrong with it
 * @param maxFrameBytes      the largest frame the server that sent a HELLO sends, length field included
 * @param describe           who the server that sent a HELLO is, for messages: key=value text such as
 *                           {@code memory_node=3}, or empty
 * @param <H>                the decoded HELLO
 */
public record ClientProtocol<H>(String peerKind, int maxHelloFrameBytes, FrameDecoder<H> helloDecoder,
                                ToIntFunction<H> maxFrameBytes, Function<H, String> describe) {
}
