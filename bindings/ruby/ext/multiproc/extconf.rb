# frozen_string_literal: true

# Makefile of the gem's extension Multiproc::Native (multiproc/native.so):
# the SWIG wrapper shipped in the gem plus the hand-written C++ of this
# directory, compiled and linked with what pkg-config says about the
# installed C library (libmultiproc-dev, or PKG_CONFIG_PATH pointing at a
# prefix's lib/pkgconfig or a build's meson-uninstalled). The meson build
# does the same with its own rules (meson.build here); this file is for
# `gem install` only.
require "mkmf"

unless pkg_config("multiproc")
  abort <<~MSG
    multiproc: pkg-config finds no "multiproc" (the C library's multiproc.pc).
    Install libmultiproc-dev, or point PKG_CONFIG_PATH at <prefix>/lib/pkgconfig.
  MSG
end
unless File.exist?(File.join(__dir__, "multiproc_wrap.cxx"))
  abort "multiproc: ext/multiproc/multiproc_wrap.cxx (SWIG's output) is missing: " \
        "build the gem with `ninja -C <build> multiproc-gem` (see bindings/ruby/README.md)"
end

# A library outside the loader's default path (a prefix of one's own, a
# build directory) is found at run time through an rpath, as the meson
# build's own extension finds it.
system_dirs = %w[/lib /usr/lib /lib64 /usr/lib64]
pkg_config("multiproc", "libs-only-L").to_s.split.each do |flag|
  dir = flag.delete_prefix("-L")
  next if system_dirs.include?(dir) || dir.match?(%r{\A/usr/lib/[^/]+-linux-gnu\z})

  $LDFLAGS << " -Wl,-rpath,#{dir}"
end

$CXXFLAGS << " -std=c++17"
create_makefile("multiproc/native")
