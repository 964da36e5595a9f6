#!/usr/bin/env bash
# Every goal of issue 9 ("faster than nginx") in one run of under 10 minutes, against the real
# gateway, each part a separate process with a wall-time cap:
#   data-plane  bench/data-plane.sh       goal 1: herd against nginx and HAProxy (req/s, p99)
#   cold        bench/pool-goals.sh cold     goal 2: cold start against the worker's floor
#   warm        bench/pool-goals.sh warm     goal 2: warm spares, the sustainable new-key rate
#   burst       bench/pool-goals.sh burst    goal 3: 200 new keys at max 10
#   tunnels     bench/pool-goals.sh tunnels  goal 4b: idle tunnels, and past the fd limit
#   scale       bench/pool-goals.sh scale    goal 4a: 100 and 1,000 idle workers
# It builds herd-server's jar and the benchmarks jar first when they are missing or older than a
# source (SKIP_BUILD=1: never). A part that overruns its cap gets SIGTERM (its script stops what
# it started), SIGKILL 60 s later, is reported as timed out, and the run goes on to the next
# part; a part that fails is reported and the run goes on too. Ctrl-C stops the running part the
# same way and skips the rest. At the end: every part's wall time and status, the goals (✔/✘)
# of every part, and the total; the exit status is non-zero when a part failed or timed out,
# and when the total (build included) exceeds BUDGET.
#
# Usage (as root, for the default sandbox): bench/issue9.sh [--smoke] [PART...]
#   PARTs: any of data-plane cold warm burst tunnels scale (default: all, in that order)
#   --smoke  small sizes, to see that every part works (not a measurement)
# Environment: SKIP_BUILD=1; BUDGET (600 s); CAPS (e.g. "scale=400": a part's cap); BASE_PORT (18300: data-plane uses BASE..BASE+3
# and BASE+100..BASE+164, pool-goals BASE+200..BASE+219); data-plane.sh's variables (ROUNDS,
# DURATION, WARMUP, CELLS, ...) and POOL_GOALS_ARGS (extra pool-goals.sh options, e.g.
# "--start-cap 60") pass through.
# Reports: bench-out/issue9-<UTC time>-data-plane.txt and -pool-goals.txt (every round's raw
# table), and bench-out/issue9-<UTC time>.txt (this summary).
set -uo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
log() { echo "[issue9 $(date -u +%H:%M:%S)] $*" >&2; }

ALL_PARTS=(data-plane cold warm burst tunnels scale)
# Wall-time caps in seconds: hang guards, well above each part's time on the 2-core machine.
declare -A CAP=([build]=600 [data-plane]=360 [cold]=120 [warm]=150 [burst]=180 [tunnels]=240
  [scale]=330)
for cap in ${CAPS:-}; do # CAPS="scale=400 tunnels=300" overrides caps
  [[ $cap =~ ^(build|data-plane|cold|warm|burst|tunnels|scale)=[1-9][0-9]*$ ]] ||
    { echo "issue9: CAPS: expected PART=SECONDS: $cap" >&2; exit 2; }
  CAP[${cap%%=*}]=${cap#*=}
done
SMOKE=0
PARTS=()
for arg in "$@"; do
  case $arg in
    --smoke) SMOKE=1 ;;
    data-plane | cold | warm | burst | tunnels | scale) PARTS+=("$arg") ;;
    *) echo "issue9: unknown argument: $arg (expected: --smoke or a part: ${ALL_PARTS[*]})" >&2
       exit 2 ;;
  esac
done
((${#PARTS[@]})) || PARTS=("${ALL_PARTS[@]}")
BUDGET=${BUDGET:-600}
BASE_PORT=${BASE_PORT:-18300}
for v in BUDGET BASE_PORT; do
  [[ ${!v} =~ ^[1-9][0-9]*$ ]] || { echo "issue9: $v must be a positive integer: ${!v}" >&2; exit 2; }
done
[[ $(id -u) == 0 ]] || { echo "issue9: run as root (the default sandbox of a root gateway)" >&2; exit 2; }

stamp=$(date -u +%Y%m%dT%H%M%SZ)
mkdir -p "$root/bench-out"
DATA_PLANE_REPORT="$root/bench-out/issue9-$stamp-data-plane.txt"
POOL_GOALS_REPORT="$root/bench-out/issue9-$stamp-pool-goals.txt"
SUMMARY="$root/bench-out/issue9-$stamp.txt"
export DATA_PLANE_REPORT POOL_GOALS_REPORT

pool_args=(--skip-build)
if ((SMOKE)); then
  export CELLS=${CELLS:-"8:*:*"} FIRST=${FIRST:-3s} ROUNDS=${ROUNDS:-1} DURATION=${DURATION:-2s}
  pool_args+=(--rounds 3 --rates 5 --seconds 3 --burst 20 --burst-runs 1 --workers 20 --compare 10
    --cpu-seconds 3 --start-cap 30 --tunnels 200 --overload 600 --nofile 500)
fi
# shellcheck disable=SC2206 # words on purpose
pool_args+=(${POOL_GOALS_ARGS:-})

# ---- running a part with a cap -----------------------------------------------------------------

PART_PID=""
INTERRUPTED=0
on_signal() { # status: stop the running part (timeout passes TERM on to its process group)
  INTERRUPTED=$1
  [[ -n $PART_PID ]] && kill -TERM "$PART_PID" 2>/dev/null
  log "interrupted: stopping the running part, skipping the rest"
}
trap 'on_signal 130' INT
trap 'on_signal 143' TERM

ROWS=()
FAILED=0
declare -A NOT_DONE=() # part -> why it did not finish
row() { ROWS+=("$(printf '%-11s %5s s  %s' "$1" "$2" "$3")"); }

# run_part NAME COMMAND...: runs it under timeout(1) in a process group of its own, so that a
# cap or Ctrl-C reaches the part's script and everything it started in the foreground
run_part() {
  local name=$1 t0 status
  shift
  if ((INTERRUPTED)); then
    row "$name" - "not run (interrupted)"
    NOT_DONE[$name]="not run (interrupted)"
    return
  fi
  t0=$(date +%s)
  log "$name (cap ${CAP[$name]} s): $*"
  timeout -k 60 "${CAP[$name]}" "$@" &
  PART_PID=$!
  while :; do
    wait "$PART_PID"
    status=$?
    kill -0 "$PART_PID" 2>/dev/null || break # else a trap interrupted the wait
  done
  PART_PID=""
  local took=$(($(date +%s) - t0)) what
  case $status in
    0) what="ok" ;;
    124 | 137) what="TIMED OUT after its cap of ${CAP[$name]} s: its goals not reached" ;;
    *) what="FAILED (exit $status): see its report" ;;
  esac
  ((INTERRUPTED)) && ((status != 0)) && what="interrupted (exit $status)"
  ((status == 0)) || { FAILED=1; NOT_DONE[$name]=$what; }
  row "$name" "$took" "$what"
}

