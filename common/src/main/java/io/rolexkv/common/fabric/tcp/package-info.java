/**
 * The {@code tcp} fabric transport: one-sided verbs emulated over Netty, for machines without RDMA.
 *
 * <p>{@link io.rolexkv.common.fabric.tcp.TcpTransport} is the client side and starts servers;
 * {@link io.rolexkv.common.fabric.tcp.TcpFabricServer} is a memory node's software NIC;
 * {@link io.rolexkv.common.fabric.tcp.TcpConnection} is one queue pair. Every byte on the wire is laid out in
 * {@link io.rolexkv.common.fabric.tcp.FrameDescriptor} and written and read only by
 * {@link io.rolexkv.common.fabric.tcp.FrameCodec}. Settings live in {@link io.rolexkv.common.fabric.tcp.TcpSettings}.
 *
 * <p>In a test: {@code TcpTransport transport = new TcpTransport(); FabricServer server =
 * transport.serve(memory, "127.0.0.1:0"); FabricConnection connection = transport.connect(server.endpoint(), null);}
 */
package io.rolexkv.common.fabric.tcp;
