#!/usr/bin/env bash
# Cold-start overhead of herd-core: pool.acquire(newKey) against the worker's own
# spawn-to-healthy time, with a C worker that starts in about a millisecond.
# See ColdStartBenchmark's Javadoc for what each row measures, docs/benchmarks.md for results.
#
# Usage: bench/cold-start.sh [--rounds N] [--warmup N] [--sandbox defaults|none]
#   (from anywhere; needs gcc, mvn, java; as root for the sandbox rows and the default sandbox)
# Writes bench-out/cold-start.txt (the report) and bench-out/cold-start.csv (every round).
# Environment: JAVA (default: java on PATH), SKIP_BUILD=1 to reuse the built jar.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
out="$root/bench-out"
mkdir -p "$out"

gcc -O2 -Wall -Wextra -Werror -o "$out/coldstart-worker" "$root/bench/coldstart/worker.c"

jar="$root/herd-benchmarks/target/benchmarks.jar"
if [[ "${SKIP_BUILD:-0}" != 1 || ! -f "$jar" ]]; then
  (cd "$root" && mvn -B -q -pl herd-benchmarks -am -Pbenchmarks -Dmaven.test.skip=true package)
fi

{
  echo "# $(date -u +%Y-%m-%dT%H:%M:%SZ) $(uname -srm), $(nproc) cores," \
    "load: $(cut -d' ' -f1-3 /proc/loadavg)"
  echo "# $("${JAVA:-java}" -version 2>&1 | head -1)"
  "${JAVA:-java}" -Xms256m -Xmx256m -cp "$jar" io.herd.benchmarks.coldstart.ColdStartBenchmark \
    --worker "$out/coldstart-worker" --csv "$out/cold-start.csv" "$@"
} | tee "$out/cold-start.txt"
