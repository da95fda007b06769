#!/usr/bin/env bash
# The bounded fuzz run (meson suite 'fuzz'): every libFuzzer harness of
# tests/fuzz for a few seconds over its corpus, in a clang build of its own.
# Long runs: tests/fuzz/run.sh (see tests/fuzz/README.md).
# Usage: scripts/test-fuzz.sh [build-dir]   (default build-fuzz)
# Needs scripts/setup-debian.sh --ci (clang, libclang-rt-14-dev).
set -euo pipefail
cd "$(dirname "$0")/.."
build=${1:-build-fuzz}
if [[ ! -f $build/build.ninja ]]; then
  CC=clang CXX=clang++ meson setup "$build" -Dfuzz=enabled -Dtests=disabled \
    -Dbench=disabled -Db_lundef=false
fi
ninja -C "$build" -j2
meson test -C "$build" --suite fuzz --print-errorlogs --num-processes 1
