#!/usr/bin/env bash
# Build the Debian packages from a copy of the source tree, check them with
# lintian, install them, build and run the consumer programs against the
# installed system copy (tests/consumer: C; Go in GOPATH and in module mode;
# Ruby from vendor_ruby and as a gem built against libmultiproc-dev), then
# remove the packages again.
# Leaves nothing behind: the build happens in a temp dir, so no .deb, build
# directory or debian/ residue lands in the source tree.
# Usage: scripts/test-packages.sh    (as root, or with sudo available)
# Needs scripts/setup-debian.sh --ci (debhelper, dpkg-dev, lintian, fakeroot,
# doxygen, swig, golang-go, ruby-dev).
set -euo pipefail
cd "$(dirname "$0")/.."
src=$PWD
work=$(mktemp -d /tmp/multiproc-deb.XXXXXX)
packages=(libmultiproc0 libmultiproc-dev libmultiproc-doc ruby-multiproc
          golang-multiproc-multiproc-dev)
sudo=()
if [[ $(id -u) -ne 0 ]]; then sudo=(sudo); fi
installed=0
cleanup() {
  if ((installed)); then
    "${sudo[@]}" apt-get purge -y -q "${packages[@]}" >/dev/null || true
  fi
  rm -rf "$work"
}
trap cleanup EXIT
fail() { echo "test-packages: $*" >&2; exit 1; }
# What a package build could leave in the tree (debian/ residue, .deb files,
# obj-* build dirs); other files may change meanwhile on a shared checkout.
tree_residue() {
  git status --porcelain --ignored -- debian '*.deb' '*.changes' '*.buildinfo' 'obj-*'
}
residue_before=$(tree_residue)

# The source files as they are in the working tree: tracked and untracked
# but not ignored (so no build directories).
mkdir "$work/multiproc"
git ls-files -z --cached --others --exclude-standard | tar --null -T - --ignore-failed-read -cf - |
  tar -xf - -C "$work/multiproc"

(cd "$work/multiproc" && find . -mindepth 1 | sort) >"$work/files.before"

start=$SECONDS
(cd "$work/multiproc" && dpkg-buildpackage -us -uc -b -j2) >"$work/build.log" 2>&1 ||
  { tail -n 60 "$work/build.log" >&2; fail "dpkg-buildpackage failed (log above)"; }
echo "test-packages: built in $((SECONDS - start)) s:"
debs=() # the packages under test; the automatic -dbgsym ones are left out
for p in "${packages[@]}"; do
  deb=$(ls "$work"/"${p}"_*.deb 2>/dev/null | head -n1)
  [[ -n $deb ]] || fail "package $p was not built"
  debs+=("$deb")
  echo "  $(basename "$deb")"
done
# The gem, from the package build's own tree (its SWIG wrapper is there);
# not part of any package, installed below into a temporary GEM_HOME.
gem=$work/multiproc.gem
(cd "$work/multiproc" && ninja -C obj-* multiproc-gem && cp obj-*/bindings/ruby/multiproc-*.gem "$gem") \
  >>"$work/build.log" 2>&1 || { tail -n 30 "$work/build.log" >&2; fail "building the gem failed"; }
# The source copy must be exactly as before the build after `debian/rules clean`.
(cd "$work/multiproc" && fakeroot debian/rules clean) >>"$work/build.log" 2>&1
leftover=$(cd "$work/multiproc" && find . -mindepth 1 | sort | comm -13 "$work/files.before" -)
[[ -z $leftover ]] || fail "debian/rules clean left behind: $leftover"

# lintian: errors fail, warnings are printed.
lintian_out=$(lintian --allow-root --fail-on error "$work"/*.changes) ||
  { echo "$lintian_out" >&2; fail "lintian found errors"; }
[[ -z $lintian_out ]] || echo "$lintian_out"

# Install, then use the system copy exactly as a user would.
export DEBIAN_FRONTEND=noninteractive
installed=1
# Dependencies come from the archive; refresh stale package lists once.
apt_install() {
  "${sudo[@]}" apt-get install -y -q --no-install-recommends "${debs[@]}" >>"$work/install.log" 2>&1
}
apt_install || { "${sudo[@]}" apt-get update -q >>"$work/install.log" 2>&1 && apt_install; } ||
  { cat "$work/install.log" >&2; fail "installing the packages failed"; }
[[ $(objdump -p /usr/lib/*/libmultiproc.so.0 | awk '$1 == "SONAME" {print $2}') == libmultiproc.so.0 ]] ||
  fail "installed library has the wrong soname"
# (Checked in the .deb: minimal images may exclude /usr/share/man.)
dpkg-deb -c "$work"/libmultiproc-dev_*.deb | grep '/usr/share/man/man3/mp_queue_get\.3' >/dev/null ||
  fail "libmultiproc-dev has no man page mp_queue_get(3)"
[[ -f /usr/share/gocode/src/multiproc.dev/multiproc/go.mod ]] ||
  fail "Go binding not installed in /usr/share/gocode"
ruby -e 'require "multiproc"' || fail "Ruby binding not loadable from the system path"
env -u PKG_CONFIG_PATH -u LD_LIBRARY_PATH \
  tests/consumer/run.sh --gocode /usr/share/gocode --ruby-root /usr/lib --gem "$gem"

[[ $(tree_residue) == "$residue_before" ]] || fail "the package build left files in the source tree"
echo "test-packages: ok ($((SECONDS - start)) s)"
