#!/usr/bin/env bash
# Issue 9's pool goals, measured against the real gateway (`./herd serve` with a generated YAML,
# the default sandbox, as root), everything on 127.0.0.1:
#
#   cold     cold start against the worker's floor: the bench C worker spawned directly until its
#            first 200, against a new key's first response through a gateway with min 0, warm 0,
#            interleaved rounds. Goal: median overhead <= +10 ms.       (goals.ColdStartGoal)
#   warm     warm spares (warm: 4): open-loop new keys at each rate of --rates while a pinned
#            session is requested at 20/s; goal per rate: first-request p99 <= pinned p99 + 1 ms;
#            the highest rate meeting it is the sustainable new-session rate. (goals.WarmSpareGoal)
#   burst    200 concurrent new keys at max: 10, evictIdleOnPressure, reuse: false, 2 runs; the
#            most worker processes alive at once, sampled from /proc; nginx with 10 pre-started
#            workers as context. Goal: p99 <= 250 ms, all answered, <= 10 alive. (goals.BurstGoal)
#   scale    min: 1000 idle workers (and min: 100 for comparison), health every 5 s: the time
#            from the admin API up to all idle (capped by --start-cap; past it, how many are
#            idle is reported and those are measured), the gateway's CPU over --cpu-seconds
#            (utime+stime), threads, RSS, then SIGTERM until the gateway and every worker are
#            gone. Goals: <= 5 % of a core, threads not growing with workers, stop <= 3 s.
#   tunnels  idle WebSocket tunnels to a C echo worker through a gateway at -Xmx512m: failures,
#            heap after a full GC, RSS; then past the descriptor limit (the gateway started with
#            `ulimit -n` --nofile): existing tunnels echo, refusals answered, recovery after
#            half are closed, the gateway's log lines about it counted.      (goals.TunnelGoal)
#
# Usage (as root): bench/pool-goals.sh [PART...] [--rounds N] [--rates 10,20] [--seconds N]
#          [--burst N] [--burst-runs N] [--workers N] [--compare N] [--cpu-seconds N]
#          [--start-cap SECONDS] [--tunnels N] [--overload N] [--nofile N] [--skip-build]
#   Defaults: --rounds 12 --rates 10,20 --seconds 6 --burst 200 --burst-runs 2 --workers 1000
#   --compare 100 --cpu-seconds 15 --start-cap 120 --tunnels 9000 --overload 1500 --nofile 2000:
#   about 3-6 minutes on the 2-core machine (the spread is the 1,000 workers' start), chosen so
#   that bench/issue9.sh fits 10 minutes.
#   --skip-build reuses herd-server/target/herd.jar and herd-benchmarks/target/benchmarks.jar as
#   they are (./herd's own staleness check is bypassed): only right when nothing changed since.
#   PARTs default to all five, in the order cold warm burst tunnels scale. Smoke run:
#          bench/pool-goals.sh --rounds 3 --rates 5 --seconds 3 --burst 20 --burst-runs 1
#          --workers 20 --compare 10 --cpu-seconds 5 --tunnels 200 --overload 600 --nofile 500
#          --skip-build
# Output: the raw table of every round and a summary (goal, figure, ✔/✘), on the terminal and in
# bench-out/pool-goals-<UTC timestamp>.txt, or appended to POOL_GOALS_REPORT when set
# (bench/issue9.sh sets it). Env: BASE_PORT (18600).
# Every process it starts is stopped by pid on exit (and any worker left over is reported and
# killed); its temporary directory is removed.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD

