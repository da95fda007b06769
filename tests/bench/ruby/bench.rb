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
#                   ruby_many      msg/s    the same with Queue#put_many of
#                                           256 and Queue#get_many (an Array
#                                           of Strings per call)
#                   ruby_many_into msg/s    the same with Queue#put_many of
#                                           256 and Queue#get_many_into one
#                                           buffer (no String per message:
#                                           as C's and Go's consumers, which
#                                           get into their own buffer)
#                   ruby_marshal   msg/s    the same as ruby with objects:
#                                           Queue#put_object / #get_object
#                                           of a Hash of five entries
#                                           (OBJECT, 64 bytes of Marshal),
#                                           codec :marshal; its ratio to
#                                           ruby is the typed path's cost
#   pool_map_chunk1 ruby           us/task  Multiproc::Pool(2)#map(:echo,
#                                           10000 distinct 16-byte Strings,
#                                           chunksize: 1), as bench_pool.c
#                   ruby_parallel  us/task  Parallel.map(items, in_processes: 2)
#                                           (Debian's ruby-parallel) on the
#                                           same items
#                   ruby_block     us/task  Multiproc.map(items, in_processes: 2)
#                                           { |x| x } (a block in forked
#                                           workers) on the same items; its
#                                           batches alternate with
#                                           ruby_parallel's, so that both
#                                           see the same machine load
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

# ruby_marshal's message: Marshal.dump(OBJECT) is 64 bytes, the size of
# the raw message.
OBJECT = { id: 12_345, name: "item-0000012345", x: 1.5, y: -2.25, ok: true }.freeze

# The consumer's and the producer's loops of each queue impl.
QUEUE_MODES = {
  "ruby" => [->(q, n) { n.times { q.get } },
             ->(q, n, msg) { n.times { q.put(msg) } }],
  "ruby_marshal" => [lambda do |q, n|
                       last = nil
                       n.times { last = q.get_object }
                       raise "ruby_marshal: wrong object #{last.inspect}" unless last == OBJECT
                     end,
                     ->(q, n, _msg) { n.times { q.put_object(OBJECT) } }],
  "ruby_many" => [->(q, n) { got = 0; got += q.get_many(256).size while got < n },
                  ->(q, n, msg) { put_in_batches(q, n, msg) }],
  "ruby_many_into" => [lambda do |q, n|
                         buf = "\0".b * 16_384
                         got = 0
                         got += q.get_many_into(buf).size while got < n
                       end,
                       ->(q, n, msg) { put_in_batches(q, n, msg) }]
}.freeze

def put_in_batches(queue, n, msg)
  batch = Array.new(256, msg)
  (n / 256).times { queue.put_many(batch) }
  queue.put_many(batch.first(n % 256))
end

def queue_batch(mode, n)
  get, put = QUEUE_MODES.fetch(mode)
  q = Multiproc::Queue.new(codec: :marshal) # only ruby_marshal's objects use it
  go = Multiproc::Barrier.new(3)
  msg = ("x" * 64).b
  consumer = Multiproc::Process.new do
    go.wait(60)
    get.call(q, n)
  end
  producer = Multiproc::Process.new do
    go.wait(60)
    put.call(q, n, msg)
  end
  [consumer, producer].each(&:start)
  go.wait(60)
  t0 = now
  [consumer, producer].each { |p| raise "child failed" unless p.join(120).zero? }
  n / (now - t0)
ensure
  q&.release
end

# Messages per batch: about 0.3 s at the rate of a first, short run.
def queue_count(mode)
  return 20_000 if QUICK

  rate = queue_batch(mode, 100_000)
  [(rate * 0.3).round, 100_000].max
end

def bench_queue
  QUEUE_MODES.each_key do |mode|
    n = queue_count(mode)
    report("queue_64B_1to1", mode, median(Array.new(BATCHES) { queue_batch(mode, n) }), "msg/s")
  end
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
  bench_blocks(items)
end

# Parallel.map and Multiproc.map of the same block, batch for batch.
def bench_blocks(items)
  begin
    require "parallel"
  rescue LoadError
    puts "# pool_map_chunk1: ruby-parallel is not installed, no ruby_parallel figure"
  end
  runs = { "ruby_block" => ->(xs) { Multiproc.map(xs, in_processes: 2) { |x| x } } }
  runs["ruby_parallel"] = ->(xs) { Parallel.map(xs, in_processes: 2) { |x| x } } if defined?(Parallel)
  runs.each_value { |run| run.call(items.first(100)) } # warm-up
  times = Hash.new { |h, k| h[k] = [] }
  BATCHES.times do
    runs.each do |impl, run|
      t0 = now
      out = run.call(items)
      raise "#{impl}: wrong result" unless out.size == items.size && out.last == items.last

      times[impl] << (now - t0) * 1e6 / items.size
    end
  end
  times.each { |impl, values| report("pool_map_chunk1", impl, median(values), "us/task") }
end

NAMES.each do |name|
  case name
  when "queue_64B_1to1" then bench_queue
  when "pool_map_chunk1" then bench_pool
  else abort "unknown benchmark #{name}; known: queue_64B_1to1 pool_map_chunk1"
  end
end
