#!/usr/bin/env bash
# Set up a fresh Debian 12 machine, build multiproc and run the examples
# ported from the Python tutorials (docs/examples/c).
set -euo pipefail
cd "$(dirname "$0")/.."
build=${1:-build}

scripts/setup-debian.sh
if [[ ! -f $build/build.ninja ]]; then
  meson setup "$build" -Dtests=enabled
fi
ninja -C "$build"
for ex in "$build"/docs/examples/c/example_*; do
  [[ -x $ex && ! -d $ex ]] || continue
  echo "=== $(basename "$ex")"
  (cd "$build" && "$OLDPWD/$ex")
done
