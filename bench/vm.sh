#!/usr/bin/env bash
# microVM figures (issue 12) on this machine: cold boot, snapshot clone and resume of a suspended
# VM, each from the start call to the app's first HTTP 200 (median and p90 over N, sequential),
# the suspend itself and the saved state's size, then RSS and PSS per idle clone with CLONES
# clones alive at once. Runs io.herd.vm.qemu.VmBench (herd-vm's test sources) with the gateway's
# default sandbox (as root: a UID, cgroup and network namespace per QEMU).
#
# Usage: bench/vm.sh [N=10] [CLONES=20]   (needs qemu-system-x86, the guest kernel from
#        herd-vm/kernel/fetch-kernel.sh, mvn, java; run as root for the full sandbox)
# Env: SKIP_BUILD=1 reuses the built classes.
# Every VM runs under the benchmark JVM's factories and dies with it (parent-death signal); the
# cache directory it makes under /var/cache/herd is deleted on exit.
set -euo pipefail
cd "$(dirname "$0")/.."
N=${1:-10}
CLONES=${2:-20}
if [ "${SKIP_BUILD:-}" != 1 ]; then
  mvn -B -o -q -pl herd-vm -am install -DskipTests
  mvn -B -o -q -pl herd-vm test-compile
fi
echo "# $(date -u +%FT%TZ) $(nproc) cores, $(qemu-system-x86_64 --version | head -1)," \
  "load $(cut -d' ' -f1-3 /proc/loadavg)"
# exec:exec puts herd-vm's test classpath in %classpath; the benchmark runs in a JVM of its own
mvn -B -o -q -pl herd-vm org.codehaus.mojo:exec-maven-plugin:3.5.0:exec \
  -Dexec.classpathScope=test -Dexec.executable=java \
  -Dexec.args="-Dorg.slf4j.simpleLogger.defaultLogLevel=warn -cp %classpath io.herd.vm.qemu.VmBench $N $CLONES"