PARTS=()
ROUNDS=12 RATES=10,20 SECONDS_PER_RATE=6 BURST=200 BURST_RUNS=2 WORKERS=1000 COMPARE=100
CPU_SECONDS=15 START_CAP=120 TUNNELS=9000 OVERLOAD=1500 NOFILE=2000 SKIP_BUILD=0
while [ $# -gt 0 ]; do
  case "$1" in
    cold|warm|burst|scale|tunnels) PARTS+=("$1"); shift ;;
    --rounds) ROUNDS=$2; shift 2 ;;
    --rates) RATES=$2; shift 2 ;;
    --seconds) SECONDS_PER_RATE=$2; shift 2 ;;
    --burst) BURST=$2; shift 2 ;;
    --burst-runs) BURST_RUNS=$2; shift 2 ;;
    --workers) WORKERS=$2; shift 2 ;;
    --compare) COMPARE=$2; shift 2 ;;
    --cpu-seconds) CPU_SECONDS=$2; shift 2 ;;
    --start-cap) START_CAP=$2; shift 2 ;;
    --tunnels) TUNNELS=$2; shift 2 ;;
    --overload) OVERLOAD=$2; shift 2 ;;
    --nofile) NOFILE=$2; shift 2 ;;
    --skip-build) SKIP_BUILD=1; shift ;;
    *) echo "pool-goals: unknown argument: $1 (see the usage at the top of $0)" >&2; exit 2 ;;
  esac
