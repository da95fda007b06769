# frozen_string_literal: true

# Port of docs/examples/c/example_daemon.c (主进程和子进程的关系; 守护进程):
# a daemon child that is joined runs to its end; at the parent's exit a
# daemon child is terminated and a non-daemon child is joined.
#
#   p = Process(target=worker, args=(0.3,)); p.daemon = True
#   p.start(); p.join(); print("end!")
#   d = Process(target=worker, args=(5,)); d.daemon = True
#   w = Process(target=worker, args=(0.5,))
#   d.start(); w.start(); print("end of the main process!")
#
# The children print their names instead of time.ctime(). Left alone, the
# daemon might be terminated before it prints "work start", so it sets an
# Event after that line and the parent waits for it.
require "multiproc"
Multiproc.main
$stdout.sync = true # a daemon ended by SIGTERM must have nothing left in a buffer

def worker(interval, started = nil)
  puts "#{Multiproc.current_name}: work start"
  started&.set
  sleep interval
  puts "#{Multiproc.current_name}: work end"
end

# Part 1: a daemon that is joined runs to its end.
joined = Multiproc::Process.new(name: "joined-daemon", daemon: true) { worker(0.3) }
joined.start.join
abort "#{joined.name} exited with #{joined.exitcode}" unless joined.exitcode.zero?
puts "end!"

# Part 2: nobody joins. At exit the daemon is terminated (its "work end"
# never comes) and the worker is joined.
started = Multiproc::Event.new
Multiproc::Process.new(name: "daemon", daemon: true) { worker(5, started) }.start
Multiproc::Process.new(name: "worker") { worker(0.5) }.start
abort "the daemon did not report that it started" unless started.wait(10)
puts "end of the main process!"
