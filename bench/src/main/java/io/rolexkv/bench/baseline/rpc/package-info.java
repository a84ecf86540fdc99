/**
 * The rpc baseline: the traditional design the one-sided engines are compared against, where the memory node's CPU
 * executes every operation. {@link io.rolexkv.bench.baseline.rpc.RpcKVServer} keeps the store in a skip list and
 * answers length-prefixed binary frames ({@link io.rolexkv.bench.baseline.rpc.RpcFrameDescriptor}) over Netty;
 * {@link io.rolexkv.bench.baseline.rpc.RpcKV} is the {@link io.rolexkv.common.kv.BaseKV} engine that sends them.
 *
 * <p>Run the server in-process with {@code RpcKVServer.start(settings)} (port 0 picks a free port), or as a process:
 * {@code java -cp <bench classpath> io.rolexkv.bench.baseline.rpc.RpcKVServerMain --host 127.0.0.1 --port 0}, which
 * prints {@code rpc_server listening endpoint=HOST:PORT ...} and serves until SIGTERM (or the end of its standard input
 * with {@code --stop-on-stdin-close}). Then {@code RpcKV.connect("HOST:PORT")}.
 *
 * <p>What to compare: {@link io.rolexkv.bench.baseline.rpc.RpcKV#counters()} gives round trips and frame bytes per
 * operation on the client (one round trip per call; an update is two, plus one per lost race, because its function is
 * client-side Java and the server only runs a compare-and-set on the value bytes);
 * {@link io.rolexkv.bench.baseline.rpc.RpcKV#serverStats()} gives the server's requests and the CPU time its event
 * loops and its process spent: the cost the one-sided design moves off the memory node.
 */
package io.rolexkv.bench.baseline.rpc;
