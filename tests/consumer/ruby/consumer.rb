# frozen_string_literal: true

# The Ruby consumer: run by tests/consumer/run.sh with the *installed* Ruby
# binding on the load path (ruby -I <vendor dirs>, or the system's own for
# the Debian package). Like the C consumer it checks real behaviour: a
# command fed on stdin, and a spawned child answering over a queue.
require "multiproc"

CHILD_EXIT = 7

Multiproc.register(:greeter) do |q, who|
  q.put("hello #{who}", timeout: 30)
  exit(CHILD_EXIT)
end
Multiproc.main # in the child: runs greeter and exits

def check(what, want, got)
  return if want == got

  warn "consumer-ruby: #{what}: want #{want.inspect}, got #{got.inspect}"
  exit 1
end

r = Multiproc.run(["/bin/sh", "-c", 'read x; echo "got $x"; exit 3'], input: "42\n", timeout: 30)
check("run output", "got 42\n", r.stdout)
check("run exit code", 3, r.exitcode)

q = Multiproc::Queue.new
child = Multiproc::Process.new(target: :greeter, args: [q, "ruby"]).start
check("queue message", "hello ruby", q.get(timeout: 30))
child.join(30)
check("child exit code", CHILD_EXIT, child.exitcode)

puts "consumer-ruby: ok (multiproc #{Multiproc.version})"
