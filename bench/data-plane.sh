#!/usr/bin/env bash
# The data plane of issue 9, goal 1: the real gateway (`./herd serve`, default sandbox) against
# nginx and HAProxy, in one interleaved run, on loopback.
#
#   herd     ./herd serve with a generated herd.yaml: session key header:X-Session-ID, the
#            default sandbox (fresh process per session, reuse: false, ...), pool.max =
#            sessions + 1, access log off; every session is pinned to a worker of its own
#            before measuring (one request per key)
#   nginx    hash $http_x_session_id consistent, upstream keepalive, worker_processes auto,
#            access_log off, to `sessions` pre-started workers
#   haproxy  balance hdr(X-Session-ID) (hash-type consistent), http-reuse always, nbthread 2,
#            no logging, to the same pre-started workers
#
# Every worker is bench/dataplane/worker.c (compiled with gcc -O2 into bench-out/): an epoll
# HTTP/1.1 keep-alive server answering GET /5b with 5 bytes and GET /16k with 16 KiB, one
# process per session for every target.
#
# Matrix: sessions {8, 64} x body {5b, 16k} x phase {first, warm}. Each target is started once
# per sessions count:
#   first  start the target, wait until it answers, pin the sessions, then at once FIRST (10 s)
#          of both bodies side by side (one wrk per body, each with half the connections and
#          threads): what users get right after a restart (the JVM's JIT still cold)
#   warm   the same process after a short warm-up (WARMUP for herd's JIT, PEER_WARMUP for nginx
#          and HAProxy, shared among the bodies): ROUNDS rounds of DURATION per target and body,
#          one body at a time with all the connections
# Rounds are interleaved (herd, nginx, haproxy, herd, ...) so that noise hits the targets
# alike. Each measurement is wrk --latency -s bench/dataplane/sessions.lua (session keys rotate
# per request; every request carries X-Session-ID).
#
# Output: every round (target, sessions, body, phase, req/s, p50, p99, errors, non-2xx; for
# "first" also the seconds from start to answering and to all sessions pinned), then per cell
# the medians over rounds, the ratios herd/nginx and herd/haproxy (req/s and p99) and the goal
# (>= 1.25x nginx's req/s and p99 <= nginx's): to stdout and bench-out/data-plane-<time>.txt.
#
# Usage: bench/data-plane.sh            (from anywhere; needs gcc, java >= 17, mvn unless SKIP_BUILD=1)
# Environment (defaults in brackets):
#   ROUNDS [3]  DURATION [3s]  WARMUP [4s]  PEER_WARMUP [1s]  FIRST [10s]  FIRST_ROUNDS [1]
#   CELLS ["*:*:*"]  space-separated SESSIONS:BODY:PHASE patterns (shell globs), e.g.
#                    "8:*:warm 64:16k:first"
#   TARGETS ["herd nginx haproxy"]  CONNECTIONS [64]  THREADS [2]
#   SKIP_BUILD=1     use herd-server/target/herd.jar as built (./herd still rebuilds a stale one)
#   HERD_JAVA_OPTS   passed to ./herd (JVM options)
#   BASE_PORT [18300]  ports BASE..BASE+2 and BASE+100..BASE+100+max(sessions) must be free
#   DATA_PLANE_REPORT  the report's path [bench-out/data-plane-<UTC time>.txt]
# Installs wrk, nginx-light and haproxy (Debian) when missing. Listens on 127.0.0.1 only.
# Stops every process it started (by pid) on exit, checks that no worker outlived its gateway,
# and removes its temporary directory. Every wait has a cap (a target that does not answer or
# pin ends the run with a message). The whole default run takes about 3.5 minutes.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
out="$root/bench-out"
ROUNDS=${ROUNDS:-3}
DURATION=${DURATION:-3s}
WARMUP=${WARMUP:-4s}
PEER_WARMUP=${PEER_WARMUP:-1s}
FIRST=${FIRST:-10s}
FIRST_ROUNDS=${FIRST_ROUNDS:-1}
CELLS=${CELLS:-"*:*:*"}
TARGETS=${TARGETS:-"herd nginx haproxy"}
CONNECTIONS=${CONNECTIONS:-64}
THREADS=${THREADS:-2}
BASE_PORT=${BASE_PORT:-18300}
SESSION_COUNTS=(8 64)
BODIES=(5b 16k)

