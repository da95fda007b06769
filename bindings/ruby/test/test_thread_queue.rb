# frozen_string_literal: true

require_relative "helper"
Multiproc.main

# Queue's SizedQueue readers and no surprise draining (issue 22 item 4),
# and ThreadQueue, the Thread::Queue-compatible mode, measured against
# cases ported from ruby/ruby test/ruby/test_thread_queue.rb (upstream
# names in the comments; Thread::SizedQueue.new(n) is ThreadQueue.new(maxsize: n)).
class TestThreadQueue < Minitest::Test
  include MultiprocTestHelper

  TQ = Multiproc::ThreadQueue

  def wait_for_waiters(q, n)
    assert wait_until(10) { q.num_waiting >= n }, "#{n} waiters expected"
  end

  # --- Queue (bytes): item 4 ---------------------------------------------

  def test_queue_close_returns_self_and_closed
    q = Multiproc::Queue.new
    refute q.closed?
    assert_same q, q.close
    assert q.closed?
  end

  def test_queue_max_is_the_bound_not_enumerable_max
    q = Multiproc::Queue.new(maxsize: 3)
    q.put("b")
    q.put("a")
    # Enumerable#max waited until the queue was closed, consuming it.
    assert_equal 3, Timeout.timeout(10) { q.max }
    assert_nil Multiproc::Queue.new.max
    assert_equal 2, q.size, "max took nothing"
  end

  def test_queue_has_no_enumerable_methods_that_take_messages
    q = Multiproc::Queue.new
    refute_kind_of Enumerable, q
    %i[map to_a first min max_by include? count select].each { |m| refute_respond_to q, m }
    q.put("x")
    q.put("y")
    q.close
    assert_equal %w[x y], q.each.to_a, "each is the explicit way"
  end

  def test_queue_drain_and_clear_take_what_is_queued_now
    q = Multiproc::Queue.new
    3.times { |i| q.put("m#{i}") }
    assert_equal %w[m0 m1 m2], q.drain
    assert_equal [], q.drain
    q.put("z")
    assert_same q, q.clear
    assert q.empty?
  end

  def test_queue_num_waiting_counts_blocked_gets
    q = Multiproc::Queue.new
    assert_equal 0, q.num_waiting
    th = Thread.new { q.get }
    wait_for_waiters(q, 1)
    q.put("go")
    assert_equal "go", th.value
    assert_equal 0, q.num_waiting
  end

  # --- ThreadQueue --------------------------------------------------------

  # upstream: test_queue_initialize
  def test_queue_initialize
    e = Class.new do
      include Enumerable
      def initialize(list) = @list = list
      def each(&block) = @list.each(&block)
    end
    [[Array, "Array"], [e, "Enumerable"], [Struct.new(:to_a), "Array-like"]].each do |a, type|
      q = TQ.new(a.new([1, 2, 3]))
      assert_equal 3, q.size, type
      refute_predicate q, :empty?, type
      assert_equal [1, 2, 3], [q.pop, q.pop, q.pop], type
      assert_predicate q, :empty?, type
    end
    assert_raises(TypeError) { TQ.new(1) }
  end

  # upstream: test_sized_queue_initialize (ArgumentError for 0/-1 differs:
  # maxsize 0 means no limit, as Queue's)
  def test_sized_queue_initialize
    assert_equal 1, TQ.new(maxsize: 1).max
    assert_raises(ArgumentError) { TQ.new(maxsize: -1) }
  end

  # upstream: test_queue (grind, smaller)
  def test_queue_grind
    from_workers = TQ.new
    to_workers = TQ.new
    workers = 3.times.map do
      Thread.new { while (object = to_workers.pop) do from_workers.push object end }
    end
    3.times do
      100.times { to_workers.push 99 }
      100.times { from_workers.pop }
    end
    3.times { to_workers.push nil } # the old way of closing
    workers.each(&:join)
    assert_equal 0, from_workers.size
    assert_equal 0, to_workers.size
  end

  # upstream: test_queue_pop_interrupt, test_sized_queue_push_non_block
  def test_queue_pop_interrupt
    q = TQ.new
    t1 = Thread.new { q.pop }
    wait_for_waiters(q, 1)
    t1.kill.join
    assert_equal 0, q.num_waiting
    sq = TQ.new(maxsize: 1)
    sq.push(1)
    t2 = Thread.new { sq.push(2) }
    wait_for_waiters(sq, 1)
    t2.kill.join
    assert_equal 0, sq.num_waiting
  end

  # upstream: test_queue_pop_timeout, test_sized_queue_pop_timeout
  def test_queue_pop_timeout
    q = TQ.new
    q << 1
    assert_equal 1, q.pop(timeout: 1)
    t1 = Thread.new { q.pop(timeout: 0.1) }
    assert_equal t1, t1.join(5)
    assert_nil t1.value
    assert_nil q.pop(timeout: 0)
  end

  # upstream: test_queue_pop_non_block, test_sized_queue_pop_non_block
  def test_queue_pop_non_block
    e = assert_raises(ThreadError) { TQ.new.pop(true) }
    assert_match(/empty/, e.message)
    assert_raises(Multiproc::EmptyError) { TQ.new.pop(true) } # old rescue clauses
    assert_raises(ArgumentError) { TQ.new.pop(true, timeout: 1) }
  end

  # upstream: test_sized_queue_push_timeout
  def test_sized_queue_push_timeout
    q = TQ.new(maxsize: 1)
    q << 1
    t1 = Thread.new { q.push(2, timeout: 0.1) }
    assert_equal t1, t1.join(5)
    assert_nil t1.value
    assert_equal 1, q.size
  end

  # upstream: test_sized_queue_push_interrupt (a non-blocking push when full)
  def test_sized_queue_push_interrupt
    q = TQ.new(maxsize: 1)
    q.push(1)
    e = assert_raises(ThreadError) { q.push(2, true) }
    assert_match(/full/, e.message)
  end

  # upstream: test_queue_push_return_value, test_queue_clear_return_value,
  # test_sized_queue_push_return_value, test_sized_queue_clear_return_value
  def test_return_values
    [TQ.new, TQ.new(maxsize: 1)].each do |q|
      assert_same q, q.push(1)
      assert_same q, q.clear
      assert q.empty?
    end
  end

  # upstream: test_sized_queue_throttle
  def test_sized_queue_throttle
    q = TQ.new(maxsize: 1)
    i = 0
    consumer = Thread.new do
      while q.pop
        i += 1
        Thread.pass
      end
    end
    producers = 4.times.map { Thread.new { 50.times { q.push(true) } } }
    producers.each(&:join)
    q.push(nil)
    consumer.join
    assert_equal 200, i
  end

  # upstream: test_dup (Thread::Queue: NoMethodError; here TypeError, item 1)
  def test_dup
    assert_raises(TypeError) { TQ.new.dup }
  end

  # upstream: test_close
  def test_close
    [-> { TQ.new }, -> { TQ.new(maxsize: 3) }].each do |qcreate|
      q = qcreate.call
      assert_equal false, q.closed?
      q << :something
      assert_equal q, q.close
      assert q.closed?
      e = assert_raises(ClosedQueueError) { q << :nothing }
      assert_match(/closed/, e.message)
      assert_raises(Multiproc::ClosedError) { q << :nothing } # old rescue clauses
      assert_equal :something, q.pop
      assert_nil q.pop
      assert_nil q.pop
      e = assert_raises(ThreadError) { q.pop(true) }
      assert_match(/queue empty/, e.message)
    end
  end

  # upstream: test_queue_close_wakeup, test_size_queue_close_wakeup
  def test_queue_close_wakeup
    [[-> { TQ.new }, 5, 8], [-> { TQ.new(maxsize: 9) }, 3, 5]].each do |qcreate, num_items, num_threads|
      q = qcreate.call
      threads = num_threads.times.map { Thread.new { q.pop } }
      wait_for_waiters(q, num_threads)
      num_items.times { |i| q << i }
      assert wait_until(10) { q.size.zero? }
      q.close
      expected = [-1] * (num_threads - num_items) + num_items.times.to_a
      assert_equal expected, threads.map { |thr| thr.value || -1 }.sort
    end
  end

  # upstream: test_sized_queue_one_closed_interrupt
  def test_sized_queue_one_closed_interrupt
    q = TQ.new(maxsize: 1)
    q << :one
    t1 = Thread.new do
      Thread.current.report_on_exception = false
      q << :two
    end
    wait_for_waiters(q, 1)
    q.close
    assert_raises(ClosedQueueError) { t1.join }
    assert_equal 1, q.size
    assert_equal :one, q.pop
    assert q.empty?
  end

  # upstream: test_sized_queue_closed_push_non_blocking
  def test_sized_queue_closed_push_non_blocking
    q = TQ.new(maxsize: 7)
    q.close
    e = assert_raises(ClosedQueueError) { q.push(1, true) }
    assert_match(/queue closed/, e.message)
  end

  # upstream: test_one_element_sized_queue
  def test_one_element_sized_queue
    q = TQ.new(maxsize: 1)
    t = Thread.new { q.pop }
    wait_for_waiters(q, 1)
    q.close
    assert_nil t.value
  end

  # upstream: test_close_twice
  def test_close_twice
    q = TQ.new
    q.close
    q.close
    assert q.closed?
  end

  # upstream: test_freeze (Ruby 3.3)
  def test_freeze
    assert_raises(TypeError) { TQ.new.freeze }
  end

  # Not upstream: objects cross processes (the point of this queue).
  def test_objects_from_another_process
    q = TQ.new
    pid = fork do
      q.push({ a: [1, "x"] })
      q.push("bytes")
      q.push(nil)
      exit!(0)
    end
    Process.wait(pid)
    assert_equal [{ a: [1, "x"] }, "bytes", nil], [q.pop, q.pop, q.pop]
  end
end
