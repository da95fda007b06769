# frozen_string_literal: true

# Port of docs/examples/c/example_pool_callback.c (进程池和multiprocess.Pool:
# 回调函数): apply_async(func1, args=(i,), callback=func2): the task runs in
# a worker process, its callback in the main process.
#
#   def func1(n): print('func1>>', os.getpid()); return n*n
#   def func2(nn): print('func2>>', os.getpid()); print(nn)
#   p = Pool(5)
#   for i in range(10, 20): p.apply_async(func1, args=(i,), callback=func2)
#   p.close(); p.join()
#
# Pids change from run to run, so the task returns its pid with n*n and
# the callbacks check where things ran: the task in another process, the
# callback in this one, on a thread of its own (one callback at a time,
# in the order the tasks finish). What the callbacks share with the main
# thread is guarded by a Mutex; Pool#join returns once every callback has
# run. A task that raises calls error_callback instead.
require "multiproc"
$stdout.sync = true # workers print too

WORKERS = 2
RANGE = (10...20).freeze

# def func1(n): in a worker process.
Multiproc.task(:func1) do |n|
  raise ArgumentError, "negative input #{n}" if n.negative?

  puts "func1: n=#{n}"
  [n * n, Process.pid]
end
Multiproc.main

main_pid = Process.pid
main_thread = Thread.current
lock = Mutex.new
squares = []
errors = 0
elsewhere = 0 # callbacks of tasks that ran in another process
in_parent = 0 # callbacks that ran in this process ...
off_main = 0 # ... on a thread other than the main one

where = lambda do
  in_parent += 1 if Process.pid == main_pid
  off_main += 1 unless Thread.current == main_thread
end
func2 = lambda do |(square, pid)| # the callback
  lock.synchronize do
    where.call
    elsewhere += 1 unless pid == main_pid
    squares << square
    puts "func2: #{square}"
  end
end
on_error = lambda do |e| # error_callback
  lock.synchronize do
    where.call
    errors += 1
    puts "error_callback: #{e.name}: #{e.task_name}: #{e.task_message}"
  end
end

pool = Multiproc::Pool.new(WORKERS)
inputs = RANGE.to_a << -1 # and one that fails
puts "main: Pool(#{WORKERS}), #{inputs.size} tasks with a callback"
inputs.each { |n| pool.apply_async(:func1, n, callback: func2, error_callback: on_error) }
pool.close
pool.join # every callback has run now
puts "main: pool closed and joined"

lock.synchronize do # no callback runs any more; lock all the same
  calls = squares.size + errors
  yes_no = ->(ok) { ok ? "yes" : "no" }
  puts "main: #{squares.size} callbacks and #{errors} error callback"
  puts "main: every callback ran in the main process: #{yes_no[in_parent == calls]}"
  puts "main: every callback ran on a thread other than main(): #{yes_no[off_main == calls]}"
  puts "main: every task ran in a worker process: #{yes_no[elsewhere == squares.size]}"
  puts "main: the callbacks collected: #{squares.sort.join(' ')}"
  ok = squares.size == RANGE.size && errors == 1 && in_parent == calls && off_main == calls &&
       elsewhere == squares.size
  exit 1 unless ok
end
