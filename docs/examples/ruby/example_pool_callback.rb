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

# What the callbacks gather. They run on the pool's callback thread, so
# the main thread reads it under the same Mutex.
class Collected
  attr_reader :squares, :errors, :in_parent, :off_main, :elsewhere

  def initialize
    @main_pid = Process.pid # print('主进程: ', os.getpid())
    @main_thread = Thread.current
    @lock = Mutex.new
    @squares = []
    @errors = 0
    @in_parent = 0 # callbacks that ran in this process ...
    @off_main = 0 # ... on a thread other than the main one
    @elsewhere = 0 # results computed in another process
  end

  # def func2(nn): the callback, with func1's result.
  def func2((square, pid))
    @lock.synchronize do
      note_where
      @elsewhere += 1 unless pid == @main_pid
      @squares << square
      puts "func2: #{square}"
    end
  end

  # error_callback: func1 raised in its worker.
  def on_error(error)
    @lock.synchronize do
      note_where
      @errors += 1
      puts "error_callback: #{error.name}: #{error.task_name}: #{error.task_message}"
    end
  end

  def synchronize(&block)
    @lock.synchronize(&block)
  end

  private

  def note_where
    @in_parent += 1 if Process.pid == @main_pid
    @off_main += 1 unless Thread.current == @main_thread
  end
end

c = Collected.new
pool = Multiproc::Pool.new(WORKERS)
inputs = RANGE.to_a << -1 # and one that fails
puts "main: Pool(#{WORKERS}), #{inputs.size} tasks with a callback"
inputs.each do |n|
  pool.apply_async(:func1, n, callback: c.method(:func2), error_callback: c.method(:on_error))
end
pool.close
pool.join # every callback has run now
puts "main: pool closed and joined"

c.synchronize do # no callback runs any more; lock all the same
  calls = c.squares.size + c.errors
  yes_no = ->(ok) { ok ? "yes" : "no" }
  puts "main: #{c.squares.size} callbacks and #{c.errors} error callback"
  puts "main: every callback ran in the main process: #{yes_no[c.in_parent == calls]}"
  puts "main: every callback ran on a thread other than main(): #{yes_no[c.off_main == calls]}"
  puts "main: every task ran in a worker process: #{yes_no[c.elsewhere == c.squares.size]}"
  puts "main: the callbacks collected: #{c.squares.sort.join(' ')}"
  ok = c.squares.size == RANGE.size && c.errors == 1 && c.in_parent == calls && c.off_main == calls &&
       c.elsewhere == c.squares.size
  exit 1 unless ok
end
