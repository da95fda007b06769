# frozen_string_literal: true

# Port of docs/examples/c/example_start_join.c (简单多进程程序 / 多进程
# multiprocessing): Process(target=run_proc, args=(name,)), start(), join(),
# current_process().name, exitcode. Children run registered targets
# started by re-executing this script (spawn).
require "multiproc"

Multiproc.register(:run_proc) do |name|
  puts "Run child process #{name} (#{Multiproc.current_name})..."
  puts "process #{name} is done"
end
Multiproc.main

puts "Parent process #{Multiproc.current_name}."
puts "Process will start."
names = %w[alpha beta gamma]
record = names.map { |n| Multiproc::Process.new(target: :run_proc, args: [n]).start }
record.each(&:join) # all first: a child still running may yet print its lines
record.zip(names).each do |p, n|
  puts "#{p.name} (#{n}) exited with #{p.exitcode}"
end
puts "Process end."
