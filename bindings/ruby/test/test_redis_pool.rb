# frozen_string_literal: true

# A pool across hosts on redis (issue 16): Pool#serve with Ruby tasks and
# Pool.open of the same redis:// address; a Ruby client (raw) whose task
# runs on a C serving host (mp-redis-pool-peer, tasks registered in C). A
# real redis-server started on a free loopback port, stopped by its pid.
require_relative "helper"

Multiproc.task(:rp_square) { |x| x * x }
Multiproc.task(:rp_upper, raw: true, &:upcase)
Multiproc.main

class TestRedisPool < Minitest::Test
  include MultiprocTestHelper
  include RedisServerHelper

  def setup
    start_redis_server
  end

  def teardown
    stop_redis_server
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