done
[ ${#PARTS[@]} -gt 0 ] || PARTS=(cold warm burst tunnels scale)
for v in ROUNDS SECONDS_PER_RATE BURST BURST_RUNS WORKERS COMPARE CPU_SECONDS START_CAP TUNNELS OVERLOAD NOFILE; do
  [[ ${!v} =~ ^[1-9][0-9]*$ ]] || { echo "pool-goals: $v must be a positive integer: ${!v}" >&2; exit 2; }
done
[[ $RATES =~ ^[1-9][0-9]*(,[1-9][0-9]*)*$ ]] || { echo "pool-goals: --rates must be like 10,20: $RATES" >&2; exit 2; }
[ "$(id -u)" = 0 ] || { echo "pool-goals: run as root (the default sandbox of a root gateway)" >&2; exit 2; }

BASE=${BASE_PORT:-18600}
GW=$BASE ADMIN=$((BASE + 1)) NGINX=$((BASE + 2)) NGINX_UP=$((BASE + 10))   # upstreams: +10..+19
mkdir -p bench-out
# POOL_GOALS_REPORT (set by bench/issue9.sh) appends every part's report to one file
OUT=${POOL_GOALS_REPORT:-$ROOT/bench-out/pool-goals-$(date -u +%Y%m%dT%H%M%SZ).txt}
WORK=$(mktemp -d /tmp/herd-pool-goals.XXXXXX)
chmod 755 "$WORK"   # workers run under leased UIDs: they must reach their binaries
PIDS=()             # every process this script started and has not stopped yet

stop_pid() { # pid [grace seconds]: SIGTERM, wait, SIGKILL
  local pid=$1 grace=${2:-10}
  kill "$pid" 2>/dev/null || return 0
  for _ in $(seq 1 $((grace * 20))); do kill -0 "$pid" 2>/dev/null || return 0; sleep 0.05; done
  kill -9 "$pid" 2>/dev/null || true
}
our_workers() { # pids of the harness's worker binaries, one a line
  pgrep -x pool-hworker || true
  pgrep -x pool-ws-worker || true
}
leftover_workers() { # kill and report workers of ours that outlived their gateway
  local left
  left=$(our_workers)
  if [ -n "$left" ]; then
    echo "# WARNING: $(echo "$left" | wc -w) worker process(es) outlived their gateway: killed" >&2
    # shellcheck disable=SC2086 # one pid per word
    kill -9 $left 2>/dev/null || true
  fi
}
leftover_sandboxes() { # pid of a gateway that has exited: remove what its sandboxes left
  local dirs cgroups
  # scratch directories and cgroups are named herd-<gateway pid>-<sequence>-<worker id>
  dirs=$(find /var/lib/herd/workers -mindepth 1 -maxdepth 1 -name "herd-$1-*" 2>/dev/null || true)
  cgroups=$(find /sys/fs/cgroup -maxdepth 6 -type d -name "herd-$1-*" 2>/dev/null || true)
  if [ -n "$dirs$cgroups" ]; then
    echo "# WARNING: gateway $1 left $(echo $dirs | wc -w) scratch directories and $(echo $cgroups | wc -w) cgroups: removed" >&2
    # shellcheck disable=SC2086 # one path per word
    [ -z "$dirs" ] || rm -rf $dirs
    # shellcheck disable=SC2086
    [ -z "$cgroups" ] || rmdir $cgroups 2>/dev/null || true
  fi
}
cleanup() {
  for pid in "${PIDS[@]}"; do stop_pid "$pid" 15; done
  leftover_workers
  for pid in "${PIDS[@]}"; do leftover_sandboxes "$pid"; done
  rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

say() { echo "$@" | tee -a "$OUT"; }
summary() { printf 'SUMMARY\t%s\t%s\t%s\n' "$1" "$2" "$3" | tee -a "$OUT"; }

# ---------------------------------------------------------------- build
if [ "$SKIP_BUILD" != 1 ] || [ ! -f herd-server/target/herd.jar ] || [ ! -f herd-benchmarks/target/benchmarks.jar ]; then
  echo "building herd.jar and benchmarks.jar..." >&2
  mvn -B -o -q -pl herd-server,herd-benchmarks -am -Pbenchmarks -Dmaven.test.skip=true package >&2
fi
touch herd-server/target/herd.jar   # ./herd rebuilds when a source is newer: this build is current
BENCH_JAR=$ROOT/herd-benchmarks/target/benchmarks.jar
JAVA=${JAVA_HOME:+$JAVA_HOME/bin/}java
gcc -O2 -Wall -Wextra -Werror -o "$WORK/pool-hworker" bench/coldstart/worker.c
gcc -O2 -Wall -Wextra -Werror -o "$WORK/pool-ws-worker" bench/pool-ws-worker.c
goal() { "$JAVA" -Xms256m -Xmx256m -cp "$BENCH_JAR" "io.herd.benchmarks.goals.$1" "${@:2}"; }

# ---------------------------------------------------------------- gateways
# start_gateway NAME WORKER POOL-YAML [NOFILE] [HERD_JAVA_OPTS]: ./herd serve in the background,
# waits for its admin API; sets GATEWAY_PID.
start_gateway() {
  local name=$1 worker=$2 pool=$3 nofile=${4:-} opts=${5:-}
  cat > "$WORK/$name.yaml" <<YAML
listen: 127.0.0.1:$GW
admin: { listen: 127.0.0.1:$ADMIN }
session: { key: "header:X-Session-ID" }
worker:
  command: ["$WORK/$worker", "{{port}}"]
  health: { path: /health, interval: 5s }
pool: $pool
YAML
  (
    [ -z "$nofile" ] || ulimit -n "$nofile"
    HERD_JAVA_OPTS=$opts exec ./herd serve --config "$WORK/$name.yaml"
  ) > "$WORK/$name.log" 2>&1 &
  GATEWAY_PID=$!
  PIDS+=("$GATEWAY_PID")
  for _ in $(seq 1 600); do
    curl -fsS -o /dev/null "http://127.0.0.1:$ADMIN/health" 2>/dev/null && return 0
    kill -0 "$GATEWAY_PID" 2>/dev/null || break
    sleep 0.1
  done
  echo "pool-goals: gateway $name did not start; its log:" >&2
  tail -n 30 "$WORK/$name.log" >&2
  exit 1
}
# stop_gateway: SIGTERM, then every worker must be gone; sets STOP_MS to the time that took.
stop_gateway() {
  local start end
  start=$(date +%s%N)
  kill -TERM "$GATEWAY_PID"
  while kill -0 "$GATEWAY_PID" 2>/dev/null || [ -n "$(our_workers)" ]; do
    sleep 0.01
    if [ $(( ($(date +%s%N) - start) / 1000000000 )) -ge 60 ]; then
      echo "# gateway or workers still alive 60 s after SIGTERM" >&2
      stop_pid "$GATEWAY_PID" 1
      leftover_workers
      break
    fi
  done
  end=$(date +%s%N)
  leftover_sandboxes "$GATEWAY_PID"
  local keep=()
  for pid in "${PIDS[@]}"; do [ "$pid" = "$GATEWAY_PID" ] || keep+=("$pid"); done
  PIDS=("${keep[@]}")
  STOP_MS=$(( (end - start) / 1000000 ))
}
status_field() { # field of /status's "workers" object (total, idle, busy, starting)
  curl -fsS "http://127.0.0.1:$ADMIN/status" | tr -d ' \n' | grep -o "\"$1\":[0-9]*" | head -1 | cut -d: -f2
}
sandbox_line() { grep -m1 -o 'worker sandbox: [^;]*' "$WORK/$1.log" || echo "worker sandbox: (not logged)"; }

{
  echo "# pool-goals $(date -u +%Y-%m-%dT%H:%M:%SZ) $(uname -srm), $(nproc) cores, load: $(cut -d' ' -f1-3 /proc/loadavg)"
  echo "# $("$JAVA" -version 2>&1 | head -1); parts: ${PARTS[*]}; git $(git rev-parse --short HEAD 2>/dev/null || echo '?')"
} | tee -a "$OUT"

for part in "${PARTS[@]}"; do
  say
  case "$part" in
  # -------------------------------------------------------------- 1. cold start
  cold)
    say "## cold start: worker floor against a new key through the gateway (min 0, warm 0), $ROUNDS rounds"
    start_gateway cold pool-hworker "{ min: 0, max: 4, warm: 0, reuse: false }"
    say "# $(sandbox_line cold)"
    goal ColdStartGoal --worker "$WORK/pool-hworker" --gateway "$GW" --admin "$ADMIN" \
      --rounds "$ROUNDS" | tee -a "$OUT"
    stop_gateway
    ;;
  # -------------------------------------------------------------- 2. warm spares
  warm)
    say "## warm spares (warm: 4): new keys at $RATES /s, $SECONDS_PER_RATE s each, pinned at 20/s"
    start_gateway warm pool-hworker "{ min: 0, max: 32, warm: 4, reuse: false }"
    say "# $(sandbox_line warm)"
    goal WarmSpareGoal --gateway "$GW" --admin "$ADMIN" --rates "$RATES" \
      --seconds "$SECONDS_PER_RATE" --pinned-rate 20 --warmup 3 | tee -a "$OUT"
    stop_gateway
    ;;
  # -------------------------------------------------------------- 3. burst
  burst)
    say "## burst: $BURST concurrent new keys, max 10, evictIdleOnPressure, reuse false; $BURST_RUNS runs on one gateway"
    start_gateway burst pool-hworker "{ min: 0, max: 10, evictIdleOnPressure: true, reuse: false }"
    say "# $(sandbox_line burst); run 1 starts from the warm spare, later runs from 10 workers holding idle sessions"
    goal BurstGoal --port "$GW" --count "$BURST" --runs "$BURST_RUNS" --comm pool-hworker --cap 10 \
      --label herd --goal 250 | tee -a "$OUT"
    stop_gateway
    if command -v nginx > /dev/null; then
      mkdir -p "$WORK/nginx"
      upstreams=""
      for i in $(seq 0 9); do
        "$WORK/pool-hworker" $((NGINX_UP + i)) &
        PIDS+=($!)
        upstreams+="    server 127.0.0.1:$((NGINX_UP + i));"$'\n'
      done
      cat > "$WORK/nginx/nginx.conf" <<NGINX
