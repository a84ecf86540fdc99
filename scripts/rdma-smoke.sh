#!/usr/bin/env bash
# Hardware smoke test of the rdma transport, for a host with an RDMA NIC (InfiniBand or RoCE).
#
# Checks the prerequisites, builds the project if needed, starts a memory node process serving one region over
# rdma, runs a client doing READ/WRITE/CAS/FAA, an in-order batch, a large transfer, a rejected verb and a
# multi-thread FAA sum against it, and prints PASS or FAIL. Both ends run on this host, through its NIC.
#
# Usage: scripts/rdma-smoke.sh [HOST]
#   HOST                IPv4 address of the RDMA interface to serve on (default: $RDMA_HOST, else the address of
#                       the first netdev `rdma link` lists)
# Environment:
#   RDMA_PORT           port to serve on (default 18515)
#   DISNI_LIBRARY_PATH  directory holding libdisni.so (default /usr/local/lib)
#   DISNI_JAR           DiSNI jar built with atomics support; put first on the class path (the registry's 2.1
#                       drops atomic operands and the transport refuses to run with it)
#   SMOKE_THREADS, SMOKE_ADDS   the concurrent FAA check: threads and adds per thread (default 4 and 2000)
# Exit status: 0 PASS, 1 FAIL.
set -euo pipefail
cd "$(dirname "$0")/.."

HOST="${1:-${RDMA_HOST:-}}"
PORT="${RDMA_PORT:-18515}"
DISNI_LIBRARY_PATH="${DISNI_LIBRARY_PATH:-/usr/local/lib}"
DISNI_JAR="${DISNI_JAR:-}"
THREADS="${SMOKE_THREADS:-4}"
ADDS="${SMOKE_ADDS:-2000}"
MAIN=io.rolexkv.common.fabric.rdma.RdmaSmokeCheck
COMMON_JAR=common/target/common-0.1.0-SNAPSHOT.jar
LIB_DIR=bench/target/lib

fail() {
  echo "FAIL rdma smoke: $*"
  exit 1
}

# --- JDK 25: $JAVA_HOME if it is 25, else the first installed one.
JAVA=""
if [[ -n "${JAVA_HOME:-}" && -x "$JAVA_HOME/bin/java" ]] && "$JAVA_HOME/bin/java" -version 2>&1 | grep -q 'version "25'; then
  JAVA="$JAVA_HOME/bin/java"
else
  for candidate in /usr/lib/jvm/*25*/bin/java; do
    if [[ -x "$candidate" ]]; then
      JAVA="$candidate"
      break
    fi
  done
fi
[[ -n "$JAVA" ]] || fail "no JDK 25 found (set JAVA_HOME to one, or install one under /usr/lib/jvm)"
echo "java:        $JAVA"

# --- Prerequisites, as the user can see them. The Java check below is the authority; these say where to look.
if command -v ibv_devices >/dev/null 2>&1; then
  devices="$(ibv_devices 2>/dev/null | awk 'NR > 2 && NF > 0 {print $1}' | paste -sd' ' -)"
elif [[ -d /sys/class/infiniband ]]; then
  devices="$(ls /sys/class/infiniband 2>/dev/null | paste -sd' ' -)"
else
  devices=""
fi
if [[ -n "$devices" ]]; then
  echo "devices:     $devices"
else
  echo "devices:     none (ibv_devices / /sys/class/infiniband list no RDMA device; install rdma-core and ibverbs-utils,"
  echo "             load the NIC's driver; for a software test, Soft-RoCE: rdma link add rxe0 type rxe netdev ETH)"
fi
libdisni=""
IFS=':' read -r -a library_dirs <<<"$DISNI_LIBRARY_PATH"
for directory in "${library_dirs[@]}"; do
  if [[ -f "$directory/libdisni.so" ]]; then
    libdisni="$directory/libdisni.so"
    break
  fi
done
if [[ -n "$libdisni" ]]; then
  echo "libdisni:    $libdisni"
