# frozen_string_literal: true

# Port of docs/examples/c/example_spawn.c (简单多进程程序 with the note on
# `if __name__ == '__main__'`): a child started with target: is a fresh
# run of this script. It runs everything above Multiproc.main again, and
# Multiproc.main runs the target there and exits; the code below
# Multiproc.main is the body of Python's `if __name__ == '__main__'` and
# runs only in the parent. So what the parent sets up there does not reach
# the child (only the args do); a forked child (a block) would see it.
require "multiproc"
$stdout.sync = true

parent_state = 0 # the parent sets 42 below; a spawned child still sees 0

Multiproc.register(:run_proc) do |name|
  puts "Run child process #{name} (#{Multiproc.current_name}): " \
       "is_child=#{Multiproc.child? ? 1 : 0} g_parent_state=#{parent_state} " \
       "parent_pid_ok=#{Multiproc.parent_pid == Process.ppid ? 1 : 0}"
end
Multiproc.main # a spawned child never returns from here
# ---- from here on: only the parent ----

parent_state = 42
puts "Parent process #{Multiproc.current_name}: is_child=#{Multiproc.child? ? 1 : 0} " \
     "g_parent_state=#{parent_state}"
puts "Process will start."
names = %w[alpha beta gamma]
record = names.map { |n| Multiproc::Process.new(target: :run_proc, args: [n]).start }
record.each(&:join) # all first: a child still running may yet print its line
record.zip(names).each do |child, n|
  puts "#{child.name} (#{n}) exited with #{child.exitcode}"
  exit 1 unless child.exitcode.zero?
end
puts "Process end."