worker_processes auto;
pid $WORK/nginx/nginx.pid;
error_log $WORK/nginx/error.log;
daemon off;
events { worker_connections 4096; }
http {
  access_log off;
  client_body_temp_path $WORK/nginx; proxy_temp_path $WORK/nginx;
  fastcgi_temp_path $WORK/nginx; uwsgi_temp_path $WORK/nginx; scgi_temp_path $WORK/nginx;
  upstream workers {
    hash \$http_x_session_id consistent;
$upstreams  }
  server {
    listen 127.0.0.1:$NGINX;
    location / { proxy_pass http://workers; proxy_http_version 1.1; proxy_set_header Connection ""; }
  }
}
NGINX
      nginx -c "$WORK/nginx/nginx.conf" -p "$WORK/nginx" &
      NGINX_PID=$!
      PIDS+=("$NGINX_PID")
      for _ in $(seq 1 100); do curl -fsS -o /dev/null "http://127.0.0.1:$NGINX/health" 2>/dev/null && break; sleep 0.1; done
      say "# nginx $(nginx -v 2>&1 | cut -d/ -f2), 10 pre-started workers (hash \$http_x_session_id consistent), no isolation"
      goal BurstGoal --port "$NGINX" --count "$BURST" --runs "$BURST_RUNS" --label nginx | tee -a "$OUT"
      for pid in "${PIDS[@]}"; do stop_pid "$pid" 5; done
      PIDS=()
    else
      say "# nginx not installed: no context row (apt-get install nginx-light)"
    fi
    ;;
  # -------------------------------------------------------------- 4. many workers
  scale)
    say "## many workers: min N idle, health every 5 s; start (admin up → N idle, capped at $START_CAP s); CPU over $CPU_SECONDS s, threads, RSS; SIGTERM to all gone"
    tick=$(getconf CLK_TCK)
    printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\n' workers idle start_s cpu_%core threads rss_MiB stop_ms | tee -a "$OUT"
    declare -A THREADS CPU STOP UP IDLE
    for n in "$COMPARE" "$WORKERS"; do
      # uidRange: one leased UID per live worker; the default range has exactly 1000
      start_gateway "scale$n" pool-hworker "{ min: $n, max: $n, warm: 0, reuse: false }
