# frozen_string_literal: true

# Run by tests/consumer/ruby-gem.sh from outside the repository, with only
# GEM_HOME/GEM_PATH pointing at where the multiproc gem was installed: the
# gem (not a system copy in vendor_ruby, nor the source tree) must load, and
# a queue must carry a message from a forked child to the parent.
gem "multiproc"
require "multiproc"

gem_dir = Gem.loaded_specs.fetch("multiproc").full_gem_path
loaded = $LOADED_FEATURES.grep(%r{/multiproc(\.rb|/native\.so)\z})
stray = loaded.reject { |f| f.start_with?(gem_dir) || f.start_with?(File.join(Gem.dir, "extensions")) }
unless loaded.size == 2 && stray.empty?
  warn "gem_check: multiproc loaded from #{loaded.inspect}, want #{gem_dir} only"
  exit 1
end

q = Multiproc::Queue.new
child = Multiproc::Process.new { q.put("hello from #{Process.pid}") }.start
msg = q.get(timeout: 30)
child.join(30)
unless msg == "hello from #{child.pid}" && child.exitcode == 0
  warn "gem_check: got #{msg.inspect}, child #{child.pid} exit #{child.exitcode.inspect}"
  exit 1
end
puts "gem_check: ok (multiproc #{Multiproc::VERSION} from #{gem_dir})"
