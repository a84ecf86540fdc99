/**
 * The {@code tcp} fabric transport: one-sided verbs emulated over the network layer ({@link io.rolexkv.common.net}),
 * for machines without RDMA.
 *
 * <p>{@link io.rolexkv.common.fabric.tcp.TcpTransport} is the client side and starts servers;
 * {@link io.rolexkv.common.fabric.tcp.TcpFabricServer} is a memory node's software NIC;
 * {@link io.rolexkv.common.fabric.tcp.TcpConnection} is one queue pair. Every byte of a frame's body is laid out in
 * {@link io.rolexkv.common.fabric.tcp.FrameDescriptor} and written and read only by
 * {@link io.rolexkv.common.fabric.tcp.FrameCodec}. Settings are the network layer's
 * {@link io.rolexkv.common.net.NetSettings}.
 *
 * <p>In a test: {@code TcpTransport transport = new TcpTransport(); FabricServer server =
 * transport.serve(memory, "127.0.0.1:0"); FabricConnection connection = transport.connect(server.endpoint(), null);}
 */
package io.rolexkv.common.fabric.tcp;
