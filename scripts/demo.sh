#!/usr/bin/env bash
# Set up a fresh Debian 12 machine, build multiproc with its Go and Ruby
# bindings, run the examples ported from the Python tutorials
# (docs/examples/c), then one queue shared by programs in C, Go and Ruby.
set -euo pipefail
cd "$(dirname "$0")/.."
build=${1:-build}

scripts/setup-debian.sh
options=(-Dtests=enabled -Dgo=enabled -Druby=enabled)
if [[ ! -f $build/build.ninja ]]; then
  meson setup "$build" "${options[@]}"
else
  meson configure "$build" "${options[@]}"
fi
ninja -C "$build"
for ex in "$build"/docs/examples/c/example_*; do
  [[ -x $ex && ! -d $ex ]] || continue
  echo "=== $(basename "$ex")"
  (cd "$build" && "$OLDPWD/$ex")
done

# Two producers written in one language put 2000 messages each on one
# queue; a consumer written in another takes them; the driver checks each
# arrived once and in order (tests/crosslang/README.md).
export MP_PEER_C=$build/tests/crosslang/mp-crosslang-c
export MP_PEER_GO=$build/bindings/go/multiproc-go-peer
export MP_PEER_RUBY="ruby -I bindings/ruby/lib -I $build/bindings/ruby/ext tests/crosslang/ruby/peer.rb"
echo "=== one queue, three languages"
for pair in "c go" "go ruby" "ruby c"; do
  # shellcheck disable=SC2086 # two words: producer and consumer language
  "$build"/tests/crosslang/crosslang-matrix $pair
done
