# frozen_string_literal: true

# Thread::Queue's and Mutex's names on Queue and Lock, and TimeoutError as a
# Timeout::Error (lib/multiproc/idioms.rb, errors.rb).
require_relative "helper"

class TestIdioms < Minitest::Test
  def test_queue_push_pop
    q = Multiproc::Queue.new
    q << { a: 1 }
    q.push([1, :two])
    q.enq("three")
    assert_equal 3, q.size
    assert_equal [{ a: 1 }, [1, :two], "three"], [q.pop, q.deq(timeout: 5), q.shift(true)]
    assert_raises(Multiproc::EmptyError) { q.pop(true) }
    assert_raises(Multiproc::TimeoutError) { q.pop(timeout: 0.05) }
    refute q.closed?
    q.close
    assert q.closed?
    assert_raises(Multiproc::ClosedError) { q.pop }
  end

  def test_queue_push_uses_the_codec
    q = Multiproc::Queue.new(codec: :json)
    q << { "x" => 1 }
    assert_equal '{"x":1}', q.get(timeout: 5)
  end

  def test_thread_queue_keeps_its_contract
    q = Multiproc::ThreadQueue.new
    q << 1
    q.close
    assert_equal [1, nil], [q.pop, q.pop] # nil once closed and drained
  end

  def test_lock_as_mutex
    lock = Multiproc::Lock.new
    refute lock.owned?
    assert_same lock, lock.lock
    assert lock.owned?
    assert lock.locked?
    refute Thread.new { lock.owned? }.value, "another thread does not own it"
    refute Thread.new { lock.try_lock }.value, "try_lock from another thread fails"
    assert_same lock, lock.unlock
    refute lock.owned?
    assert lock.try_lock
    lock.unlock
    assert_equal 42, lock.synchronize { lock.owned? ? 42 : 0 }
    refute lock.owned?
  end

  def test_rlock_owned_until_last_release
    lock = Multiproc::RLock.new
    lock.lock
    lock.lock
    lock.unlock
    assert lock.owned?
    lock.unlock
    refute lock.owned?
  end

  def test_owned_in_a_forked_child_is_false
    lock = Multiproc::Lock.new
    lock.lock
    r, w = IO.pipe
    pid = fork do
      w.write(lock.owned? ? "yes" : "no")
      exit!(0)
    end
    w.close
    assert_equal "no", r.read
    Process.wait(pid)
    lock.unlock
  end

  def test_timeout_error_is_a_timeout_error
    q = Multiproc::Queue.new
    err = assert_raises(Timeout::Error) { q.get(timeout: 0.05) }
    assert_kind_of Multiproc::TimeoutError, err
    assert_kind_of Multiproc::Error, err
    assert_equal "ETIMEDOUT", err.name
    lock = Multiproc::Lock.new
    lock.lock
    result = Thread.new do
      lock.acquire(timeout: 0.05)
    rescue Timeout::Error
      :raised
    end.value
    assert_equal false, result, "acquire with a timeout still returns false"
  end
end

# A failed pool task re-raises the task's own class, with the worker's
# backtrace first (as the parallel gem does), or TaskFailedError.
class IdiomsTaskError < StandardError; end

class WantsTwoArgsError < StandardError
  def initialize(a, b)
    super("#{a} #{b}")
  end
end

Multiproc.task(:idiom_fail) { |kind| raise(kind == "own" ? IdiomsTaskError : WantsTwoArgsError.new(1, 2), "broken #{kind}") }
Multiproc.task(:idiom_nomethod) { |_| nil.frobnicate }
Multiproc.main

class TestTaskErrors < Minitest::Test
  def setup
    @pool = Multiproc::Pool.new(1)
  end

  def teardown
    @pool.terminate
  end

  def test_own_class_with_worker_backtrace
    err = assert_raises(IdiomsTaskError) { @pool.apply(:idiom_fail, "own") }
    assert_equal "broken own", err.message
    assert_match(/test_idioms\.rb:\d+/, err.backtrace.first, "the worker's line comes first")
    assert_equal err.worker_backtrace, err.backtrace.first(err.worker_backtrace.size)
    assert(err.backtrace.any? { |l| l.include?("test_own_class_with_worker_backtrace") }, "then the parent's")
    assert_kind_of Multiproc::Error, err
    assert_equal "idiom_fail", err.task_name
    assert(Multiproc::TaskFailedError === err) # rubocop:disable Style/CaseEquality
  end

  def test_a_class_that_cannot_be_made_gives_task_failed_error
    err = assert_raises(Multiproc::TaskFailedError) { @pool.apply(:idiom_fail, "other") }
    assert_instance_of Multiproc::TaskFailedError, err
    assert_equal "WantsTwoArgsError", err.task_exception
  end

  def test_no_method_error_keeps_its_name
    err = assert_raises(NoMethodError) { @pool.apply(:idiom_nomethod, 1) }
    refute_equal "ETASKFAILED", err.name, "NameError#name is not replaced by Multiproc::Error's"
    assert_match(/frobnicate/, err.message)
    assert_raises(Multiproc::TaskFailedError) { @pool.apply(:idiom_nomethod, 1) }
  end
end
