#!/usr/bin/env bash
# Check that libmultiproc keeps the binary interface of its soname: the ABI of
# a fresh build is compared (abidiff from abigail-tools) with the baseline
# abi/libmultiproc.so.<soversion>.abi recorded when that soname was published.
# Added functions are fine; any other change fails (a removed or changed
# function, a changed type or enum) unless the soname in meson.build changed
# in the same change — then there is no baseline for the new soname yet, and
# the script says how to record one.
#
# It also checks that debian/libmultiproc<soversion>.symbols lists exactly
# the exported symbols (the package build enforces the same, later).
#
# Usage: scripts/check-abi.sh [--update] [build-dir]   (default build-abi)
#   --update  record the baseline of the current soname from this build
#             (after a soname bump, or to add new functions to the record),
#             and add new exports to the symbols file with the project
#             version (the first release that has them).
# abidiff's exit status is a bit set: 1 error, 2 usage error, 4 ABI change,
# 8 incompatible ABI change; any bit fails the check.
set -euo pipefail
cd "$(dirname "$0")/.."
export LC_ALL=C # one sort order for comm, diff and the symbols file
update=0
if [[ ${1:-} == --update ]]; then update=1; shift; fi
build=${1:-build-abi}

soversion=$(sed -n "s/^soversion = '\([0-9]*\)'.*/\1/p" meson.build)
[[ -n $soversion ]] || { echo "check-abi: no soversion in meson.build" >&2; exit 1; }
baseline=abi/libmultiproc.so.$soversion.abi

# The ABI is read from DWARF, so the build needs -g (debugoptimized has it).
if [[ ! -f $build/build.ninja ]]; then
  meson setup "$build" -Dbuildtype=debugoptimized -Dtests=disabled -Dbench=disabled
fi
ninja -C "$build" -j2 >/dev/null
lib=$build/src/libmultiproc.so.$soversion
[[ -e $lib ]] || { echo "check-abi: no $lib (not built?)" >&2; exit 1; }

# Only types reachable from the public headers count; no build paths in the
# record, so it only changes when the ABI does.
current=$(mktemp /tmp/multiproc-abi.XXXXXX)
trap 'rm -f "$current" "$current".*' EXIT
abidw --headers-dir "$PWD/include" --drop-private-types --no-corpus-path \
  --no-comp-dir-path --no-show-locs --out-file "$current" "$lib"

# The Debian symbols file: "<symbol>@<node> <first version>" per export.
symbols=debian/libmultiproc$soversion.symbols
version=$(sed -n "s/^  version: '\([^']*\)'.*/\1/p" meson.build)
exports() {
  nm -D --defined-only --with-symbol-versions "$lib" |
    awk '{ if ($3 !~ /@/) $3 = $3 "@" $3; sub(/@@/, "@", $3); print $3 }' | sort
}
listed() { awk '/^ [^ ]/ { print $1 }' "$symbols" 2>/dev/null | sort; }

if ((update)); then
  cp "$current" "$baseline"
  chmod 644 "$baseline"
  echo "check-abi: recorded $baseline from $lib"
  new=$(comm -23 <(exports) <(listed))
  if [[ ! -f $symbols ]]; then
    printf '%s\n' "libmultiproc.so.$soversion libmultiproc$soversion #MINVER#" \
      "* Build-Depends-Package: libmultiproc-dev" >"$symbols"
  fi
  if [[ -n $new ]]; then
    { sed -n '1,/^\*/p' "$symbols"
      { sed '1,/^\*/d' "$symbols"; sed "s/^/ /; s/\$/ $version/" <<<"$new"; } | sort
    } >"$symbols.new" && mv "$symbols.new" "$symbols"
    echo "check-abi: added $(wc -l <<<"$new") symbol(s) to $symbols (version $version)"
  fi
  exit 0
fi
if [[ ! -f $baseline ]]; then
  echo "check-abi: no baseline for soname libmultiproc.so.$soversion: the soname" \
       "changed, so the ABI may change. Record the new baseline with" \
       "'scripts/check-abi.sh --update' and commit it (remove the old one)."
  exit 0
fi

if [[ -f $symbols ]] && ! diff <(exports) <(listed) >/dev/null; then
  echo "check-abi: $symbols does not match the exports of $lib" \
       "(> listed only, < exported only):" >&2
  diff <(exports) <(listed) | grep '^[<>]' >&2
  echo "check-abi: add new functions with 'scripts/check-abi.sh --update'" >&2
  exit 1
fi

# abidiff's status for baseline -> record; only added functions pass.
abi_status() {
  local rc=0
  abidiff --no-added-syms "$1" "$2" >"$current.diff" 2>&1 || rc=$?
  echo "$rc"
}

# First prove the check bites: the same record with one published signature
# changed (mp_queue_qsize gets a second parameter) and with one function
# removed must both fail.
broken=$current.broken
awk '/<function-decl name=.mp_queue_qsize./ { f = 1 }
     f && /<parameter/ { print; f = 0 } { print }' "$current" >"$broken"
[[ $(abi_status "$current" "$broken") -ne 0 ]] ||
  { echo "check-abi: self-test failed: a changed signature went unnoticed" >&2; exit 1; }
grep -v "elf-symbol name='mp_queue_qsize'" "$current" >"$broken"
[[ $(abi_status "$current" "$broken") -ne 0 ]] ||
  { echo "check-abi: self-test failed: a removed function went unnoticed" >&2; exit 1; }

status=$(abi_status "$baseline" "$current")
cat "$current.diff"
if ((status == 0)); then
  echo "check-abi: ok ($lib keeps the ABI of $baseline)"
  exit 0
fi
if ((status & 3)); then
  echo "check-abi: abidiff failed (status $status)" >&2
elif ((status & 8)); then
  echo "check-abi: INCOMPATIBLE ABI change against $baseline (status $status)." >&2
else
  echo "check-abi: ABI change against $baseline (status $status)." >&2
fi
echo "check-abi: never change a published signature or type (docs/abi.md); add a" \
     "new function instead, or bump soversion in meson.build for a deliberate break." >&2
exit 1
