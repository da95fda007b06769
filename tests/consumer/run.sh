#!/usr/bin/env bash
# Build and run the consumer programs against an installed multiproc, the way
# a user would: the C program with pkg-config only, the Go program from the
# installed module source, the Ruby script with the installed binding.
#
# Usage: tests/consumer/run.sh [--gocode DIR] [--ruby-root DIR] [--gem FILE]
#   --gocode DIR     a GOPATH root holding src/multiproc.dev/multiproc
#                    (e.g. <prefix>/share/gocode); the Go consumer is skipped
#                    with a note when the module is not there.
#   --ruby-root DIR  where to look for the installed Ruby binding
#                    (<prefix>, or /usr for the packages); its directories
#                    are given to ruby -I. Skipped with a note when the
#                    binding is not there.
#   --gem FILE       also install this multiproc gem into a temporary
#                    GEM_HOME and use it (ruby-gem.sh)
# The caller points PKG_CONFIG_PATH (and LD_LIBRARY_PATH for a prefix that is
# not on the loader's path) at the installed copy. Builds in a temp dir.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
gocode=
ruby_root=
gem=
while (($#)); do
  case $1 in
    --gocode) gocode=$2; shift 2 ;;
    --ruby-root) ruby_root=$2; shift 2 ;;
    --gem) gem=$2; shift 2 ;;
    *) echo "usage: $0 [--gocode DIR] [--ruby-root DIR] [--gem FILE]" >&2; exit 2 ;;
  esac
done

work=$(mktemp -d /tmp/multiproc-consumer.XXXXXX)
trap 'rm -rf "$work"' EXIT

# C: nothing but what pkg-config says.
cc=${CC:-cc}
# shellcheck disable=SC2046  # pkg-config output is a list of flags
"$cc" -std=c11 -Wall -Wextra -Werror -o "$work/consumer" "$here/consumer.c" \
  $(pkg-config --cflags --libs multiproc)
echo "C consumer: built with $(pkg-config --modversion multiproc): $(pkg-config --cflags --libs multiproc)"
"$work/consumer"

# Go: GOPATH mode against the installed source, no network.
gomod=${gocode:+$gocode/src/multiproc.dev/multiproc}
if [[ -n $gomod && -d $gomod ]] && command -v go >/dev/null; then
  cp -r "$here/go" "$work/go"
  (cd "$work/go" &&
    GO111MODULE=off GOPATH="$gocode" GOPROXY=off GOFLAGS= \
      GOCACHE="$work/gocache" go build -o "$work/consumer-go" .)
  "$work/consumer-go"
  # Module mode: a go.mod of its own, `replace` to the installed module.
  "$here/go-module.sh" "$gomod" --gocache "$work/gocache"
else
  echo "Go consumer: skipped (no Go binding installed${gocode:+ under $gocode})"
fi

# Ruby: the installed binding's directories on the load path.
# A dir holding multiproc.rb, or the dir above multiproc/<ext>.so, is a root.
ruby_inc=()
if [[ -n $ruby_root ]]; then
  while IFS= read -r dir; do
    ruby_inc+=(-I "$dir")
  done < <(find "$ruby_root" -path '*ruby*' \
             \( -name multiproc.rb -printf '%h\n' \
                -o -path '*/multiproc/*.so' -printf '%h/..\n' \) 2>/dev/null |
           sort -u)
fi
if ((${#ruby_inc[@]})); then
  ruby "${ruby_inc[@]}" "$here/ruby/consumer.rb"
else
  echo "Ruby consumer: skipped (no Ruby binding installed${ruby_root:+ under $ruby_root})"
fi
if [[ -n $gem ]]; then
  "$here/ruby-gem.sh" "$gem"
fi
