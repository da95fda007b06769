#!/usr/bin/env bash
# Install the multiproc gem into a temporary GEM_HOME, as a Ruby user would
# (`gem install --local`: the extension is compiled by extconf.rb against the
# C library pkg-config finds), then run tests/consumer/ruby/gem_check.rb from
# a directory outside the repository with nothing but GEM_HOME/GEM_PATH set.
# The caller points PKG_CONFIG_PATH at the library under test (a prefix's
# lib/pkgconfig, a build's meson-uninstalled; unset for the system's).
# Usage: tests/consumer/ruby-gem.sh GEMFILE
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
gemfile=$(realpath "${1:?usage: $0 GEMFILE}")
work=$(mktemp -d /tmp/multiproc-gem.XXXXXX)
trap 'rm -rf "$work"' EXIT

export GEM_HOME=$work/gems GEM_PATH=$work/gems HOME=$work/home
# The library is found through the rpath extconf.rb adds (or the system
# path), not through the environment of the test.
unset RUBYLIB RUBYOPT LD_LIBRARY_PATH
mkdir -p "$HOME" "$work/app"
gem install --local --no-document "$gemfile" >"$work/install.log" 2>&1 || {
  cat "$work/install.log" >&2
  find "$GEM_HOME" -name mkmf.log -exec cat {} + >&2 2>/dev/null || true
  echo "ruby-gem: gem install failed (log above)" >&2
  exit 1
}
cp "$here/ruby/gem_check.rb" "$work/app/"
cd "$work/app"
ruby gem_check.rb
