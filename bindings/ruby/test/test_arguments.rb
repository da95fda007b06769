# frozen_string_literal: true

require_relative "helper"

Multiproc.task(:echo) { |x| x }
Multiproc.task(:sleep) { |s| sleep s }
Multiproc.register(:sleep) { sleep 30 }
Multiproc.main

# Every Integer argument the Ruby layer hands to the C library is checked
# in Ruby first (Multiproc.int_arg, Multiproc.timeout_ms): a bad one raises
# Multiproc::InvalidArgumentError in Ruby words, never SWIG's conversion
# error ("Expected argument 1 of type unsigned int ... in SWIG method").
class TestArguments < Minitest::Test
  include MultiprocTestHelper

  M = Multiproc
  BAD_COUNTS = [-1, 2**70, "3", 1.5, nil].freeze

  # name => a call taking the bad value.
  def calls
    q = M::Queue.new
    value = M::Value.new(:int64)
    shm = M::SharedMemory.new(16)
    a, = M.pipe
    {
      "Semaphore.new(value)" => ->(v) { M::Semaphore.new(v) },
      "Semaphore.new(max:)" => ->(v) { M::Semaphore.new(1, max: v) },
      "Queue.new(maxsize:)" => ->(v) { M::Queue.new(maxsize: v) },
      "Queue.new(max_bytes:)" => ->(v) { M::Queue.new(max_bytes: v) },
      "Barrier.new" => ->(v) { M::Barrier.new(v) },
      "Value.new(count:)" => ->(v) { M::Value.new(:int64, count: v) },
      "SharedMemory.new" => ->(v) { M::SharedMemory.new(v) },
      "Dict.new(max_entries:)" => ->(v) { M::Dict.new(max_entries: v) },
      "Dict.new(max_bytes:)" => ->(v) { M::Dict.new(max_bytes: v) },
      "Pool.new(processes)" => ->(v) { M::Pool.new(v) },
      "Pool.new(maxtasksperchild:)" => ->(v) { M::Pool.new(1, maxtasksperchild: v) },
      "Connection.from_fd" => ->(v) { M::Connection.from_fd(v) },
      "Lock.from_fd" => ->(v) { M::Lock.from_fd(v) },
      "Queue#get_many(max)" => ->(v) { q.get_many(v) },
      "Queue#get_many_into(max)" => ->(v) { q.get_many_into("\0".b * 8, v) },
      "Condition#notify" => ->(v) { M::Condition.new.notify(v) },
      "Connection#max_message=" => ->(v) { a.max_message = v },
      "Value#add(delta)" => ->(v) { value.add(v) },
      "Dict#incr(delta)" => ->(v) { M::Dict.new.incr("k", v) },
      "SharedMemory#read(offset)" => ->(v) { shm.read(v, 1) },
      "SharedMemory#write(offset)" => ->(v) { shm.write("x", v) }
    }
  end

  def test_bad_integer_arguments_raise_invalid_argument_in_ruby_words
    calls.each do |name, call|
      BAD_COUNTS.each do |bad|
        next if bad.nil? && name =~ /Queue.new\(max_bytes|maxtasks|processes|count/ # nil: the default
        next if bad.is_a?(Integer) && bad.negative? && name =~ /delta/ # a negative delta is fine

        assert_ruby_worded_invalid("#{name} with #{bad.inspect}") { call.call(bad) }
      end
    end
  end

  def test_the_one_maxsize_rule
    err = assert_raises(M::InvalidArgumentError) { M::Queue.new(maxsize: -1) }
    assert_match(/maxsize must be an Integer >= 0 \(0: no limit\), not -1/, err.message)
    assert_equal(-1, err.code) # MP_EINVAL, as Go's ErrInvalid
    M::Queue.new(maxsize: 0).release_handle
  end

  def test_bad_timeouts_raise_invalid_argument
    e = M::Event.new
    [-1, "1", Float::NAN, Complex(1, 1)].each do |bad|
      assert_ruby_worded_invalid("Event#wait(#{bad.inspect})") { e.wait(bad) }
      assert_ruby_worded_invalid("Queue#get(#{bad.inspect})") { M::Queue.new.get(timeout: bad) }
    end
    # Float::INFINITY and a timeout beyond int64 milliseconds wait forever.
    [Float::INFINITY, 1e30].each do |forever|
      t = Thread.new { e.wait(forever) }
      sleep 0.05
      assert t.alive?
      e.set
      assert_equal true, t.value
      e.clear
    end
  end

  # Every blocking method takes timeout: (those that took it positionally
  # still do): each one here times out after 0.1 s with its timed-out
  # answer. event.wait(timeout: 0.1) raised ArgumentError before.
  def test_every_blocking_method_takes_the_timeout_keyword
    blocking_calls.each do |what, (call, timed_out)|
      t = elapsed do
        if timed_out.is_a?(Class)
          assert_raises(timed_out, what) { call.call(0.1) }
        else
          got = call.call(0.1)
          timed_out.nil? ? assert_nil(got, what) : assert_equal(timed_out, got, what)
        end
      end
      assert_operator t, :>=, 0.09, "#{what} returned before its timeout"
      assert_operator t, :<, 3, "#{what} took #{t} s"
    end
  ensure
    @cleanup&.each(&:call)
  end

  private

  # what => [a call taking the timeout, its answer on timeout (or the
  # error class it raises)].
  def blocking_calls
    lock = M::Lock.new
    cond = M::Condition.new(lock)
    joinable = M::Queue.new(joinable: true)
    joinable.put("unfinished")
    a, _b = M.pipe
    pool = M::Pool.new(1)
    slow = pool.apply_async(:sleep, 30)
    closed_pool = M::Pool.new(1)
    closed_pool.apply_async(:sleep, 30)
    closed_pool.close
    spawned = M::Process.new(target: :sleep).start
    forked = M::Process.new { sleep 30 }.start
    popen = M::Command.new("sleep", "30").spawn
    @cleanup = [-> { pool.terminate }, -> { closed_pool.terminate }, -> { spawned.kill }, -> { forked.kill },
                -> { popen.kill }, -> { [spawned, forked, popen].each(&:join) }]
    {
      "Event#wait" => [->(s) { M::Event.new.wait(timeout: s) }, false],
      "Condition#wait" => [->(s) { lock.synchronize { cond.wait(timeout: s) } }, false],
      "Condition#wait_for" => [->(s) { lock.synchronize { cond.wait_for(timeout: s) { nil } } }, nil],
      "Barrier#wait" => [->(s) { M::Barrier.new(2).wait(timeout: s) }, M::TimeoutError],
      "Lock#acquire" => [->(s) { M::Lock.new.tap(&:acquire).then { |l| Thread.new { l.acquire(timeout: s) }.value } }, false],
      "Semaphore#acquire" => [->(s) { M::Semaphore.new(0).acquire(timeout: s) }, false],
      "Queue#get" => [->(s) { M::Queue.new.get(timeout: s) }, M::TimeoutError],
      "Queue#join" => [->(s) { joinable.join(timeout: s) }, false],
      "Connection#poll" => [->(s) { a.poll(timeout: s) }, false],
      "Connection#recv_bytes" => [->(s) { a.recv_bytes(timeout: s) }, M::TimeoutError],
      "Process#join (spawned)" => [->(s) { spawned.join(timeout: s) }, nil],
      "Process#wait (forked)" => [->(s) { forked.wait(timeout: s) }, nil],
      "Popen#join" => [->(s) { popen.join(timeout: s) }, nil],
      "Popen#communicate" => [->(s) { popen.communicate(timeout: s) }, M::TimeoutError],
      "AsyncResult#get" => [->(s) { slow.get(timeout: s) }, M::TimeoutError],
      "AsyncResult#wait" => [->(s) { slow.wait(timeout: s) }, false],
      "Pool#join" => [->(s) { closed_pool.join(timeout: s) }, false]
    }
  end

  def assert_ruby_worded_invalid(what, &block)
    err = assert_raises(M::InvalidArgumentError, what, &block)
    refute_match(/SWIG|Expected argument/, err.message, what)
    # A library error and Ruby's argument error at once: both rescues work.
    assert_kind_of M::Error, err, what
    assert_kind_of ArgumentError, err, what
  end
end
