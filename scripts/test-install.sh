#!/usr/bin/env bash
# Install multiproc into a temporary prefix and build and run the consumer
# programs (tests/consumer) against that copy only: C through pkg-config, Go
# from the installed module source, Ruby with the installed binding. Checks
# the installed soname, .pc and man pages on the way.
# Usage: scripts/test-install.sh [build-dir [meson options...]]
#   default build-dir build-install; options go last, so e.g. -Druby=disabled
#   overrides what the script picks.
set -euo pipefail
cd "$(dirname "$0")/.."
build=${1:-build-install}
shift || true
prefix=$(mktemp -d /tmp/multiproc-prefix.XXXXXX)
trap 'rm -rf "$prefix"' EXIT

# Build what is there: docs when Doxygen is installed, each binding once its
# directory exists.
opts=(-Dtests=disabled -Dbench=disabled)
command -v doxygen >/dev/null && opts+=(-Ddocs=enabled)
for lang in go ruby; do
  [[ -f bindings/$lang/meson.build ]] && opts+=("-D$lang=enabled")
done
opts+=("$@")
if [[ -f $build/build.ninja ]]; then
  meson configure "$build" --prefix "$prefix" --libdir lib "${opts[@]}"
else
  meson setup "$build" --prefix "$prefix" --libdir lib "${opts[@]}"
fi
ninja -C "$build" -j2
meson install -C "$build" --quiet

fail() { echo "test-install: $*" >&2; exit 1; }
lib=$prefix/lib
[[ -f $lib/libmultiproc.so.0.4.0 ]] || fail "missing $lib/libmultiproc.so.0.4.0"
soname=$(objdump -p "$lib/libmultiproc.so.0.4.0" | awk '$1 == "SONAME" {print $2}')
[[ $soname == libmultiproc.so.0 ]] || fail "soname is '$soname', want libmultiproc.so.0"
[[ -L $lib/libmultiproc.so.0 && -L $lib/libmultiproc.so ]] || fail "missing .so links"
[[ -f $prefix/include/multiproc.h && -f $prefix/include/multiproc/core.h ]] ||
  fail "headers missing"
[[ -f $lib/pkgconfig/multiproc.pc ]] || fail "multiproc.pc missing"
# The value an option ends up with (the last -Dname= wins, as in meson).
option() {
  local v=disabled o
  for o in "${opts[@]}"; do [[ $o == -D$1=* ]] && v=${o#-D$1=}; done
  echo "$v"
}
if [[ $(option docs) == enabled ]]; then
  [[ -f $prefix/share/man/man3/mp_queue_get.3 ]] || fail "man3 pages missing"
  [[ -f $prefix/share/doc/multiproc/html/index.html ]] || fail "HTML docs missing"
fi

# An enabled binding must have been installed (run.sh skips missing ones).
if [[ $(option go) == enabled ]]; then
  [[ -f $prefix/share/gocode/src/multiproc.dev/multiproc/go.mod ]] ||
    fail "Go binding not installed under $prefix/share/gocode"
fi
if [[ $(option ruby) == enabled ]]; then
  [[ -n $(find "$prefix" -path '*ruby*' -name multiproc.rb) ]] ||
    fail "Ruby binding not installed under $prefix"
fi

export PKG_CONFIG_PATH=$lib/pkgconfig
export LD_LIBRARY_PATH=$lib
gem_opt=()
if [[ $(option ruby) == enabled ]]; then
  ninja -C "$build" multiproc-gem >/dev/null
  gem_opt=(--gem "$(ls "$build"/bindings/ruby/multiproc-*.gem)")
fi
tests/consumer/run.sh --gocode "$prefix/share/gocode" --ruby-root "$prefix" "${gem_opt[@]}"
echo "test-install: ok"
