# frozen_string_literal: true

# Prints where `meson install` puts the Ruby layer and the extension for
# PREFIX (ARGV[0]), two lines: directories this Ruby loads from. Its
# vendordir / vendorarchdir when PREFIX is Ruby's own prefix (/usr: the
# Debian package); its sitedir / sitearchdir when both lie under PREFIX
# (/usr/local on Debian's Ruby); else the vendor directories moved under
# PREFIX (a private prefix, to be added to RUBYLIB).
require "rbconfig"

c = RbConfig::CONFIG
prefix = ARGV.fetch(0).chomp("/")
vendor = [c["vendordir"], c["vendorarchdir"]]
site = [c["sitedir"], c["sitearchdir"]]
dirs = if prefix == c["prefix"]
         vendor
       elsif site.all? { |d| d.start_with?("#{prefix}/") }
         site
       else
         vendor.map { |d| File.join(prefix, d.delete_prefix("#{c['prefix']}/")) }
       end
puts dirs
