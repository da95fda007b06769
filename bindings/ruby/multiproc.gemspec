# frozen_string_literal: true

# The multiproc gem: lib/ (the Ruby layer) and ext/multiproc (the extension,
# built by extconf.rb against the installed C library found by pkg-config).
# The extension's SWIG wrapper (ext/multiproc/multiproc_wrap.cxx) is generated,
# not kept in the source tree: build the gem from a meson build directory,
# `ninja -C build bindings/ruby/multiproc-<version>.gem`, which stages this
# directory with the wrapper and runs `gem build` (see README.md, "Install").
require_relative "lib/multiproc/version"

Gem::Specification.new do |s|
  s.name = "multiproc"
  s.version = Multiproc::VERSION
  s.summary = "Processes, pipes, queues, locks and pools shared with C and Go programs"
  s.description = <<~TEXT
    Python's multiprocessing and subprocess model for Ruby, on the multiproc
    C library (libmultiproc, found with pkg-config): processes, commands,
    pipes, queues, locks, shared memory, a shared dict and process pools,
    whose objects C and Go programs share.
  TEXT
  s.authors = ["multiproc developers"]
  s.email = "maintainers@multiproc.dev"
  s.homepage = "https://multiproc.dev"
  s.license = "MIT"
  s.required_ruby_version = ">= 3.1"
  s.requirements = ["libmultiproc-dev (the C library with its pkg-config file multiproc.pc)"]
  s.files = Dir.chdir(__dir__) do
    Dir["README.md", "lib/**/*.rb", "ext/multiproc/*.{cxx,hpp,h,rb}"].sort
  end
  s.extensions = ["ext/multiproc/extconf.rb"]
  s.require_paths = ["lib"]
end