for t in $TARGETS; do
  case $t in herd | nginx | haproxy) ;; *) echo "TARGETS: unknown target: $t (expected: herd nginx haproxy)" >&2; exit 2 ;; esac
done
for v in ROUNDS FIRST_ROUNDS CONNECTIONS THREADS BASE_PORT; do
  [[ ${!v} =~ ^[1-9][0-9]*$ ]] || { echo "$v must be a positive integer: ${!v}" >&2; exit 2; }
done
# the first phase splits the connections and threads between the two bodies
((CONNECTIONS >= 2 * THREADS)) || { echo "CONNECTIONS must be >= 2 x THREADS: $CONNECTIONS < 2 x $THREADS" >&2; exit 2; }
for v in DURATION WARMUP PEER_WARMUP FIRST; do
  [[ ${!v} =~ ^[0-9]+[smh]?$ ]] || { echo "$v must be a wrk duration like 10s: ${!v}" >&2; exit 2; }
done

HERD_PORT=$BASE_PORT
ADMIN_PORT=$((BASE_PORT + 1))
NGINX_PORT=$((BASE_PORT + 2))
HAPROXY_PORT=$((BASE_PORT + 3))
WORKER_BASE=$((BASE_PORT + 100))
declare -A PORT=([herd]=$HERD_PORT [nginx]=$NGINX_PORT [haproxy]=$HAPROXY_PORT)

WORK=$(mktemp -d /tmp/herd-data-plane.XXXXXX)
WORKER_BIN="$out/dataplane-worker"
declare -A TARGET_PID=()      # running target -> pid
declare -A TARGET_SESSIONS=() # running target -> the session count it was started for
WORKER_PIDS=()                # the pre-started workers of nginx and haproxy
WORKERS_FOR=0                 # how many of them run
LEAKS=0

seconds() { # a wrk duration (10, 10s, 2m, 1h) -> seconds
  local n=${1%[smh]}
  case $1 in *m) echo $((n * 60)) ;; *h) echo $((n * 3600)) ;; *) echo "$n" ;; esac
}

log() { echo "[$(date -u +%H:%M:%S)] $*" >&2; }

# ---- processes --------------------------------------------------------------------------------

stop_pid() { # pid seconds: SIGTERM, then SIGKILL after the grace period; waits for it
  local pid=$1 grace=$2
  kill -TERM "$pid" 2>/dev/null || return 0
  for _ in $(seq 1 $((grace * 10))); do
    kill -0 "$pid" 2>/dev/null || { wait "$pid" 2>/dev/null || true; return 0; }
    sleep 0.1
  done
  log "pid $pid ignored SIGTERM for ${grace}s: SIGKILL"
  kill -KILL "$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || true
}

# Worker processes of our binary that are not the pre-started ones: a gateway's, which must be
# gone once the gateway has stopped.
stray_workers() {
  local pids pid own
  pids=$(pgrep -f "^$WORKER_BIN " || true)
  for pid in $pids; do
    own=0
    for p in "${WORKER_PIDS[@]}"; do [[ $p == "$pid" ]] && own=1; done
    [[ $own == 0 ]] && echo "$pid"
  done
  return 0
}

stop_target() { # target
  local t=$1 pid=${TARGET_PID[$1]:-}
  [[ -z $pid ]] && return 0
  case $t in
    herd) stop_pid "$pid" 30 ;; # drains (proxy.drainTimeout 5s), then stops every worker
    *) stop_pid "$pid" 10 ;;
  esac
  unset "TARGET_PID[$t]" "TARGET_SESSIONS[$t]"
  if [[ $t == herd ]]; then
    local stray
    stray=$(stray_workers)
    if [[ -n $stray ]]; then
      LEAKS=$((LEAKS + $(wc -w <<<"$stray")))
      log "LEAK: workers still running after the gateway stopped: $(echo $stray); killing them"
      kill -KILL $stray 2>/dev/null || true
    fi
  fi
}

stop_workers() {
  local pid
  for pid in "${WORKER_PIDS[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
  for pid in "${WORKER_PIDS[@]}"; do wait "$pid" 2>/dev/null || true; done
  WORKER_PIDS=()
  WORKERS_FOR=0
}

