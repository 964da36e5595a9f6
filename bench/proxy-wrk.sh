#!/usr/bin/env bash
# Gateway throughput and latency with wrk, beside two baselines on the same machine:
#   direct - wrk straight to one Netty worker (the ceiling),
#   herd   - wrk -> HerdGateway -> KEYS Netty workers, sticky by X-Session-ID,
#   nginx  - wrk -> nginx (hash $http_x_session_id consistent, upstream keepalive) -> KEYS workers.
# All three are started first and then measured in interleaved rounds (direct, herd, nginx,
# direct, ...), so that noise from anything else on the machine hits them alike; the summary
# gives each round and the median per target. Installs wrk and nginx (Debian) when missing,
# listens on 127.0.0.1 only, and stops every process it started (by pid) on exit.
#
# Usage: bench/proxy-wrk.sh [duration=10s] [connections=64] [keys=4] [rounds=3]
# Env: WRK_THREADS (2), WARMUP (15s per target), HERD_BENCH_CP (skip the Maven build and use this class path).
set -euo pipefail
cd "$(dirname "$0")/.."
DURATION=${1:-10s}
CONNS=${2:-64}
export KEYS=${3:-4}
ROUNDS=${4:-3}
THREADS=${WRK_THREADS:-2}
WARMUP=${WARMUP:-15s}
WORK=$(mktemp -d /tmp/herd-bench.XXXXXX)
PIDS=()
cleanup() {
  if [ -n "${GW_IN:-}" ]; then exec {GW_IN}>&- || true; fi  # closing stdin stops the gateway
  if [ -f "$WORK/nginx.pid" ]; then kill "$(cat "$WORK/nginx.pid")" 2>/dev/null || true; fi
  for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
  sleep 2
  for pid in "${PIDS[@]}"; do kill -9 "$pid" 2>/dev/null || true; done
  rm -rf "$WORK"
}
trap cleanup EXIT

if ! command -v wrk >/dev/null 2>&1 || ! [ -x /usr/sbin/nginx ]; then
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq wrk nginx-light >/dev/null
fi

if [ -n "${HERD_BENCH_CP:-}" ]; then
  CP=$HERD_BENCH_CP   # a class path prepared earlier (test-classes, classes, dependencies)
else
  echo "building test classes..." >&2
  # One reactor invocation, so herd-core and herd-testkit resolve to their target/classes;
  # each module writes its class path into its own target/.
  mvn -B -q -pl herd-proxy -am test-compile dependency:build-classpath -Dmdep.includeScope=test \
    -Dmdep.outputFile=target/bench-classpath.txt >&2
  CP="herd-proxy/target/test-classes:herd-proxy/target/classes:$(cat herd-proxy/target/bench-classpath.txt)"
fi
JAVA=${JAVA_HOME:+$JAVA_HOME/bin/}java

wait_port() {
  for _ in $(seq 1 600); do (echo >/dev/tcp/127.0.0.1/"$1") 2>/dev/null && return 0; sleep 0.1; done
  echo "port $1 never opened" >&2; exit 1
}
start_worker() { # port
  $JAVA -Xmx64m -XX:+UseSerialGC -cp "$CP" io.herd.proxy.NettyTestWorker --port "$1" >/dev/null 2>&1 &
  PIDS+=($!)
  wait_port "$1"
}

# direct: one worker
start_worker 18080

# herd: the gateway pins sessions bench-0..KEYS-1 to KEYS pooled workers, then prints "ready"
mkfifo "$WORK/gw.in"
$JAVA -Xmx512m -Dio.netty.leakDetection.level=disabled -cp "$CP" io.herd.proxy.GatewayBenchMain \
  18000 "$KEYS" <"$WORK/gw.in" >"$WORK/gw.out" 2>"$WORK/gateway.log" &
PIDS+=($!)
exec {GW_IN}>"$WORK/gw.in"
for _ in $(seq 1 600); do grep -q ready "$WORK/gw.out" 2>/dev/null && break; sleep 0.1; done
grep -q ready "$WORK/gw.out" || { echo "gateway did not start" >&2; tail -20 "$WORK/gateway.log" >&2; exit 1; }

# nginx: KEYS workers behind consistent hashing on the same header
UPSTREAMS=""
for i in $(seq 1 "$KEYS"); do
  port=$((18100 + i)); start_worker "$port"; UPSTREAMS+="    server 127.0.0.1:$port;"$'\n'
done
cat > "$WORK/nginx.conf" <<CONF
worker_processes auto;
pid $WORK/nginx.pid;
error_log $WORK/nginx-error.log warn;
events { worker_connections 4096; }
http {
  access_log off;
  upstream workers {
    hash \$http_x_session_id consistent;
$UPSTREAMS    keepalive 128;
  }
  server {
    listen 127.0.0.1:18200;
    location / {
      proxy_pass http://workers;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
      proxy_set_header X-Forwarded-For \$remote_addr;
      proxy_buffering off;
    }
  }
}
CONF
/usr/sbin/nginx -c "$WORK/nginx.conf" -g 'daemon on;'
wait_port 18200

declare -A PORT=([direct]=18080 [herd]=18000 [nginx]=18200)
for t in direct herd nginx; do   # warm-up: C2 for the JVMs (slow on 2 busy cores), pools for all
  wrk -t"$THREADS" -c"$CONNS" -d"$WARMUP" -s bench/sticky.lua "http://127.0.0.1:${PORT[$t]}/hello" >/dev/null
done

printf "%-6s %-7s %12s %10s %10s\n" round target "requests/s" p50 p99
for r in $(seq 1 "$ROUNDS"); do
  for t in direct herd nginx; do
    wrk -t"$THREADS" -c"$CONNS" -d"$DURATION" --latency -s bench/sticky.lua \
      "http://127.0.0.1:${PORT[$t]}/hello" > "$WORK/$t.$r.txt"
    rps=$(awk '/Requests\/sec/ {print $2}' "$WORK/$t.$r.txt")
    p50=$(awk '$1=="50%" {print $2}' "$WORK/$t.$r.txt")
    p99=$(awk '$1=="99%" {print $2}' "$WORK/$t.$r.txt")
    errors=$(grep -E "Non-2xx|Socket errors" "$WORK/$t.$r.txt" | tr '\n' ' ' || true)
    printf "%-6s %-7s %12s %10s %10s  %s\n" "$r" "$t" "$rps" "$p50" "$p99" "$errors"
    echo "$rps" >> "$WORK/$t.rps"
  done
done
median() { sort -g "$1" | awk '{a[NR]=$1} END {print (NR%2) ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2}'; }
d=$(median "$WORK/direct.rps"); h=$(median "$WORK/herd.rps"); n=$(median "$WORK/nginx.rps")
awk -v d="$d" -v h="$h" -v n="$n" 'BEGIN {
  printf "median requests/s: direct %.0f, herd %.0f, nginx %.0f\n", d, h, n
  printf "ratios: herd/direct %.2f, nginx/direct %.2f, herd/nginx %.2f\n", h/d, n/d, h/n }'
echo "(wrk -t$THREADS -c$CONNS -d$DURATION --latency -s bench/sticky.lua, KEYS=$KEYS, $(nproc) cores, load before: $(cut -d' ' -f1-3 /proc/loadavg))"