else
  echo "libdisni:    not in DISNI_LIBRARY_PATH=$DISNI_LIBRARY_PATH (build it from DiSNI's source against"
  echo "             libibverbs-dev and librdmacm-dev, then point DISNI_LIBRARY_PATH at its directory)"
fi
if [[ -n "$DISNI_JAR" ]]; then
  [[ -f "$DISNI_JAR" ]] || fail "DISNI_JAR=$DISNI_JAR does not exist"
  echo "disni jar:   $DISNI_JAR (first on the class path)"
else
  echo "disni jar:   the registry's DiSNI 2.1 from $LIB_DIR (no atomics support; set DISNI_JAR to a DiSNI built"
  echo "             with atomics support, upstream pull request #51)"
fi

# --- Build if needed (never install: the local repository may be shared).
if [[ ! -f "$COMMON_JAR" || ! -d "$LIB_DIR" ]]; then
  echo "building:    mvn -B -q -DskipTests package"
  mvn -B -q -DskipTests package || fail "the build failed"
fi
CLASSPATH_VALUE="$COMMON_JAR:$LIB_DIR/*"
if [[ -n "$DISNI_JAR" ]]; then
  CLASSPATH_VALUE="$DISNI_JAR:$CLASSPATH_VALUE"
fi
JVM=("$JAVA" --add-exports java.base/sun.nio.ch=ALL-UNNAMED --enable-native-access=ALL-UNNAMED
  "-Djava.library.path=$DISNI_LIBRARY_PATH" -Dorg.slf4j.simpleLogger.defaultLogLevel=warn
  -cp "$CLASSPATH_VALUE" "$MAIN")

# --- The transport's own start-up check: libdisni, device, atomics-capable DiSNI, JVM flags.
echo
set +e
"${JVM[@]}" check
status=$?
set -e
if [[ $status -ne 0 ]]; then
  echo
  fail "this host cannot run the rdma transport yet: see the findings above"
fi

# --- Where to serve.
if [[ -z "$HOST" ]] && command -v rdma >/dev/null 2>&1; then
  netdev="$(rdma link show 2>/dev/null | awk '{for (i = 1; i < NF; i++) if ($i == "netdev") {print $(i + 1); exit}}')"
  if [[ -n "$netdev" ]]; then
    HOST="$(ip -4 -o addr show dev "$netdev" 2>/dev/null | awk '{split($4, a, "/"); print a[1]; exit}')"
  fi
fi
[[ -n "$HOST" ]] || fail "no RDMA interface address found; pass the IPv4 address of the RDMA interface: $0 HOST"

# --- Memory node in the background, client in the foreground.
work="$(mktemp -d)"
server_log="$work/memory-node.log"
"${JVM[@]}" server "$HOST:$PORT" --node-id 0 --lifetime-seconds 300 >"$server_log" 2>&1 &
server_pid=$!
cleanup() {
  if kill -0 "$server_pid" 2>/dev/null; then
    kill "$server_pid" 2>/dev/null || true
    wait "$server_pid" 2>/dev/null || true
  fi
  rm -rf "$work"
}
trap cleanup EXIT

endpoint=""
for _ in $(seq 1 300); do
  endpoint="$(sed -n 's/^READY endpoint=//p' "$server_log" | head -n 1)"
  [[ -n "$endpoint" ]] && break
  kill -0 "$server_pid" 2>/dev/null || break
  sleep 0.1
done
if [[ -z "$endpoint" ]]; then
  echo "memory node output:"
  sed 's/^/  /' "$server_log"
  fail "the memory node did not start serving on $HOST:$PORT"
fi
echo "memory node: serving at $endpoint (pid $server_pid)"
echo

set +e
"${JVM[@]}" client "$endpoint" --threads "$THREADS" --adds "$ADDS"
status=$?
set -e
if [[ $status -ne 0 ]]; then
  echo "memory node output:"
  sed 's/^/  /' "$server_log"
  exit 1
fi
exit 0
