# frozen_string_literal: true

# Port of docs/examples/c/example_pool_apply.c (进程池和multiprocess.Pool:
# 同步与异步; 进程池pool): Pool#apply runs one task at a time, apply_async
# keeps every worker busy; close before join; AsyncResult#get.
#
#   def func(msg):
#       print("msg:", msg); time.sleep(1); return msg
#   pool = Pool(processes=3)
#   res_l = [pool.apply_async(func, (msg,)) for msg in ...]  # apply(func, (msg,))
#   print("=====>"); pool.close(); pool.join()
#   for res in res_l: print(res.get())
#
# 4 tasks of 0.25 s on 4 workers: apply takes at least 1 s, apply_async
# about 0.25 s. Times change from run to run, so only the comparison is
# printed (the tasks sleep, so it holds on a loaded machine too); the
# times go to stderr.
require "multiproc"
$stdout.sync = true # workers print too

WORKERS = 4
TASKS = 4
SLEEP = 0.25

# def func(msg): in a worker process.
Multiproc.task(:func) do |msg|
  puts "msg: #{msg}"
  sleep SLEEP
  msg
end
Multiproc.main

def seconds
  t0 = Process.clock_gettime(Process::CLOCK_MONOTONIC)
  yield
  Process.clock_gettime(Process::CLOCK_MONOTONIC) - t0
end

messages = Array.new(TASKS) { |i| "hello #{i}" }
pool = Multiproc::Pool.new(WORKERS)
begin
  pool.join(0)
rescue Multiproc::StateError => e # the tutorial's "close first"
  puts "main: join before close -> #{e.name}"
end

puts "Pool(#{WORKERS}): apply, one task at a time"
results = []
t_apply = seconds do
  messages.each do |msg|
    results << pool.apply(:func, msg) # waits for the result
    puts "main: apply returned #{results.last}"
  end
end
puts "=====> (apply: every result is already here)"
puts "main: results: #{results.join(', ')}"

puts "Pool(#{WORKERS}): apply_async, every task at once"
res_l = nil
t_async = seconds do
  res_l = messages.map { |msg| pool.apply_async(:func, msg) }
  puts "=====> (apply_async: #{TASKS} tasks submitted, none waited for)"
  res_l.each(&:wait) # the tasks' time: until the last result is there
end
pool.close # no more tasks ...
pool.join # ... and wait for the ones queued
puts "main: pool closed and joined"
puts "main: results: #{res_l.map(&:get).join(', ')}"
begin
  pool.apply_async(:func, "late")
rescue Multiproc::StateError => e # Python: "Pool not running"
  puts "main: apply_async after close -> #{e.name}"
end

warn format("apply: %.0f ms, apply_async: %.0f ms", t_apply * 1000, t_async * 1000)
faster = t_async < 0.75 * t_apply
puts "apply_async took less than 3/4 of apply's time: #{faster ? 'yes' : 'no'}"
exit 1 unless faster
