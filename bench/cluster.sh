#!/usr/bin/env bash
# Cluster (issue 10) measurements on one machine, everything on 127.0.0.1:
#
#  1. Forwarded-request overhead. etcd + two cluster gateways A and B (herd.jar, `serve`), and
#     KEYS sessions bench-0..KEYS-1 claimed through B (so B owns them, on B's NettyTestWorkers).
#     wrk then runs, in interleaved rounds, through A (every request is forwarded A -> B as a
#     signed hop) and straight to B (local), with the same sessions and bench/sticky.lua.
#     Reported: req/s, p50, p99 per round, medians and the ratios forwarded/local.
#  2. Claim latency, from outside. A new session's first request through cluster gateway A
#     (one etcd transaction, the claim, before the pool is asked) against the same through a
#     non-cluster gateway L with the same worker and pool settings; SAMPLES each, interleaved,
#     sequential, each on a warm idle worker (pool.reuse, the session ended through the admin
#     API after each sample). The claim's cost is the difference of the medians (and p99s).
#
# Usage: bench/cluster.sh [duration=10s] [connections=32] [keys=4] [rounds=3] [samples=200]
# Env: WRK_THREADS (2), WARMUP (10s per target), SKIP_BUILD=1 (reuse herd-server/target/herd.jar
#      and herd-proxy/target/test-classes), BASE_PORT (18400).
# Stops every process it started (by pid; the workers die with their gateway) and deletes its
# temporary directory on exit.
set -euo pipefail
cd "$(dirname "$0")/.."
DURATION=${1:-10s}
CONNS=${2:-32}
export KEYS=${3:-4}
ROUNDS=${4:-3}
SAMPLES=${5:-200}
THREADS=${WRK_THREADS:-2}
WARMUP=${WARMUP:-10s}
BASE=${BASE_PORT:-18400}
WORK=$(mktemp -d /tmp/herd-cluster-bench.XXXXXX)
chmod 755 "$WORK"   # workers may run under leased UIDs (root gateway): they must enter it
PIDS=()
cleanup() {
  for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
  for _ in $(seq 1 100); do
    alive=0
    for pid in "${PIDS[@]}"; do kill -0 "$pid" 2>/dev/null && alive=1; done
    [ "$alive" = 0 ] && break
    sleep 0.1
  done
  for pid in "${PIDS[@]}"; do kill -9 "$pid" 2>/dev/null || true; done
  rm -rf "$WORK"
}
trap cleanup EXIT

command -v wrk >/dev/null || { echo "wrk is needed (apt-get install wrk)" >&2; exit 1; }
[ -x /usr/bin/etcd ] || { echo "etcd is needed at /usr/bin/etcd (apt-get install etcd-server)" >&2; exit 1; }
if [ -z "${SKIP_BUILD:-}" ]; then
  echo "building herd.jar and the test worker..." >&2
  # package compiles the test classes too (NettyTestWorker); -DskipTests only skips running them
  mvn -B -o -q -pl herd-server -am package -DskipTests >&2
fi
JAR=$PWD/herd-server/target/herd.jar
WORKER_CP=$PWD/herd-proxy/target/test-classes:$JAR
JAVA=${JAVA_HOME:+$JAVA_HOME/bin/}java
JAVA=$(command -v "$JAVA")

wait_http() { # url
  for _ in $(seq 1 600); do curl -fsS -o /dev/null "$1" 2>/dev/null && return 0; sleep 0.1; done
  echo "$1 never answered" >&2; exit 1
}

# ---------------------------------------------------------------- etcd
ETCD_CLIENT=$((BASE + 79)); ETCD_PEER=$((BASE + 80))
/usr/bin/etcd --name bench --data-dir "$WORK/etcd" \
  --listen-client-urls "http://127.0.0.1:$ETCD_CLIENT" --advertise-client-urls "http://127.0.0.1:$ETCD_CLIENT" \
  --listen-peer-urls "http://127.0.0.1:$ETCD_PEER" --initial-advertise-peer-urls "http://127.0.0.1:$ETCD_PEER" \
  --initial-cluster "bench=http://127.0.0.1:$ETCD_PEER" >"$WORK/etcd.log" 2>&1 &
