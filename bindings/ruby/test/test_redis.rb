# frozen_string_literal: true

# A queue on a redis server through Queue.open (issue 16): a real
# redis-server started on a free loopback port, stopped by its pid.
# Skipped when redis-server is not installed or the library was built
# without the redis backend.
require_relative "helper"

Multiproc.main

class TestRedis < Minitest::Test
  include MultiprocTestHelper
  include RedisServerHelper

  def setup
    start_redis_server
  end

  def teardown
    stop_redis_server
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

  # Queue.new_at with settings, and last_delivery: a joinable queue's
  # message held by a handle released before task_done goes to another
  # handle with the same id and count 2.
  def test_new_at_and_last_delivery
    addr = "redis://127.0.0.1:#{@port}#rbnewat"
    q = Multiproc::Queue.new_at(addr, maxsize: 2, joinable: true, timeout: 10)
    assert_raises(Multiproc::ExistsError) { Multiproc::Queue.new_at(addr, maxsize: 3, joinable: true, timeout: 10) }
    assert_raises(Multiproc::StateError) { q.last_delivery }
    q.put("a")
    q.put("b")
    assert_raises(Multiproc::FullError) { q.put_nowait("c") }
    first = nil
    Multiproc::Queue.new_at(addr, maxsize: 2, joinable: true, timeout: 10) do |holder|
      assert_equal "a", holder.get(timeout: 10)
      first = holder.last_delivery
      assert_equal 1, first.count
      refute first.redelivered?
      assert_match(/\A\d+-\d+\z/, first.id)
    end # released without task_done: "a" goes to the others
    got = {}
    2.times do
      msg = q.get(timeout: 10)
      got[msg] = q.last_delivery
      q.task_done
    end
    assert_equal first.id, got["a"].id
    assert_equal 2, got["a"].count
    assert got["a"].redelivered?
    id, count = got["b"].to_a
    assert_equal 1, count
    refute_equal first.id, id
    q.join(timeout: 10)
    assert_raises(Multiproc::NotSupportedError) { Multiproc::Queue.new.last_delivery }
  rescue Multiproc::NotSupportedError => e
    raise unless e.message.include?("redis")

    skip "this build has no redis backend"
  end

  # A get waiting on an empty redis queue: Timeout.timeout (the cancel
  # token Ruby binds) ends it promptly, and Thread#kill too; the handle
  # works afterwards and nothing was taken.
  def test_blocked_get_interrupted
    q = open_queue("redis://127.0.0.1:#{@port}#rbcancel")
    t = elapsed { assert_raises(Timeout::Error) { Timeout.timeout(0.3) { q.get } } }
    assert_operator t, :<, 2.5
    waiter = Thread.new { q.get }
    sleep 0.3
    t = elapsed { waiter.kill.join(5) }
    assert_operator t, :<, 2.5
    q.put("after")
    assert_equal "after", q.get(timeout: 5), "the interrupted gets must not have taken it"
    assert_raises(Multiproc::TimeoutError) { q.get(timeout: 0.05) }
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

  # A dict and a lock on a redis server through Dict.open and Lock.open:
  # the same calls, counters in the local dict's bytes, a fence per hold.
  def redis_config_set(name, value)
    TCPSocket.open("127.0.0.1", @port) do |s|
      s.write("CONFIG SET #{name} #{value}\r\n")
      assert_equal "+OK\r\n", s.gets
    end
  end

  # An open that succeeds on a server that may evict its keys says so with
  # Kernel#warn; on a noeviction server (redis' default) it says nothing.
  def test_open_warns_of_evicting_policy
    addr = "redis://127.0.0.1:#{@port}"
    assert_output("", "") { open_queue("#{addr}#quiet").release_handle }
    redis_config_set("maxmemory-policy", "allkeys-lru")
    _out, err = capture_io do
      open_queue("#{addr}#evictable").release_handle
      Multiproc::Dict.open("#{addr}#evictable_dict", timeout: 10).release_handle
    end
    warnings = err.lines
    assert_equal 2, warnings.size, err
    warnings.each { |w| assert_match(/multiproc: .*allkeys-lru.*noeviction/, w) }
  end

  def test_dict_and_lock_open
    d = Multiproc::Dict.open("redis://127.0.0.1:#{@port}#rbdict", timeout: 10)
    d["k"] = "v"
    assert_equal "v", d["k"]
    assert_nil d["missing"]
    assert_equal 41, d.incr("n", 41)
    assert_equal 42, d.incr("n")
    assert_equal [42].pack("q<"), d["n"]
    assert d.cas("k", "v", "w")
    refute d.cas("k", "v", "x")
    assert d.key?("k")
    assert_equal 2, d.size
    assert_equal({ "k" => "w", "n" => [42].pack("q<") }, d.to_h)
    assert_equal "w", d.delete("k")
    assert_raises(Multiproc::NotSupportedError) { d.fileno }
    d.release_handle

    addr = "redis://127.0.0.1:#{@port}#rblock"
    lock = Multiproc::Lock.open(addr, timeout: 10)
    other = Multiproc::Lock.open(addr, timeout: 10)
    assert lock.acquire(timeout: 5)
    f1 = lock.fence
    assert_operator f1, :>=, 1
    assert other.locked?
    refute other.acquire(timeout: 0)
    lock.release
    assert_raises(Multiproc::StateError) { lock.fence }
    assert other.acquire(timeout: 5)
    assert_operator other.fence, :>, f1
    other.release
    local = Multiproc::Lock.new
    local.acquire
    assert_raises(Multiproc::NotSupportedError) { local.fence }
    local.release
  rescue Multiproc::NotSupportedError => e
    raise unless e.message.include?("redis backend")

    skip "this build has no redis backend"
  end
end