cleanup() {
  local status=$?
  trap - EXIT INT TERM
  for t in "${!TARGET_PID[@]}"; do stop_target "$t"; done
  stop_workers
  local stray
  stray=$(stray_workers)
  if [[ -n $stray ]]; then
    log "LEAK: workers still running at exit: $(echo $stray); killing them"
    kill -KILL $stray 2>/dev/null || true
    status=1
  fi
  rm -rf "$WORK"
  exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# ---- preparation ------------------------------------------------------------------------------

need=()
command -v wrk >/dev/null 2>&1 || need+=(wrk)
[[ -x /usr/sbin/nginx ]] || need+=(nginx-light)
[[ -x /usr/sbin/haproxy ]] || need+=(haproxy)
if ((${#need[@]})); then
  log "installing ${need[*]} (Debian)"
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}" >/dev/null
fi

if pgrep -f "^$WORKER_BIN " >/dev/null; then
  # its workers would be taken for ours (and its ports are ours)
  echo "another run's workers are running ($WORKER_BIN): $(pgrep -f "^$WORKER_BIN " | tr '\n' ' ')" >&2
  exit 1
fi
mkdir -p "$out"
gcc -O2 -Wall -Wextra -Werror -o "$WORKER_BIN" "$root/bench/dataplane/worker.c"
if [[ " $TARGETS " == *" herd "* ]]; then
  if [[ ${SKIP_BUILD:-0} != 1 ]]; then
    log "building herd-server (SKIP_BUILD=1 skips this)"
    (cd "$root" && mvn -B -q -pl herd-server -am -DskipTests package) >&2
  fi
fi

wanted() { # sessions body phase: is the cell in CELLS?
  local pattern s b p
  for pattern in $CELLS; do
    IFS=: read -r s b p <<<"$pattern"
    # shellcheck disable=SC2053 # globs on purpose
    [[ $1 == ${s:-*} && $2 == ${b:-*} && $3 == ${p:-*} ]] && return 0
  done
  return 1
}

herd_config() { # sessions -> path of a herd.yaml
  local s=$1 f="$WORK/herd-$1.yaml"
  cat >"$f" <<YAML
# generated by bench/data-plane.sh: the defaults but for the pool's size and the access log
listen: 127.0.0.1:$HERD_PORT
admin: { listen: 127.0.0.1:$ADMIN_PORT }
session: { key: "header:X-Session-ID" }
worker:
  command: [$WORKER_BIN, "{{port}}"]
  workdir: $out   # not the config's directory: that is private, and a worker UID must enter it
  health: { path: /health }
pool: { max: $((s + 1)) }
logging: { access: off }
YAML
  echo "$f"
}

nginx_config() { # sessions -> path
  local s=$1 f="$WORK/nginx-$1.conf" i upstreams=""
  for ((i = 0; i < s; i++)); do upstreams+="    server 127.0.0.1:$((WORKER_BASE + i));"$'\n'; done
  mkdir -p "$WORK/nginx"
  cat >"$f" <<CONF
worker_processes auto;
daemon off;
pid $WORK/nginx/nginx.pid;
error_log $WORK/nginx/error.log warn;
events { worker_connections 4096; }
http {
  access_log off;
  client_body_temp_path $WORK/nginx/body;
  proxy_temp_path $WORK/nginx/proxy;
  keepalive_requests 1000000;
  upstream workers {
    hash \$http_x_session_id consistent;
$upstreams    keepalive 256;
    keepalive_requests 1000000;
  }
  server {
    listen 127.0.0.1:$NGINX_PORT;
    location / {
      proxy_pass http://workers;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
      proxy_set_header X-Forwarded-For \$remote_addr;
    }
  }
}
CONF
  echo "$f"
}

haproxy_config() { # sessions -> path
  local s=$1 f="$WORK/haproxy-$1.cfg" i
  {
    cat <<CONF
global
  nbthread 2
  maxconn 4096
defaults
  mode http
  option forwardfor
  timeout connect 5s
  timeout client 60s
  timeout server 60s
  timeout http-keep-alive 60s
frontend front
  bind 127.0.0.1:$HAPROXY_PORT
  default_backend workers
backend workers
  balance hdr(X-Session-ID)
  hash-type consistent
  http-reuse always
CONF
    for ((i = 0; i < s; i++)); do echo "  server w$i 127.0.0.1:$((WORKER_BASE + i))"; done
  } >"$f"
  echo "$f"
}

start_workers() { # sessions: the pre-started workers of nginx and haproxy
  local s=$1 i port
  ((WORKERS_FOR == s)) && return 0
  stop_workers
  for ((i = 0; i < s; i++)); do
    "$WORKER_BIN" $((WORKER_BASE + i)) &
    WORKER_PIDS+=($!)
  done
  for ((i = 0; i < s; i++)); do
    port=$((WORKER_BASE + i))
    wait_port "$port" "${WORKER_PIDS[$i]}" || { log "worker on $port did not start"; exit 1; }
  done
  WORKERS_FOR=$s
}

wait_port() { # port pid: until something listens there (5 s), while pid lives
  for _ in $(seq 1 50); do
    (echo >"/dev/tcp/127.0.0.1/$1") 2>/dev/null && return 0
    kill -0 "$2" 2>/dev/null || return 1
    sleep 0.1
  done
  return 1
}

wait_http() { # url expected-status tries(x 0.1 s) [pid]: until the url answers with that status
  local code
  for _ in $(seq 1 "$3"); do
    if [[ -n ${4:-} ]] && ! kill -0 "$4" 2>/dev/null; then return 1; fi
    code=$(curl -s -o /dev/null -w '%{http_code}' --max-time 2 "$1" || true)
    [[ $code == "$2" ]] && return 0
    sleep 0.1
  done
  return 1
}

herd_session_workers() { # distinct workers holding the bench sessions, from the admin API
  curl -s --max-time 5 "http://127.0.0.1:$ADMIN_PORT/sessions" |
    grep -oE '"workerId" *: *"[^"]*"' | sort -u | wc -l
}

now_ms() { date +%s%3N; }

# Starts target t for s sessions, waits until it answers, pins the sessions (one request per
# key). Sets STARTED_S (start to answering) and PINNED_S (start to every session pinned).
start_target() { # target sessions
  local t=$1 s=$2 t0 answered
  stop_target "$t"
  [[ $t != herd ]] && start_workers "$s"
  t0=$(now_ms)
  case $t in
    herd)
      "$root/herd" serve --config "$(herd_config "$s")" >"$WORK/herd.out" 2>"$WORK/herd.log" &
      TARGET_PID[$t]=$!
      # a request without a session key: 400 from the gateway itself, no worker spawned
      wait_http "http://127.0.0.1:$HERD_PORT/5b" 400 600 "${TARGET_PID[$t]}" ||
        { log "herd did not answer within 60 s:"; tail -20 "$WORK/herd.log" >&2; exit 1; } ;;
    nginx)
      /usr/sbin/nginx -c "$(nginx_config "$s")" >"$WORK/nginx.out" 2>&1 &
      TARGET_PID[$t]=$!
      wait_http "http://127.0.0.1:$NGINX_PORT/5b" 200 300 "${TARGET_PID[$t]}" ||
        { log "nginx did not answer:"; cat "$WORK/nginx.out" "$WORK/nginx/error.log" >&2; exit 1; } ;;
    haproxy)
      /usr/sbin/haproxy -db -f "$(haproxy_config "$s")" >"$WORK/haproxy.out" 2>&1 &
      TARGET_PID[$t]=$!
      wait_http "http://127.0.0.1:$HAPROXY_PORT/5b" 200 300 "${TARGET_PID[$t]}" ||
        { log "haproxy did not answer:"; cat "$WORK/haproxy.out" >&2; exit 1; } ;;
  esac
  TARGET_SESSIONS[$t]=$s
  answered=$(now_ms)
  # one curl, 16 requests at a time: the sessions' first requests (cold starts for herd)
  local ok k pin=()
  for ((k = 0; k < s; k++)); do
    ((k)) && pin+=(--next)
    pin+=(-s -o /dev/null -w '%{http_code}\n' --max-time 30 -H "X-Session-ID: bench-$k"
      "http://127.0.0.1:${PORT[$t]}/5b")
  done
  ok=$(curl --parallel --parallel-max 16 "${pin[@]}" 2>/dev/null | grep -c '^200$' || true)
  if [[ $ok != "$s" ]]; then
    log "$t: only $ok of $s sessions answered 200 when pinned"
    [[ $t == herd ]] && tail -20 "$WORK/herd.log" >&2
    exit 1
  fi
  if [[ $t == herd ]]; then
    local workers
    workers=$(herd_session_workers)
    if [[ $workers != "$s" ]]; then
      log "herd: $s sessions pinned, but to $workers distinct workers (expected: $s)"
      exit 1
    fi
  fi
  STARTED_S=$(awk -v a="$t0" -v b="$answered" 'BEGIN { printf "%.2f", (b - a) / 1000 }')
  PINNED_S=$(awk -v a="$t0" -v b="$(now_ms)" 'BEGIN { printf "%.2f", (b - a) / 1000 }')
}