PIDS+=($!)
wait_http "http://127.0.0.1:$ETCD_CLIENT/health"

# ---------------------------------------------------------------- gateways
export HERD_CLUSTER_SECRET=bench-secret-0123456789abcdef0123456789
gateway() { # name port adminPort clusterYaml
  cat > "$WORK/$1.yaml" <<YAML
listen: 127.0.0.1:$2
admin: { listen: 127.0.0.1:$3 }
session: { key: "header:X-Session-ID" }
worker:
  command: ["$JAVA", -Xmx64m, -XX:+UseSerialGC, -cp, "$WORKER_CP", io.herd.proxy.NettyTestWorker, --port, "{{port}}"]
  health: { path: /health }
  stopTimeout: 2s
pool: { min: 0, max: 8, warm: 2, ttl: 10m, reuse: true }
sandbox: { namespaces: false }
$4
YAML
  $JAVA -Xmx512m -Dio.netty.leakDetection.level=disabled -jar "$JAR" serve --config "$WORK/$1.yaml" \
    >"$WORK/$1.log" 2>&1 &
  PIDS+=($!)
}
cluster_yaml() { # node port
  printf 'cluster:\n  etcd: ["http://127.0.0.1:%s"]\n  secret: "${HERD_CLUSTER_SECRET}"\n  node: %s\n  leaseTtl: 10s\n' \
    "$ETCD_CLIENT" "$1"
}
A=$BASE; B=$((BASE + 10)); L=$((BASE + 20))
gateway a "$A" $((A + 1)) "$(cluster_yaml a)"
gateway b "$B" $((B + 1)) "$(cluster_yaml b)"
gateway l "$L" $((L + 1)) ""
for port in $((A + 1)) $((B + 1)) $((L + 1)); do wait_http "http://127.0.0.1:$port/health"; done
# both nodes see each other before anything is claimed
for _ in $(seq 1 300); do
  n=$(curl -fsS "http://127.0.0.1:$((A + 1))/cluster" 2>/dev/null | grep -o '"name"' | wc -l || true)
  [ "${n:-0}" -ge 2 ] && break; sleep 0.1
done

# ---------------------------------------------------------------- 1. forwarded overhead
for i in $(seq 0 $((KEYS - 1))); do   # B claims the sessions: B owns them, B's workers serve them
  curl -fsS -o /dev/null -H "X-Session-ID: bench-$i" "http://127.0.0.1:$B/hello"
done
for i in $(seq 0 $((KEYS - 1))); do   # through A they are forwarded, to the same worker
  pa=$(curl -fsS -H "X-Session-ID: bench-$i" "http://127.0.0.1:$A/pid")
  pb=$(curl -fsS -H "X-Session-ID: bench-$i" "http://127.0.0.1:$B/pid")
  [ "$pa" = "$pb" ] || { echo "bench-$i: pid $pa through A, $pb through B" >&2; exit 1; }
done

declare -A PORT=([forwarded]=$A [local]=$B)
for t in local forwarded; do
  wrk -t"$THREADS" -c"$CONNS" -d"$WARMUP" -s bench/sticky.lua "http://127.0.0.1:${PORT[$t]}/hello" >/dev/null
