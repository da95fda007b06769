# frozen_string_literal: true

# A pool across hosts on redis (issue 16): Pool#serve with Ruby tasks and
# Pool.open of the same redis:// address; a Ruby client (raw) whose task
# runs on a C serving host (mp-redis-pool-peer, tasks registered in C). A
# real redis-server started on a free loopback port, stopped by its pid.
require_relative "helper"
require "socket"
require "tmpdir"

Multiproc.task(:rp_square) { |x| x * x }
Multiproc.task(:rp_upper, raw: true, &:upcase)
Multiproc.main

class TestRedisPool < Minitest::Test
  include MultiprocTestHelper

  def setup
    server = ENV.fetch("PATH", "").split(":").map { |d| File.join(d, "redis-server") }.find { |p| File.executable?(p) }
    skip "redis-server is not installed" unless server
    @dir = Dir.mktmpdir("mp-redis-")
    s = TCPServer.new("127.0.0.1", 0)
    @port = s.addr[1]
    s.close
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

  def test_serve_and_open
    addr = "redis://127.0.0.1:#{@port}#rbpool"
    Multiproc::Pool.new(2) do |host|
      begin
        host.serve(addr, timeout: 10)
      rescue Multiproc::NotSupportedError
        skip "this build has no redis backend"
      end
      assert_raises(Multiproc::StateError) { host.serve(addr) }
      Multiproc::Pool.open(addr, timeout: 10) do |remote|
        assert_equal [1, 4, 9], remote.map(:rp_square, [1, 2, 3])
        assert_equal 16, remote.apply(:rp_square, 4)
        remote.retries = 1
        assert_raises(Multiproc::NotFoundError) { remote.apply(:no_such_task, 1) }
      end
      Multiproc::Pool.open(addr, raw: true) do |raw|
        assert_equal "ABC", raw.apply(:rp_upper, "abc")
      end
      host.close
      assert host.join(30)
    end
  end

  def c_peer
    ENV.fetch("LD_LIBRARY_PATH", "").split(":").map { |d| File.join(d, "..", "tests", "redis", "mp-redis-pool-peer") }
       .find { |p| File.executable?(p) }
  end

  def test_ruby_client_c_host
    peer = c_peer
    skip "mp-redis-pool-peer is not built next to the library" unless peer
    addr = "redis://127.0.0.1:#{@port}#xlrb"
    r, w = IO.pipe
    host = Process.spawn(peer, "serve", addr, "2", "C", out: w, pgroup: true)
    w.close
    assert_equal "serving\n", r.gets
    begin
      Multiproc::Pool.open(addr, raw: true, timeout: 10) do |raw|
        assert_equal "from ruby", raw.apply(:echo, "from ruby")
        assert_equal "C", raw.apply(:whoami, "")
        assert_raises(Multiproc::WorkerDiedError) { raw.apply(:die, "") }
      end
    rescue Multiproc::NotSupportedError
      skip "this build has no redis backend"
    end
  ensure
    if host
      Process.kill(:KILL, -host)
      Process.wait(host)
    end
    r&.close
  end
end