# The launcher's class-data-sharing archive (see ./herd): with HERD_CDS unset or auto, recorded
# here when missing or older than the jar, by a short run of the 8-session gateway (start, pin,
# 2 s of each body, stop), so that every measured start uses it. HERD_CDS=off measures without.
CDS_NOTE="off (HERD_CDS=off)"
record_cds_archive() {
  [[ ${HERD_CDS:-auto} == off ]] && return 0
  [[ ${HERD_CDS:-auto} == auto ]] || { echo "HERD_CDS must be auto or off here: $HERD_CDS" >&2; exit 2; }
  local jar="$root/herd-server/target/herd.jar"
  local archive="${HERD_CDS_ARCHIVE:-$root/herd-server/target/herd.jsa}"
  if [[ -f $archive && -n $(find "$archive" -newer "$jar" 2>/dev/null) ]]; then
    CDS_NOTE="on, $archive (recorded $(date -u -r "$archive" +%Y-%m-%dT%H:%M:%SZ))"
    return 0
  fi
  log "herd: recording the class-data-sharing archive $archive (HERD_CDS=off skips this)"
  HERD_CDS=record start_target herd 8
  for b in "${BODIES[@]}"; do run_wrk herd 8 "$b" 1s; done
  stop_target herd
  [[ -f $archive ]] || { log "herd: no archive was written at $archive"; exit 1; }
  CDS_NOTE="on, $archive (recorded by this run)"
}

