#!/usr/bin/env bash
# Build and run the Go consumer (tests/consumer/go) in *module mode*, as a Go
# user outside this repository would: a temporary directory with its own
# go.mod requiring multiproc.dev/multiproc and a `replace` to a copy of the
# module on disk (a checkout's bindings/go, or the installed
# <prefix>/share/gocode/src/multiproc.dev/multiproc), GOFLAGS=-mod=mod,
# GOPROXY=off (no network: the module has no dependencies). The C library is
# found by the package's `#cgo pkg-config: multiproc`, so the caller points
# PKG_CONFIG_PATH (and LD_LIBRARY_PATH for a library off the loader's path)
# at the copy under test.
# Usage: tests/consumer/go-module.sh MODULE-DIR [--gocache DIR]
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
moddir=$(cd "${1:?usage: $0 MODULE-DIR [--gocache DIR]}" && pwd)
gocache=
[[ ${2:-} == --gocache ]] && gocache=$3

work=$(mktemp -d /tmp/multiproc-gomod.XXXXXX)
# The module cache holds read-only files; make them removable first.
trap 'chmod -R u+w "$work" 2>/dev/null; rm -rf "$work"' EXIT
mkdir "$work/app"
cp "$here/go/main.go" "$work/app/"
cat >"$work/app/go.mod" <<EOF
module example.com/consumer

go 1.19

require multiproc.dev/multiproc v0.4.0

replace multiproc.dev/multiproc => $moddir
EOF

# Only the variables a user would have: no GOPATH layout, no vendor dir.
(cd "$work/app" &&
  env GO111MODULE=on GOFLAGS=-mod=mod GOPROXY=off GOTOOLCHAIN=local \
    CGO_ENABLED=1 HOME="$work/home" GOPATH="$work/gopath" \
    GOCACHE="${gocache:-$work/gocache}" \
    go build -o "$work/consumer-go" .)
"$work/consumer-go"
echo "Go consumer (module mode, replace => $moddir): ok"