done
echo "## forwarded (wrk -> A -> B -> worker) against local (wrk -> B -> worker)"
printf "%-6s %-10s %12s %10s %10s\n" round target "requests/s" p50 p99
for r in $(seq 1 "$ROUNDS"); do
  for t in local forwarded; do
    wrk -t"$THREADS" -c"$CONNS" -d"$DURATION" --latency -s bench/sticky.lua \
      "http://127.0.0.1:${PORT[$t]}/hello" > "$WORK/$t.$r.txt"
    rps=$(awk '/Requests\/sec/ {print $2}' "$WORK/$t.$r.txt")
    p50=$(awk '$1=="50%" {print $2}' "$WORK/$t.$r.txt")
    p99=$(awk '$1=="99%" {print $2}' "$WORK/$t.$r.txt")
    errors=$(grep -E "Non-2xx|Socket errors" "$WORK/$t.$r.txt" | tr '\n' ' ' || true)
    printf "%-6s %-10s %12s %10s %10s  %s\n" "$r" "$t" "$rps" "$p50" "$p99" "$errors"
    echo "$rps" >> "$WORK/$t.rps"
    # wrk prints 1.23ms / 456.00us / 1.02s: normalise to ms
    echo "$p99" | awk '/us$/ {print $1/1000; next} /ms$/ {print $1+0; next} /s$/ {print $1*1000}' >> "$WORK/$t.p99"
  done
done
median() { sort -g "$1" | awk '{a[NR]=$1} END {print (NR%2) ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2}'; }
awk -v lr="$(median "$WORK/local.rps")" -v fr="$(median "$WORK/forwarded.rps")" \
    -v lp="$(median "$WORK/local.p99")" -v fp="$(median "$WORK/forwarded.p99")" 'BEGIN {
  printf "median requests/s: local %.0f, forwarded %.0f; ratio forwarded/local %.2f\n", lr, fr, fr/lr
  printf "median p99: local %.2f ms, forwarded %.2f ms; ratio forwarded/local %.2f\n", lp, fp, fp/lp }'
fwd=$(curl -fsS "http://127.0.0.1:$((A + 1))/metrics" | awk '/^herd_cluster_forwarded_requests_total/ {s+=$2} END {printf "%.0f", s}')
echo "(A's herd_cluster_forwarded_requests_total: $fwd)"

# ---------------------------------------------------------------- 2. claim latency
percentile() { # file p
  sort -g "$1" | awk -v p="$2" '{a[NR]=$1} END {i=int((NR*p+99)/100); if (i<1) i=1; print a[i]}'
}
echo
echo "## new session's first request: cluster gateway A (claim in etcd) against plain gateway L"
run=$$
for i in $(seq 1 "$SAMPLES"); do
  for t in cluster plain; do
    if [ "$t" = cluster ]; then port=$A; else port=$L; fi
    key="claim-$run-$t-$i"
    curl -fsS -o /dev/null -w '%{time_total}\n' -H "X-Session-ID: $key" \
      "http://127.0.0.1:$port/hello" | awk '{print $1*1000}' >> "$WORK/claim.$t"
    curl -fsS -o /dev/null -X DELETE "http://127.0.0.1:$((port + 1))/sessions/$key"
  done
  sleep 0.05   # the ended sessions' workers back to idle (pool.reuse)
done
for t in cluster plain; do
  printf "%-8s n=%d  p50 %.2f ms  p90 %.2f ms  p99 %.2f ms\n" "$t" "$(wc -l < "$WORK/claim.$t")" \
    "$(percentile "$WORK/claim.$t" 50)" "$(percentile "$WORK/claim.$t" 90)" "$(percentile "$WORK/claim.$t" 99)"
done
awk -v c50="$(percentile "$WORK/claim.cluster" 50)" -v p50="$(percentile "$WORK/claim.plain" 50)" \
    -v c99="$(percentile "$WORK/claim.cluster" 99)" -v p99="$(percentile "$WORK/claim.plain" 99)" \
  'BEGIN { printf "claim cost (cluster - plain): p50 %.2f ms, p99 %.2f ms\n", c50-p50, c99-p99 }'
claims=$(curl -fsS "http://127.0.0.1:$((A + 1))/metrics" | awk '/^herd_cluster_claims_total/ {s+=$2} END {printf "%.0f", s}')
echo "(A's herd_cluster_claims_total: $claims)"
echo "(wrk -t$THREADS -c$CONNS -d$DURATION --latency -s bench/sticky.lua, KEYS=$KEYS, $(nproc) cores, etcd data in $(df --output=fstype "$WORK" | tail -1), load at the end: $(cut -d' ' -f1-3 /proc/loadavg))"
