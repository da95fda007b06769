# frozen_string_literal: true

# Builds the multiproc gem: stages the files multiproc.gemspec lists together
# with the build's SWIG wrapper (ext/multiproc/multiproc_wrap.cxx, generated,
# so absent from the source tree) in a temporary directory, runs `gem build`
# there and moves the .gem to OUT. Run by the meson target multiproc-gem.
# Usage: ruby build_gem.rb SRCDIR WRAPPER OUT.gem
require "fileutils"
require "tmpdir"

abort "usage: #{$PROGRAM_NAME} SRCDIR WRAPPER OUT.gem" unless ARGV.size == 3
src, wrapper, out = ARGV.map { |a| File.expand_path(a) }

spec = Gem::Specification.load(File.join(src, "multiproc.gemspec"))
Dir.mktmpdir("multiproc-gem") do |stage|
  (spec.files + ["multiproc.gemspec"]).each do |f|
    FileUtils.mkdir_p(File.dirname(File.join(stage, f)))
    FileUtils.cp(File.join(src, f), File.join(stage, f))
  end
  FileUtils.cp(wrapper, File.join(stage, "ext/multiproc/multiproc_wrap.cxx"))
  Dir.chdir(stage) do
    system("gem", "build", "--silent", "multiproc.gemspec", exception: true)
    FileUtils.mv("multiproc-#{spec.version}.gem", out)
  end
end
