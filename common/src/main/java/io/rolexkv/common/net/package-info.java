/**
 * The one pipelined client and (Netty) server layer every tcp protocol of this project runs on: the tcp fabric's
 * one-sided verbs ({@link io.rolexkv.common.fabric.tcp}) and the rpc baseline's operations. A protocol brings its own
 * frame bodies and codec, its HELLO ({@link io.rolexkv.common.net.ClientProtocol}) and its executor
 * ({@link io.rolexkv.common.net.RequestHandler}); this layer does the rest once, for both: the frame header
 * ({@link io.rolexkv.common.net.FrameHeader}), cutting the stream into frames ({@link io.rolexkv.common.net.FrameSplitter}),
 * the HELLO handshake, request ids and the pending-request table with its time-out
 * ({@link io.rolexkv.common.net.FrameConnection}), back-pressure and closing a connection that sends a bad frame after
 * flushing the answers before it ({@link io.rolexkv.common.net.FrameServer}), and the settings
 * ({@link io.rolexkv.common.net.NetSettings}).
 */
package io.rolexkv.common.net;