ensure_target() { # target sessions: running for that many sessions
  if [[ ${TARGET_SESSIONS[$1]:-} != "$2" ]]; then start_target "$1" "$2"; fi
}

# ---- measuring --------------------------------------------------------------------------------

to_ms() { # a wrk latency (640.00us, 6.46ms, 1.02s, 1.50m) -> milliseconds
  awk -v v="$1" 'BEGIN {
    n = v + 0; u = v; sub(/^[0-9.]+/, "", u)
    f = (u == "us") ? 0.001 : (u == "ms") ? 1 : (u == "s") ? 1000 : (u == "m") ? 60000 : -1
    if (f < 0) { print "nan"; exit }
    printf "%.3f", n * f }'
}

ROWS="$WORK/rows.tsv"
REPORT=${DATA_PLANE_REPORT:-"$out/data-plane-$(date -u +%Y%m%dT%H%M%SZ).txt"}
: >"$ROWS"

emit() { echo "$*" | tee -a "$REPORT"; }

WRK_SECONDS=0
WRK_OUT="$WORK/wrk.txt"
run_wrk() { # target sessions body duration [connections threads file]: wrk's report into a file
  KEYS=$2 wrk -t"${6:-$THREADS}" -c"${5:-$CONNECTIONS}" -d"$4" --latency \
    -s "$root/bench/dataplane/sessions.lua" "http://127.0.0.1:${PORT[$1]}/$3" >"${7:-$WRK_OUT}" 2>&1 || true
}

record() { # file target sessions body phase round [started pinned]: one row from a wrk report
  local f=$1 rps p50 p99 errors non2xx
  shift
  rps=$(awk '/^Requests\/sec/ { printf "%.0f", $2 }' "$f")
  p50=$(to_ms "$(awk '$1 == "50%" { print $2 }' "$f")")
  p99=$(to_ms "$(awk '$1 == "99%" { print $2 }' "$f")")
  errors=$(awk '/Socket errors/ { gsub(",", ""); print $4 + $6 + $8 + $10 }' "$f")
  non2xx=$(awk '/Non-2xx/ { print $NF }' "$f")
  if [[ -z $rps ]]; then log "wrk failed:"; cat "$f" >&2; exit 1; fi
  printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$1" "$2" "$3" "$4" "$5" "$rps" "$p50" "$p99" \
    "${errors:-0}" "${non2xx:-0}" >>"$ROWS"
  emit "$(printf '%-7s %8s %4s %5s %5s %10s %9s %9s %6s %7s %8s %8s' "$1" "$2" "$3" "$4" "$5" \
    "$rps" "$p50" "$p99" "${errors:-0}" "${non2xx:-0}" "${6:--}" "${7:--}")"
}

