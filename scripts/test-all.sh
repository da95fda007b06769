#!/usr/bin/env bash
# Set up a fresh Debian 12 machine and run every test: the C suites (unit,
# process, examples), then the bindings when they are present.
# Usage: scripts/test-all.sh [build-dir]
set -euo pipefail
cd "$(dirname "$0")/.."
build=${1:-build}

scripts/setup-debian.sh
if [[ ! -f $build/build.ninja ]]; then
  meson setup "$build" -Dtests=enabled
fi
ninja -C "$build"
meson test -C "$build" --print-errorlogs --num-processes 2
