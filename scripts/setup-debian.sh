#!/usr/bin/env bash
# Install what building and testing multiproc needs on Debian 12 (bookworm).
# Runs apt-get only for packages that are missing; uses sudo when not root.
set -euo pipefail

packages=(
  build-essential pkg-config meson ninja-build
  libuv1-dev libcmocka-dev libboost-dev
  # libcrypto: the HMACs of the Listener/Client authkey handshake
  libssl-dev
  python3
  # the Go and Ruby bindings
  swig golang-go ruby-dev ruby-minitest ruby-parallel
  # Multiproc.map progress: (its test)
  ruby-progressbar
  # queues on a redis server (meson feature redis, on when hiredis is
  # found; its libuv adapter) and the server the suite redis starts
  libhiredis-dev redis-server
  # the peers of the benchmark row remote_pool_apply_async (tests/bench/run):
  # Ruby's Sidekiq and Python's RQ, both on the same redis-server
  ruby-sidekiq python3-rq
)
# --ci: also the tools of the CI-only runs (sanitizers, fuzzing, valgrind,
# ABI check, documentation, Debian packages), and gdb, with which the soak
# prints the stacks of a child that will not end.
if [[ ${1:-} == --ci ]]; then
  packages+=(clang libclang-rt-14-dev valgrind abigail-tools doxygen
             debhelper dpkg-dev lintian fakeroot gdb)
fi

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]} == 0)); then
  exit 0
fi

sudo=()
if [[ $(id -u) -ne 0 ]]; then sudo=(sudo); fi
export DEBIAN_FRONTEND=noninteractive
"${sudo[@]}" apt-get update -q
"${sudo[@]}" apt-get install -y -q --no-install-recommends "${missing[@]}"
