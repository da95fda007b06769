# frozen_string_literal: true

# Shared by the Ruby binding's tests. A test file registers its targets and
# tasks, then calls Multiproc.main (children re-execute the file), then
# defines its Minitest class.
require "minitest/autorun"
require "timeout"
require "multiproc"
require "fileutils"
require "socket"
require "tmpdir"

module MultiprocTestHelper
  # Seconds since start of the block.
  def elapsed
    t0 = Process.clock_gettime(Process::CLOCK_MONOTONIC)
    yield
    Process.clock_gettime(Process::CLOCK_MONOTONIC) - t0
  end

  # Whether pid is gone (or a zombie nobody reaped yet).
  def gone?(pid)
    stat = File.read("/proc/#{pid}/stat")
    stat.split(") ").last.start_with?("Z")
  rescue Errno::ENOENT, Errno::ESRCH
    true
  end

  # Start a thread running the block, which must block in a call of the
  # binding, and check that another thread meanwhile runs 50 rounds of
  # 5 ms: the call released the GVL. Returns the blocked thread, still
  # blocked, for the caller to wake.
  def assert_threads_run_while_blocked(&block)
    blocked = Thread.new(&block)
    counter = 0
    spinner = Thread.new { 50.times { counter += 1; sleep 0.005 } }
    spinner.join(5)
    assert_equal 50, counter
    assert blocked.alive?
    blocked
  end

  def wait_until(timeout = 10)
    deadline = Process.clock_gettime(Process::CLOCK_MONOTONIC) + timeout
    until yield
      return false if Process.clock_gettime(Process::CLOCK_MONOTONIC) > deadline

      sleep 0.02
    end
    true
  end

  # Run code with `ruby -e` in a fresh process that loads this multiproc
  # (its only Ruby thread is the main thread, unlike a minitest process,
  # whose executor threads change where Ruby handles signals). Returns
  # the Multiproc::Result (stdout and stderr captured).
  def run_ruby_script(code, timeout: 120)
    dirs = ["multiproc.rb", "multiproc/native.so"].map do |f|
      $LOAD_PATH.find { |d| File.exist?(File.join(d, f)) }
    end
    Multiproc.run([RbConfig.ruby, *dirs.flat_map { |d| ["-I", d] }, "-e", code], timeout: timeout)
  end

  # A thread blocked in the block is killed after 0.2 s: the kill must end
  # it promptly (the blocking call is woken, not waited out).
  def assert_thread_kill_prompt(&block)
    th = Thread.new(&block)
    sleep 0.2
    assert th.alive?, "the call should still block"
    t = elapsed do
      th.kill
      th.join(5)
    end
    refute th.alive?, "Thread#kill did not end the blocked call"
    assert_operator t, :<, 2.0
  end
end

# A real redis-server for the tests of issue 16: started on a free
# loopback port in a temporary directory, stopped by its pid (never by
# name). Skips the test when redis-server is not installed.
module RedisServerHelper
  def free_port
    s = TCPServer.new("127.0.0.1", 0)
    port = s.addr[1]
    s.close
    port
  end

  # Sets @port; the server answers when this returns.
  def start_redis_server
    server = ENV.fetch("PATH", "").split(":").map { |d| File.join(d, "redis-server") }.find { |p| File.executable?(p) }
    skip "redis-server is not installed" unless server
    @redis_dir = Dir.mktmpdir("mp-redis-")
    @port = free_port
    @redis_pid = Process.spawn(server, "--port", @port.to_s, "--bind", "127.0.0.1", "--dir", @redis_dir,
                               "--save", "", "--appendonly", "no", "--logfile", "#{@redis_dir}/redis.log")
    200.times do
      TCPSocket.new("127.0.0.1", @port).close
      break
    rescue SystemCallError
      sleep 0.05
    end
  end

  def stop_redis_server
    if @redis_pid
      Process.kill(:KILL, @redis_pid)
      Process.wait(@redis_pid)
    end
    FileUtils.rm_rf(@redis_dir) if @redis_dir
  end
end