sandbox: { uidRange: 200000-201999 }" "$(ulimit -Hn)"
      # timed from the admin API answering (the JVM is up) to N idle workers, with a cap: past
      # it, what started is reported and measured, and the goals say the start was not reached
      started=$(date +%s%N)
      idle=0
      while :; do
        idle=$(status_field idle || true)
        [ "${idle:-0}" = "$n" ] && break
        kill -0 "$GATEWAY_PID" 2>/dev/null || { echo "pool-goals: the gateway died" >&2; tail "$WORK/scale$n.log" >&2; exit 1; }
        if [ $(( ($(date +%s%N) - started) / 1000000000 )) -ge "$START_CAP" ]; then
          say "# $n workers not all idle within $START_CAP s: ${idle:-0} idle (measuring those)"
          break
        fi
        sleep 0.2
      done
      IDLE[$n]=${idle:-0}
      UP[$n]=$(awk -v ns=$(( $(date +%s%N) - started )) 'BEGIN { printf "%.1f", ns / 1e9 }')
      [ "${IDLE[$n]}" = "$n" ] || UP[$n]=">${UP[$n]}"
      sleep 3   # the start-up's own work (JIT, the last spawns' bookkeeping) out of the window
      cpu0=$(awk '{ sub(/^.*\) /, ""); print $12 + $13 }' "/proc/$GATEWAY_PID/stat")
      sleep "$CPU_SECONDS"
      cpu1=$(awk '{ sub(/^.*\) /, ""); print $12 + $13 }' "/proc/$GATEWAY_PID/stat")
      CPU[$n]=$(awk -v d=$((cpu1 - cpu0)) -v t="$tick" -v s="$CPU_SECONDS" 'BEGIN { printf "%.2f", 100 * d / t / s }')
      THREADS[$n]=$(awk '/^Threads:/ { print $2 }' "/proc/$GATEWAY_PID/status")
      rss=$(awk '/^VmRSS:/ { printf "%.0f", $2 / 1024 }' "/proc/$GATEWAY_PID/status")
      live=$(pgrep -c -x pool-hworker || true)
      stop_gateway
      STOP[$n]=$STOP_MS
      printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$n" "${IDLE[$n]}" "${UP[$n]}" "${CPU[$n]}" "${THREADS[$n]}" "$rss" "${STOP[$n]}" | tee -a "$OUT"
      [ "$live" = "${IDLE[$n]}" ] || say "# $live worker processes alive while measuring (${IDLE[$n]} idle)"
    done
    say "# $(grep -m1 -o 'worker sandbox: [^;]*' "$WORK/scale$WORKERS.log" || true)"
    reached=$([ "${IDLE[$WORKERS]}" = "$WORKERS" ] && echo yes || echo no)
    at="at ${IDLE[$WORKERS]} of $WORKERS (start not reached in $START_CAP s)"
    [ "$reached" = yes ] && at="at $WORKERS"
    summary "$WORKERS workers started (admin up → all idle)" \
      "${UP[$WORKERS]} s, ${IDLE[$WORKERS]} idle (at $COMPARE: ${UP[$COMPARE]} s)" \
      "$([ "$reached" = yes ] && echo "-" || echo "✘ not reached")"
    summary "$WORKERS idle workers: ≤ 5 % of a core" "${CPU[$WORKERS]} % $at (at $COMPARE: ${CPU[$COMPARE]} %)" \
      "$(awk -v c="${CPU[$WORKERS]}" -v r="$reached" 'BEGIN { print (r != "yes") ? "✘ not reached" : (c <= 5) ? "✔" : "✘" }')"
    summary "threads not growing with workers" "${THREADS[$WORKERS]} $at, ${THREADS[$COMPARE]} at $COMPARE" \
      "$(awk -v a="${THREADS[$WORKERS]}" -v b="${THREADS[$COMPARE]}" -v r="$reached" 'BEGIN { print (r != "yes") ? "✘ not reached" : (a <= b + 10) ? "✔" : "✘" }')"
    summary "SIGTERM → gateway and $WORKERS workers gone ≤ 3 s" "${STOP[$WORKERS]} ms $at (at $COMPARE: ${STOP[$COMPARE]} ms)" \
      "$([ "$reached" != yes ] && echo "✘ not reached" || { [ "${STOP[$WORKERS]}" -le 3000 ] && echo ✔ || echo ✘; })"
    ;;
  # -------------------------------------------------------------- 5. tunnels
  tunnels)
    say "## tunnels: $TUNNELS idle WebSocket tunnels, gateway at -Xmx512m (descriptor limit $(ulimit -Hn))"
    start_gateway tunnels pool-ws-worker "{ min: 0, max: 2, warm: 1 }" "$(ulimit -Hn)" -Xmx512m
    goal TunnelGoal --mode capacity --port "$GW" --count "$TUNNELS" --gateway-pid "$GATEWAY_PID" \
      --threads 32 | tee -a "$OUT"
    stop_gateway
    say "# stop: $STOP_MS ms"
    say
    say "## tunnels past the descriptor limit: gateway with ulimit -n $NOFILE, $OVERLOAD tunnels tried"
    start_gateway overload pool-ws-worker "{ min: 0, max: 2, warm: 1 }" "$NOFILE" -Xmx512m
    lines0=$(wc -l < "$WORK/overload.log")
    goal TunnelGoal --mode overload --port "$GW" --count "$OVERLOAD" --gateway-pid "$GATEWAY_PID" \
      --timeout 5000 --threads 64 | tee -a "$OUT"
    alive=$(kill -0 "$GATEWAY_PID" 2>/dev/null && echo yes || echo NO)
    stop_gateway
    say "# gateway still running: $alive; stop: $STOP_MS ms"
    # the gateway's own log records (lines that start with a timestamp: not the access log, not
    # stack traces) at WARN or ERROR during the overload, grouped by message with digits blanked
    tail -n +$((lines0 + 1)) "$WORK/overload.log" \
      | grep -E '^[0-9]{4}-[0-9]{2}-[0-9]{2}T[^ ]+ (WARN|ERROR) ' > "$WORK/refusal.log" || true
    traces=$(tail -n +$((lines0 + 1)) "$WORK/overload.log" | grep -cE '^\s+at ' || true)
    say "# gateway log records at WARN/ERROR during the overload: $(wc -l < "$WORK/refusal.log") (stack-trace lines: $traces); by message:"
    cut -d' ' -f2- "$WORK/refusal.log" | cut -c1-200 | sed -E 's/[0-9]+/N/g' | sort | uniq -c \
      | sort -rn | head -n 8 | sed 's/^/#   /' | tee -a "$OUT"
    ;;
  esac
done

# ---------------------------------------------------------------- summary
grep -h '^SUMMARY' "$OUT" | cut -f2- > "$WORK/summary.tsv" || true
sed -i '/^SUMMARY\t/d' "$OUT"
{
  echo
  echo "## summary ($(date -u +%H:%M:%SZ), load: $(cut -d' ' -f1-3 /proc/loadavg))"
  echo "| goal | measured | met |"
  echo "|---|---|---|"
  awk -F'\t' '{ printf "| %s | %s | %s |\n", $1, $2, $3 }' "$WORK/summary.tsv"
} | tee -a "$OUT"
echo "(written to $OUT)" >&2