measure() { # target sessions body round: one warm round, every connection on one body
  WRK_SECONDS=$((WRK_SECONDS + $(seconds "$DURATION")))
  run_wrk "$1" "$2" "$3" "$DURATION"
  record "$WRK_OUT" "$1" "$2" "$3" warm "$4"
}

# The first FIRST seconds after a start, every body of the cell at once: one wrk per body, the
# connections and threads split evenly among them, so that every body is measured in the same
# first seconds of the same process. The rows give the start times too.
measure_first() { # target sessions round body...
  local t=$1 s=$2 r=$3 n b c th pids=()
  shift 3
  n=$#
  c=$((CONNECTIONS / n))
  th=$((THREADS / n))
  ((th >= 1)) || th=1
  WRK_SECONDS=$((WRK_SECONDS + $(seconds "$FIRST")))
  for b in "$@"; do
    run_wrk "$t" "$s" "$b" "$FIRST" "$c" "$th" "$WORK/wrk-first-$b.txt" &
    pids+=($!)
  done
  wait "${pids[@]}"
  for b in "$@"; do record "$WORK/wrk-first-$b.txt" "$t" "$s" "$b" first "$r" "$STARTED_S" "$PINNED_S"; done
}

emit "# bench/data-plane.sh $(date -u +%Y-%m-%dT%H:%M:%SZ), $(uname -srm), $(nproc) cores," \
  "load before: $(cut -d' ' -f1-3 /proc/loadavg)"
emit "# $(java -version 2>&1 | head -1); $(/usr/sbin/nginx -v 2>&1); $(/usr/sbin/haproxy -v | head -1 | cut -d' ' -f1-3)"
emit "# wrk -t$THREADS -c$CONNECTIONS --latency (first: one wrk per body, the connections and threads split); FIRST=$FIRST FIRST_ROUNDS=$FIRST_ROUNDS WARMUP=$WARMUP" \
  "ROUNDS=$ROUNDS DURATION=$DURATION CELLS='$CELLS' TARGETS='$TARGETS' HERD_JAVA_OPTS='${HERD_JAVA_OPTS:-}'"
if [[ " $TARGETS " == *" herd "* ]]; then
  record_cds_archive
  # builds a stale jar before anything is timed, and checks the generated file
  "$root/herd" validate --config "$(herd_config 8)" >"$WORK/validate.txt" 2>&1 ||
    { cat "$WORK/validate.txt" >&2; exit 1; }
  emit "# herd class-data-sharing archive: $CDS_NOTE"
  emit "# herd sandbox on this host: $(grep -oE '\(sandbox\.[a-z]+\): [A-Z]+' "$WORK/validate.txt" |
    sed -E 's/^\(sandbox\.([a-z]+)\): /\1=/' | tr '\n' ' ')"
fi
emit ""
emit "$(printf '%-7s %8s %4s %5s %5s %10s %9s %9s %6s %7s %8s %8s' target sessions body phase round \
  req/s p50_ms p99_ms errors non2xx ready_s pinned_s)"

