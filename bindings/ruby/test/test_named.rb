# frozen_string_literal: true

# Objects passed by name to a target: child (Process#pass, pass:) and to a
# pool's workers (Pool.new(pass:)), opened with the classes' inherit;
# release_handle on Pool and AsyncResult; the default start method.
require_relative "helper"

# The child: takes a message from "jobs", sends it back over "back", after
# checking that the parent holds "lk" and that the misses raise.
Multiproc.register(:named_child) do
  q = Multiproc::Queue.inherit("jobs")
  back = Multiproc::Connection.inherit("back")
  lock = Multiproc::Lock.inherit("lk")
  exit 5 if lock.try_acquire
  begin
    Multiproc::Queue.inherit("nosuch")
    exit 6
  rescue Multiproc::NotFoundError
  end
  begin
    Multiproc::Connection.inherit("jobs")
    exit 7
  rescue Multiproc::StateError
  end
  back.send_bytes(q.get(timeout: 10))
end

# The pool's initializer opens "jobs" and "lk"; the task puts its pid.
Multiproc.task(:named_init) do |*|
  $named = [Multiproc::Queue.inherit("jobs"), Multiproc::Lock.inherit("lk")]
  nil
end
Multiproc.task(:named_use) do |*|
  q, lock = $named
  lock.synchronize { q.put(Process.pid.to_s) }
  Process.pid
end
Multiproc.main

class TestNamed < Minitest::Test
  def test_process_pass_by_name
    q = Multiproc::Queue.new
    mine, theirs = Multiproc::Connection.pipe(duplex: false)
    lock = Multiproc::Lock.new
    p = Multiproc::Process.new(target: :named_child, pass: { "jobs" => q })
    p.pass(:back, theirs).pass("lk", lock)
    assert_raises(Multiproc::ExistsError) { p.pass("lk", lock) }
    assert_raises(TypeError) { p.pass("x", Object.new) }
    lock.acquire
    q.put("hello")
    p.start
    assert_equal 0, p.join(30)
    assert_equal "hello", mine.recv_bytes
    assert_raises(Multiproc::StateError) { p.pass("late", q) }
    assert_raises(ArgumentError) { Multiproc::Process.new { 0 }.pass("q", q) }
  ensure
    lock&.release
  end

  def test_pool_pass_to_initializer_and_replacement
    q = Multiproc::Queue.new
    lock = Multiproc::Lock.new
    Multiproc::Pool.new(1, initializer: :named_init, pass: { jobs: q, lk: lock }) do |pool|
      first = pool.apply(:named_use)
      assert_equal first.to_s, q.get(timeout: 10)
      Process.kill(:KILL, first)
      # A task sent before the pool noticed the death fails; the next one
      # runs on the replacement.
      second = nil
      deadline = Time.now + 30
      while second.nil? && Time.now < deadline
        begin
          second = pool.apply(:named_use)
        rescue Multiproc::WorkerDiedError
          sleep 0.01
        end
      end
      refute_equal first, second
      assert_equal second.to_s, q.get(timeout: 10)
    end
  end

  def test_pool_and_result_release_handle
    pool = Multiproc::Pool.new(1)
    res = pool.apply_async(:named_use) # fails: no initializer ran; only the handle matters
    res.wait(30)
    res.release_handle
    res.release_handle # again: nothing
    assert_raises(Multiproc::ClosedError) { res.ready? }
    pool.release_handle
    pool.release_handle
    assert_raises(Multiproc::ClosedError) { pool.apply_async(:named_use) }
  end

  def test_start_method
    assert_raises(Multiproc::InvalidArgumentError) { Multiproc.set_start_method(:fork, force: true) }
    assert_raises(Multiproc::InvalidArgumentError) { Multiproc.set_start_method(:thread) }
    Multiproc.set_start_method(:spawn, force: true)
    assert_equal :spawn, Multiproc.get_start_method
    assert_raises(Multiproc::StateError) { Multiproc.set_start_method(:spawn) }
  end
end
