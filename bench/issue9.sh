#!/usr/bin/env bash
# Every benchmark of issue 9 ("faster than nginx") in one go, against the real gateway:
#   1. bench/data-plane.sh  goal 1: herd against nginx and HAProxy (req/s, p99)
#   2. bench/pool-goals.sh  goals 2-4: cold start, warm spares, burst, scale (when present)
# builds herd-server's jar and the benchmarks jar once for both (unless SKIP_BUILD=1), and
# reports each part's wall time, exit status and the total. Both write their reports into
# bench-out/. The whole run is meant to take under 10 minutes on the 2-core machine of
# docs/benchmarks.md.
#
# Usage (as root, for the default sandbox): bench/issue9.sh [pool-goals.sh arguments...]
# Environment: SKIP_BUILD=1 uses the built jar; data-plane.sh's variables (ROUNDS, DURATION,
# WARMUP, CELLS, ...) pass through to it.
set -uo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
log() { echo "[issue9 $(date -u +%H:%M:%S)] $*" >&2; }

start=$(date +%s)
if [[ ${SKIP_BUILD:-0} != 1 ]]; then
  log "building herd-server and herd-benchmarks"
  (cd "$root" && mvn -B -q -pl herd-server,herd-benchmarks -am -Pbenchmarks \
    -Dmaven.test.skip=true package) >&2 || { log "build failed"; exit 1; }
fi
built=$(date +%s)

summary=()
failed=0
run_part() { # name command...
  local name=$1 t0 status
  shift
  t0=$(date +%s)
  log "$name: $*"
  "$@"
  status=$?
  summary+=("$(printf '%-16s %4d s  exit %d' "$name" $(($(date +%s) - t0)) "$status")")
  ((status == 0)) || failed=1
}

run_part data-plane env SKIP_BUILD=1 "$root/bench/data-plane.sh"
if [[ -x $root/bench/pool-goals.sh ]]; then
  args=("$@")
  grep -q -- '--skip-build' "$root/bench/pool-goals.sh" && args+=(--skip-build)
  run_part pool-goals "$root/bench/pool-goals.sh" "${args[@]}"
else
  log "bench/pool-goals.sh is not there: goals 2-4 not measured"
  summary+=("$(printf '%-16s %s' pool-goals 'not there')")
fi

echo
echo "issue 9 benchmarks, $(date -u +%Y-%m-%dT%H:%M:%SZ):"
printf '%-16s %4d s\n' build $((built - start))
printf '%s\n' "${summary[@]}"
printf '%-16s %4d s (%d min %d s)\n' total $(($(date +%s) - start)) $((($(date +%s) - start) / 60)) \
  $((($(date +%s) - start) % 60))
echo "reports: bench-out/data-plane-*.txt, bench-out/pool-goals-*.txt (the newest of each)"
exit "$failed"
