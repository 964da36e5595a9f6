#!/bin/sh
# Compiles herd-vm-init (herd-vm-init.c beside this file), the guest's PID 1, into OUTPUT,
# statically linked: the guest's root file system is whatever the image holds, maybe no libc at
# all. Called by herd-vm's Maven build (generate-resources); usable by hand:
#   sh herd-vm/src/main/c/build.sh /tmp/herd-vm-init
set -eu
output="$1"
source="$(dirname "$0")/herd-vm-init.c"
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
  echo "herd-vm: no C compiler found (cc or gcc) to build the guest init herd-vm-init" \
    "from $source (to fix: apt-get install gcc libc6-dev, or set CC)" >&2
  exit 1
fi
mkdir -p "$(dirname "$output")"
if ! "$compiler" -std=c11 -O2 -Wall -Wextra -Werror -static -s -o "$output.tmp" "$source"; then
  echo "herd-vm: $compiler could not build herd-vm-init statically from $source (to fix:" \
    "apt-get install libc6-dev for the static C library libc.a)" >&2
  exit 1
fi
mv -f "$output.tmp" "$output"
