#!/bin/sh
# Compiles herd-launch (herd-launch.c beside this file) into OUTPUT, statically linked so that it
# runs on any Linux of the same architecture. Called by herd-core's Maven build
# (generate-resources); usable by hand: sh herd-core/src/main/c/build.sh /tmp/herd-launch
set -eu
output="$1"
source="$(dirname "$0")/herd-launch.c"
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
  echo "herd-core: no C compiler found (cc or gcc) to build the worker launcher herd-launch" \
    "from $source (to fix: apt-get install gcc libc6-dev, or set CC)" >&2
  exit 1
fi
mkdir -p "$(dirname "$output")"
if ! "$compiler" -std=c11 -O2 -Wall -Wextra -Werror -static -s -o "$output.tmp" "$source"; then
  echo "herd-core: $compiler could not build herd-launch statically from $source (to fix:" \
    "apt-get install libc6-dev for the static C library libc.a)" >&2
  exit 1
fi
mv -f "$output.tmp" "$output"
