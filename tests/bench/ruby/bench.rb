# frozen_string_literal: true

# Ruby binding benchmarks, in the format of tests/bench:
#
#   ruby -I bindings/ruby/lib -I BUILD/bindings/ruby/ext tests/bench/ruby/bench.rb [--quick] [NAME...]
#
# prints `BENCH <name> <impl> <value> <unit>` lines:
#   queue_64B_1to1  ruby           msg/s    a producer process puts N 64-byte
#                                           messages, a consumer process gets
#                                           them (Queue#put / Queue#get, no
#                                           timeout; default queue), as
#                                           bench_ipc.c; timed from a barrier
#                                           the three processes pass to the
#                                           end of both children
#   pool_map_chunk1 ruby           us/task  Multiproc::Pool(2)#map(:echo,
#                                           10000 distinct 16-byte Strings,
#                                           chunksize: 1), as bench_pool.c
#                   ruby_parallel  us/task  Parallel.map(items, in_processes: 2)
#                                           (Debian's ruby-parallel) on the
#                                           same items
# Each value is the median of 5 batches (3 with --quick).
require "multiproc"

Multiproc.task(:echo) { |x| x }
Multiproc.main

QUICK = ARGV.delete("--quick") || ENV["MP_BENCH_QUICK"] == "1"
BATCHES = QUICK ? 3 : 5
NAMES = ARGV.empty? ? %w[queue_64B_1to1 pool_map_chunk1] : ARGV

def now
  Process.clock_gettime(Process::CLOCK_MONOTONIC)
end

def median(values)
  values.sort[values.size / 2]
end

def report(name, impl, value, unit)
  puts format("BENCH %s %s %.6g %s", name, impl, value, unit)
  $stdout.flush
end

def queue_batch(n)
  q = Multiproc::Queue.new
  go = Multiproc::Barrier.new(3)
  msg = ("x" * 64).b
  consumer = Multiproc::Process.new do
    go.wait(60)
    n.times { q.get }
  end
  producer = Multiproc::Process.new do
    go.wait(60)
    n.times { q.put(msg) }
  end
  [consumer, producer].each(&:start)
  go.wait(60)
  t0 = now
  [consumer, producer].each { |p| raise "child failed" unless p.join(120).zero? }
  n / (now - t0)
ensure
  q&.release
end

def bench_queue
  n = QUICK ? 20_000 : 300_000
  report("queue_64B_1to1", "ruby", median(Array.new(BATCHES) { queue_batch(n) }), "msg/s")
end

def bench_pool
  tasks = QUICK ? 1000 : 10_000
  items = Array.new(tasks) { |i| format("arg-%012d", i) } # 16 bytes each
  Multiproc::Pool.new(2) do |pool|
    pool.map(:echo, items.first(100), chunksize: 1) # warm-up
    times = Array.new(BATCHES) do
      t0 = now
      out = pool.map(:echo, items, chunksize: 1)
      raise "pool_map_chunk1: wrong result" unless out.size == tasks && out.last == items.last

      (now - t0) * 1e6 / tasks
    end
    report("pool_map_chunk1", "ruby", median(times), "us/task")
  end
  begin
    require "parallel"
  rescue LoadError
    puts "# pool_map_chunk1: ruby-parallel is not installed, no ruby_parallel figure"
    return
  end
  times = Array.new(BATCHES) do
    t0 = now
    out = Parallel.map(items, in_processes: 2) { |x| x }
    raise "Parallel.map: wrong result" unless out.size == tasks && out.last == items.last

    (now - t0) * 1e6 / tasks
  end
  report("pool_map_chunk1", "ruby_parallel", median(times), "us/task")
end

NAMES.each do |name|
  case name
  when "queue_64B_1to1" then bench_queue
  when "pool_map_chunk1" then bench_pool
  else abort "unknown benchmark #{name}; known: queue_64B_1to1 pool_map_chunk1"
  end
end