start=$(date +%s)

# ---- build (when stale) ------------------------------------------------------------------------

jars=("$root/herd-server/target/herd.jar" "$root/herd-benchmarks/target/benchmarks.jar")
stale() { # a jar missing, or a source or pom newer than the older jar
  local jar oldest=""
  for jar in "${jars[@]}"; do
    [[ -f $jar ]] || return 0
    [[ -z $oldest || $jar -ot $oldest ]] && oldest=$jar
  done
  [[ -n $(find "$root/pom.xml" "$root"/herd-* \( -name target -o -name node_modules \) -prune \
    -o -type f -newer "$oldest" -print -quit 2>/dev/null) ]]
}
if [[ ${SKIP_BUILD:-0} == 1 ]]; then
  row build 0 "skipped (SKIP_BUILD=1)"
elif stale; then
  run_part build bash -c "cd '$root' && mvn -B -q -pl herd-server,herd-benchmarks -am -Pbenchmarks \
    -Dmaven.test.skip=true package >&2"
else
  row build 0 "up to date"
fi
if [[ ! -f ${jars[0]} || ! -f ${jars[1]} ]]; then
  log "the jars are not there (build failed?): nothing measured"
  printf '%s\n' "${ROWS[@]}" >&2
  exit 1
fi

# ---- the parts ---------------------------------------------------------------------------------

for part in "${PARTS[@]}"; do
  case $part in
    data-plane) run_part data-plane env SKIP_BUILD=1 BASE_PORT="$BASE_PORT" "$root/bench/data-plane.sh" ;;
    *) run_part "$part" env BASE_PORT=$((BASE_PORT + 200)) "$root/bench/pool-goals.sh" "$part" \
         "${pool_args[@]}" ;;
  esac
done

# ---- summary -----------------------------------------------------------------------------------

total=$(($(date +%s) - start))
{
  echo
  echo "# issue 9 benchmarks, $(date -u +%Y-%m-%dT%H:%M:%SZ), git $(git -C "$root" rev-parse --short HEAD 2>/dev/null || echo '?')$( ((SMOKE)) && echo ', SMOKE sizes: not a measurement')"
  echo
  echo "## goal 1, data plane (medians over rounds; every round in $(basename "$DATA_PLANE_REPORT"))"
  [[ " ${PARTS[*]} " == *" data-plane "* ]] || echo "not run (not among the parts asked for)"
  [[ -f $DATA_PLANE_REPORT ]] && sed -n '/^sessions body phase/,/^# (! = /p' "$DATA_PLANE_REPORT"
  [[ -n ${NOT_DONE[data-plane]:-} ]] && echo "data-plane not reached: ${NOT_DONE[data-plane]} ✘"
  echo
  echo "## goals 2-4 (every round in $(basename "$POOL_GOALS_REPORT"))"
  echo "| goal | measured | met |"
  echo "|---|---|---|"
  [[ -f $POOL_GOALS_REPORT ]] && grep -E '^\| ' "$POOL_GOALS_REPORT" | grep -vE '^\| goal \||^\|---'
  for part in cold warm burst tunnels scale; do
    [[ -n ${NOT_DONE[$part]:-} ]] && echo "| $part | not reached: ${NOT_DONE[$part]} | ✘ |"
  done
  echo
  echo "## wall times (caps: $(for p in build "${PARTS[@]}"; do printf '%s %s s, ' "$p" "${CAP[$p]}"; done | sed 's/, $//'))"
  printf '%s\n' "${ROWS[@]}"
  printf '%-11s %5d s  (%d min %d s; budget %d s)\n' total "$total" $((total / 60)) $((total % 60)) "$BUDGET"
} | tee "$SUMMARY"
status=$FAILED
if ((total > BUDGET)); then
  echo "issue9: FAILED: the run took $total s, over its budget of $BUDGET s (10 minutes)" | tee -a "$SUMMARY" >&2
  status=1
fi
((INTERRUPTED)) && status=$INTERRUPTED
log "summary: $SUMMARY"
exit "$status"
