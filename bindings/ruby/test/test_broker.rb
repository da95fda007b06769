# frozen_string_literal: true

# The broker (issue 15): objects published by name and opened by address,
# in this process and in a separate ruby that knows only the address;
# Pool.open and raw tasks; block forms; errors.
require_relative "helper"
require "socket"
require "tmpdir"

Multiproc.task(:bk_upper, raw: true, &:upcase)
Multiproc.task(:bk_square) { |x| x * x }
Multiproc.main

class TestBroker < Minitest::Test
  include MultiprocTestHelper

  def setup
    @dir = Dir.mktmpdir("mp-broker-")
    @addr = "unix:#{@dir}/b.sock"
  end

  def teardown
    FileUtils.rm_rf(@dir)
  end

  def test_queue_dict_and_sync_objects_by_address
    q = Multiproc::Queue.new
    dict = Multiproc::Dict.new(max_entries: 16, max_bytes: 4096)
    lock = Multiproc::RLock.new
    sem = Multiproc::Semaphore.new(0)
    event = Multiproc::Event.new
    barrier = Multiproc::Barrier.new(3)
    value = Multiproc::Value.new(:int64, 0)
    shm = Multiproc::SharedMemory.new(64)
    cond = Multiproc::Condition.new(lock)
    Multiproc::Broker.new(@addr) do |b|
      { jobs: q, dict: dict, lock: lock, sem: sem, event: event, barrier: barrier, value: value,
        shm: shm, cond: cond }.each { |name, obj| assert_same b, b.publish(name, obj) }

      Multiproc::Queue.open("#{@addr}#jobs") { |q2| q2.put("via address") }
      assert_equal "via address", q.get(timeout: 10)
      dict["k"] = "v1"
      assert_equal "v1", Multiproc::Dict.open("#{@addr}#dict", timeout: 10) { |d2| d2["k"] }

      lock2 = Multiproc::RLock.open("#{@addr}#lock")
      lock.synchronize { refute Thread.new { lock2.try_acquire }.value, "the opened lock is free" }
      Multiproc::Condition.open("#{@addr}#cond", lock2) { |c2| assert_same lock2, c2.lock }
      sem.release
      assert Multiproc::Semaphore.open("#{@addr}#sem", &:try_acquire)
      event.set
      assert Multiproc::Event.open("#{@addr}#event", &:set?)
      assert_equal 3, Multiproc::Barrier.open("#{@addr}#barrier", &:parties)
      value.value = 42
      assert_equal 42, Multiproc::Value.open("#{@addr}#value", &:value)
      shm.write("shared", 0)
      assert_equal "shared", Multiproc::SharedMemory.open("#{@addr}#shm") { |s| s.read(0, 6) }
      lock2.release_handle
    end
    refute File.exist?("#{@dir}/b.sock"), "the socket file outlived Broker#close"
  end

  def test_block_form_releases_the_handle
    q = Multiproc::Queue.new
    Multiproc::Broker.new(@addr) do |b|
      b.publish("q", q)
      opened = Multiproc::Queue.open("#{@addr}#q") { |q2| q2 }
      assert opened.released?
      assert_raises(Multiproc::ClosedError) { opened.put("x") }
    end
  end

  def test_a_separate_ruby_opens_by_address
    q = Multiproc::Queue.new
    dict = Multiproc::Dict.new(max_entries: 16, max_bytes: 4096)
    dict["k"] = "from parent"
    Multiproc::Broker.new(@addr) do |b|
      b.publish("jobs", q)
      b.publish("dict", dict)
      result = run_ruby_script(<<~RUBY)
        require "multiproc"
        d = Multiproc::Dict.open("#{@addr}#dict", timeout: 30)
        Multiproc::Queue.open("#{@addr}#jobs", timeout: 30) { |q| q.put("child saw " + d["k"]) }
      RUBY
      assert result.success?, result.stderr
      assert_equal "child saw from parent", q.get(timeout: 10)
    end
  end

  def test_open_errors
    lock = Multiproc::Lock.new
    Multiproc::Broker.new(@addr) do |b|
      b.publish("lock", lock)
      assert_raises(Multiproc::InvalidArgumentError) { Multiproc::Queue.open("#{@addr}#lock") }
      assert_raises(Multiproc::NotFoundError) { Multiproc::Lock.open("#{@addr}#nothing") }
      assert_raises(Multiproc::InvalidArgumentError) { Multiproc::Lock.open(@addr) }
      assert_raises(Multiproc::InvalidArgumentError) { Multiproc::Lock.open("unix:rel/b.sock#lock") }
      assert_raises(Multiproc::NotFoundError) { Multiproc::Lock.open("unix:#{@dir}/none.sock#lock") }
      assert_raises(Multiproc::InvalidArgumentError) { Multiproc::Lock.open("#{@addr}#lock", timeout: -1) }
      assert_raises(NotImplementedError) { Multiproc::Connection.open("#{@addr}#lock") }
      assert_nil b.unpublish("lock")
      assert_raises(Multiproc::NotFoundError) { Multiproc::Lock.open("#{@addr}#lock") }
      assert_raises(Multiproc::NotFoundError) { b.unpublish("lock") }
    end
  end

  def test_publish_errors
    q = Multiproc::Queue.new
    b = Multiproc::Broker.new(@addr, allow_uids: [Process.uid], max_clients: 4, handshake_timeout: 1)
    assert_raises(Multiproc::InvalidArgumentError) { b.publish("no spaces", q) }
    assert_raises(Multiproc::InvalidArgumentError) { b.publish("str", "not shared") }
    b.publish("q", q)
    assert_raises(Multiproc::ExistsError) { b.publish("q", q) }
    assert_raises(Multiproc::ExistsError) { Multiproc::Broker.new(@addr) }
    assert_raises(Multiproc::InvalidArgumentError) { Multiproc::Broker.new("tcp://127.0.0.1:1") }
    assert_raises(Multiproc::InvalidArgumentError) { Multiproc::Broker.new("unix:#{@dir}/x", max_clients: 0) }
    assert_raises(Multiproc::InvalidArgumentError) { Multiproc::Broker.new("unix:#{@dir}/x", allow_uids: [-1]) }
    released = Multiproc::Queue.new
    released.release_handle
    assert_raises(Multiproc::ClosedError) { b.publish("gone", released) }
    b.close
    b.close # again: nothing
    assert b.closed?
    assert_raises(Multiproc::ClosedError) { b.publish("q2", q) }
  end

  def test_object_outlives_the_broker
    q = Multiproc::Queue.new
    b = Multiproc::Broker.new(@addr)
    b.publish("q", q)
    q2 = Multiproc::Queue.open("#{@addr}#q")
    b.close
    q2.put("after")
    assert_equal "after", q.get(timeout: 10)
  end

  def test_open_waits_for_a_silent_broker_until_timeout_or_kill
    path = "#{@dir}/silent.sock"
    server = UNIXServer.new(path)
    conns = []
    acceptor = Thread.new { loop { conns << server.accept } }
    t = elapsed do
      assert_raises(Multiproc::TimeoutError) { Multiproc::Queue.open("unix:#{path}#q", timeout: 0.3) }
    end
    assert_operator t, :<, 20
    assert_thread_kill_prompt { Multiproc::Queue.open("unix:#{path}#q") }
  ensure
    acceptor&.kill
    conns&.each(&:close)
    server&.close
  end

  def test_pool_by_address
    Multiproc::Pool.new(2) do |pool|
      Multiproc::Broker.new(@addr) do |b|
        b.publish("pool", pool)
        Multiproc::Pool.open("#{@addr}#pool", timeout: 30) do |remote|
          assert_equal [1, 4, 9], remote.map(:bk_square, [1, 2, 3])
          assert_equal 16, remote.apply(:bk_square, 4)
        end
        Multiproc::Pool.open("#{@addr}#pool", raw: true) do |raw|
          result = raw.apply(:bk_upper, "abc")
          assert_equal "ABC", result
          assert_equal Encoding::BINARY, result.encoding
          assert_raises(ArgumentError) { raw.apply(:bk_upper, "a", "b") }
          assert_raises(ArgumentError) { raw.map(:bk_upper, ["a"]) }
        end
        assert_raises(Multiproc::StateError) { Multiproc::Queue.open("#{@addr}#pool") }
      end
    end
  end

  def test_released_pool_withdraws_itself
    pool = Multiproc::Pool.new(1)
    b = Multiproc::Broker.new(@addr)
    b.publish_pool("pool", pool)
    pool.release_handle # before the broker: it must withdraw itself
    assert_raises(Multiproc::NotFoundError) { Multiproc::Pool.open("#{@addr}#pool") }
    assert_raises(Multiproc::NotFoundError) { b.unpublish("pool") }
    assert_raises(Multiproc::ClosedError) { b.publish_pool("p2", pool) }
  ensure
    b&.close
  end
end
