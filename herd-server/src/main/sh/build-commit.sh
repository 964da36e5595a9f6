#!/bin/sh
# Writes the git commit the jar is built from into a properties file (BuildInfo reads it for
# `herd --version`, GET /version and herd_build_info). Never fails the build: in a tarball without
# .git, or without git installed, the commit is "unknown". Needs no network.
#   usage: build-commit.sh <checkout root> <output file>
root=$1
out=$2
commit=unknown
if [ -e "$root/.git" ] && command -v git >/dev/null 2>&1; then
  c=$(git -C "$root" rev-parse --short=12 HEAD 2>/dev/null) && [ -n "$c" ] && commit=$c
  if [ "$commit" != unknown ] && ! git -C "$root" diff --quiet HEAD -- 2>/dev/null; then
    commit="$commit-dirty"
  fi
fi
mkdir -p "$(dirname "$out")"
printf 'commit=%s\n' "$commit" > "$out"
