# frozen_string_literal: true

# A queue on a redis server through Queue.open (issue 16): a real
# redis-server started on a free loopback port, stopped by its pid.
# Skipped when redis-server is not installed or the library was built
# without the redis backend.
require_relative "helper"
require "socket"
require "tmpdir"

Multiproc.main

class TestRedis < Minitest::Test
  include MultiprocTestHelper

  def free_port
    s = TCPServer.new("127.0.0.1", 0)
    port = s.addr[1]
    s.close
    port
  end

  def setup
    server = ENV.fetch("PATH", "").split(":").map { |d| File.join(d, "redis-server") }.find { |p| File.executable?(p) }
    skip "redis-server is not installed" unless server
    @dir = Dir.mktmpdir("mp-redis-")
    @port = free_port
    @pid = Process.spawn(server, "--port", @port.to_s, "--bind", "127.0.0.1", "--dir", @dir, "--save", "",
                         "--appendonly", "no", "--logfile", "#{@dir}/redis.log")
    200.times do
      TCPSocket.new("127.0.0.1", @port).close
      break
    rescue SystemCallError
      sleep 0.05
    end
  end

  def teardown
    if @pid
      Process.kill(:KILL, @pid)
      Process.wait(@pid)
    end
    FileUtils.rm_rf(@dir) if @dir
  end

  def open_queue(addr)
    Multiproc::Queue.open(addr, timeout: 10)
  rescue Multiproc::NotSupportedError
    skip "this build has no redis backend"
  end

  def test_queue_open_put_get_close
    addr = "redis://127.0.0.1:#{@port}#rubytest"
    q = open_queue(addr)
    other = open_queue(addr)
    5.times { |i| q.put("rb-#{i}") }
    assert_equal 5, q.size
    5.times { |i| assert_equal "rb-#{i}", other.get(timeout: 10) }
    assert_raises(Multiproc::EmptyError) { other.get_nowait }
    q.close
    assert other.closed?
    assert_raises(Multiproc::ClosedError) { other.get(timeout: 10) }
  end

  def test_unreachable_server_is_refused
    started = Process.clock_gettime(Process::CLOCK_MONOTONIC)
    assert_raises(Multiproc::ConnectionRefusedError) do
      Multiproc::Queue.open("redis://127.0.0.1:#{free_port}#q", timeout: 5)
    rescue Multiproc::NotSupportedError
      skip "this build has no redis backend"
    end
    assert Process.clock_gettime(Process::CLOCK_MONOTONIC) - started < 5
  end
end
