#!/bin/sh
# Compiles one of the project's native programs into OUTPUT, statically linked so that it runs on
# any Linux of the same architecture (and, for the guest init, in a VM whose image may hold no
# libc at all). SOURCE defaults to herd-launch.c beside this file, which is linked with
# herd-serve.c (its --serve mode); herd-vm passes its guest init. herd-net.c is the exception:
# it loads libnftables.so.1 with dlopen, which a static binary cannot, so it is linked
# dynamically (against libc only; it needs no nftables headers to build).
# Called by the Maven builds of herd-core and herd-vm (generate-resources); usable by hand:
#   sh herd-core/src/main/c/build.sh /tmp/herd-launch
#   sh herd-core/src/main/c/build.sh /tmp/herd-net herd-core/src/main/c/herd-net.c
#   sh herd-core/src/main/c/build.sh /tmp/herd-vm-init herd-vm/src/main/c/herd-vm-init.c
set -eu
output="$1"
source="${2:-$(dirname "$0")/herd-launch.c}"
extra=""
if [ -z "${2:-}" ]; then
  extra="$(dirname "$0")/herd-serve.c"
fi
name="$(basename "$source" .c)"
compiler="${CC:-}"
if [ -z "$compiler" ]; then
  for candidate in cc gcc; do
    if command -v "$candidate" >/dev/null 2>&1; then
      compiler="$candidate"
      break
    fi
  done
fi
if [ -z "$compiler" ]; then
  echo "herd: no C compiler found (cc or gcc) to build $name from $source" \
    "(to fix: apt-get install gcc libc6-dev, or set CC)" >&2
  exit 1
fi
mkdir -p "$(dirname "$output")"
if [ "$name" = herd-net ]; then
  if ! "$compiler" -std=c11 -O2 -Wall -Wextra -Werror -s -o "$output.tmp" "$source" -ldl; then
    echo "herd: $compiler could not build $name from $source (to fix: apt-get install" \
      "libc6-dev)" >&2
    exit 1
  fi
  mv -f "$output.tmp" "$output"
  exit 0
fi
if ! "$compiler" -std=c11 -O2 -Wall -Wextra -Werror -static -s -o "$output.tmp" "$source" $extra; then
  echo "herd: $compiler could not build $name statically from $source (to fix:" \
    "apt-get install libc6-dev for the static C library libc.a)" >&2
  exit 1
fi
mv -f "$output.tmp" "$output"