started=$(date +%s)
for s in "${SESSION_COUNTS[@]}"; do
  any=0
  for b in "${BODIES[@]}"; do for p in first warm; do wanted "$s" "$b" "$p" && any=1; done; done
  ((any)) || continue

  # first 10 s: (re)start, pin, measure every body at once; interleaved across targets
  first_bodies=()
  for b in "${BODIES[@]}"; do wanted "$s" "$b" first && first_bodies+=("$b"); done
  if ((${#first_bodies[@]})); then
    for ((r = 1; r <= FIRST_ROUNDS; r++)); do
      for t in $TARGETS; do
        log "$t: $s sessions, ${first_bodies[*]}, first $FIRST, round $r: restarting"
        start_target "$t" "$s"
        measure_first "$t" "$s" "$r" "${first_bodies[@]}"
      done
    done
  fi

  # warm: the targets keep running (from the last "first" cell, or started now)
  warm_bodies=()
  for b in "${BODIES[@]}"; do wanted "$s" "$b" warm && warm_bodies+=("$b"); done
  ((${#warm_bodies[@]})) || continue
  for t in $TARGETS; do
    ensure_target "$t" "$s"
    # The JVM needs the warm-up (C2 on two busy cores); nginx and HAProxy only fill their
    # connection pools. WARMUP is shared among the bodies measured.
    w=$PEER_WARMUP
    [[ $t == herd ]] && w=$WARMUP
    w=$(($(seconds "$w") / ${#warm_bodies[@]}))
    ((w > 0)) || w=1
    log "$t: $s sessions, warm-up ${w}s per body"
    WRK_SECONDS=$((WRK_SECONDS + w * ${#warm_bodies[@]}))
    for b in "${warm_bodies[@]}"; do run_wrk "$t" "$s" "$b" "${w}s"; done
  done
  for ((r = 1; r <= ROUNDS; r++)); do
    for b in "${warm_bodies[@]}"; do
      for t in $TARGETS; do
        log "$t: $s sessions, $b, warm round $r"
        measure "$t" "$s" "$b" "$r"
      done
    done
  done
done
for t in "${!TARGET_PID[@]}"; do stop_target "$t"; done
stop_workers

# ---- summary ----------------------------------------------------------------------------------

emit ""
emit "# medians over rounds; ratio = herd / peer (req/s: higher is better; p99: lower is better)"
emit "# goal: herd >= 1.25x nginx's req/s and herd p99 <= nginx's p99"
emit "$(awk -F'\t' '
  function median(list,   a, n, i, j, t) {
    n = split(list, a, " ")
    for (i = 2; i <= n; i++) { t = a[i]; for (j = i - 1; j >= 1 && a[j] + 0 > t + 0; j--) a[j + 1] = a[j]; a[j + 1] = t }
    return (n % 2) ? a[(n + 1) / 2] : (a[n / 2] + a[n / 2 + 1]) / 2
  }
  function ratio(a, b) { return (a == "" || b == "" || b + 0 == 0) ? "-" : sprintf("%.2f", a / b) }
  {
    cell = $2 SUBSEP $3 SUBSEP $4
    if (!(cell in seen)) { seen[cell] = 1; order[++cells] = cell }
    rps[cell, $1] = rps[cell, $1] " " $6; p99[cell, $1] = p99[cell, $1] " " $8
    err[cell, $1] += $9 + $10
  }
  END {
    printf "%-8s %4s %5s %9s %9s %9s %8s %8s %8s %11s %11s %9s %9s %5s\n", "sessions", "body", "phase",
      "herd_rps", "nginx", "haproxy", "herd_p99", "nginx", "haproxy", "rps/nginx", "rps/haproxy",
      "p99/nginx", "p99/hapr", "goal"
    for (i = 1; i <= cells; i++) {
      c = order[i]; split(c, k, SUBSEP)
      hr = ((c, "herd") in rps) ? median(rps[c, "herd"]) : ""
      nr = ((c, "nginx") in rps) ? median(rps[c, "nginx"]) : ""
      ar = ((c, "haproxy") in rps) ? median(rps[c, "haproxy"]) : ""
      hp = ((c, "herd") in p99) ? median(p99[c, "herd"]) : ""
      np = ((c, "nginx") in p99) ? median(p99[c, "nginx"]) : ""
      ap = ((c, "haproxy") in p99) ? median(p99[c, "haproxy"]) : ""
      goal = (hr == "" || nr == "") ? "-" : (hr >= 1.25 * nr && hp + 0 <= np + 0) ? "✔" : "✘"
      if (err[c, "herd"] + err[c, "nginx"] + err[c, "haproxy"] > 0) goal = goal "!"
      printf "%-8s %4s %5s %9s %9s %9s %8s %8s %8s %11s %11s %9s %9s %5s\n", k[1], k[2], k[3],
        hr == "" ? "-" : sprintf("%.0f", hr), nr == "" ? "-" : sprintf("%.0f", nr),
        ar == "" ? "-" : sprintf("%.0f", ar), hp == "" ? "-" : sprintf("%.2f", hp),
        np == "" ? "-" : sprintf("%.2f", np), ap == "" ? "-" : sprintf("%.2f", ap),
        ratio(hr, nr), ratio(hr, ar), ratio(hp, np), ratio(hp, ap), goal
    }
  }' "$ROWS")"
emit "# (! = some round of the cell had socket errors or non-2xx answers: see the rows above)"
emit "# wall time $(($(date +%s) - started)) s, of which wrk ran $WRK_SECONDS s; worker processes left behind by a gateway: $LEAKS;" \
  "load after: $(cut -d' ' -f1-3 /proc/loadavg)"
log "report: $REPORT"
((LEAKS == 0))
