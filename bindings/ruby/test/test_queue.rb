# frozen_string_literal: true

require_relative "helper"

Multiproc.register(:produce) do |q, n|
  n.times { |i| q.put("m#{i}") }
end
Multiproc.register(:put_big) { |q, size| q.put("x".b * size) }
Multiproc.main

class TestQueue < Minitest::Test
  include MultiprocTestHelper

  def setup
    @q = Multiproc::Queue.new
  end

  def teardown
    @q.release_handle
  end

  def test_put_get_returns_binary_strings
    @q.put("héllo")
    got = @q.get
    assert_equal "héllo".b, got
    assert_equal Encoding::ASCII_8BIT, got.encoding
    assert_equal 0, @q.size
  end

  def test_objects_round_trip_through_marshal
    @q.put_object({ a: [1, 2.5, "x"] })
    assert_equal({ a: [1, 2.5, "x"] }, @q.get_object)
  end

  def test_non_string_message_is_a_type_error
    assert_raises(TypeError) { @q.put(42) }
  end

  # A blocking get or put first tries without waiting; that try can stop in
  # the middle of a large message (get) or behind another large put. The
  # call must then wait, not raise TimeoutError. The producer is stopped
  # (SIGSTOP) mid-message so that both tries meet it, then continued.
  def test_blocking_calls_wait_through_a_large_message_in_flight
    q = Multiproc::Queue.new(max_bytes: 65_536)
    producer = Multiproc::Process.new(target: :put_big, args: [q, 1 << 20]).start
    # it fills the ring and waits for room (a fixed sleep was too short for a
    # spawned child on a loaded machine)
    deadline = Time.now + 30
    sleep 0.01 until q.full? || Time.now > deadline
    assert q.full?, "the producer never filled the ring"
    ::Process.kill(:STOP, producer.pid)
    small = Thread.new { q.put("after") } # its try meets the large put
    sleep 0.2
    resume = Thread.new { sleep 0.5; ::Process.kill(:CONT, producer.pid) }
    # Usually the large message comes first and the get's try stops in its
    # middle; if the STOP caught the producer between its own try (aborted)
    # and its waiting put, "after" comes first. Either way neither call may
    # raise TimeoutError.
    sizes = [q.get.bytesize, q.get(timeout: 30).bytesize]
    small.join
    assert_equal [5, 1 << 20], sizes.sort
    assert_equal 0, producer.join(30)
    resume.join
  ensure
    ::Process.kill(:CONT, producer.pid) if producer&.alive?
    q&.close
  end

  def test_get_into_a_buffer_leaves_a_longer_message_queued
    buf = "\0".b * 16
    @q.put("hello")
    @q.put("x" * 5000)
    assert_equal 5, @q.get_into(buf)
    assert_equal "hello", buf.byteslice(0, 5)
    assert_equal 16, buf.bytesize
    err = assert_raises(Multiproc::NoSpaceError) { @q.get_into(buf) }
    assert_equal 5000, err.size_needed
    assert_equal "x" * 5000, @q.get(timeout: 1)
    assert_raises(Multiproc::EmptyError) { @q.get_into(buf, timeout: 0) }
    assert_raises(FrozenError) { @q.get_into("frozen") }
  end

  def test_get_into_waits_for_another_process
    Multiproc::Process.new { sleep 0.2; @q.put("late") }.start
    buf = "\0".b * 8
    assert_equal 4, @q.get_into(buf, timeout: 10)
    assert_equal "late", buf.byteslice(0, 4)
  end

  def test_empty_timeout_and_full
    assert_raises(Multiproc::EmptyError) { @q.get_nowait }
    t = elapsed { assert_raises(Multiproc::TimeoutError) { @q.get(timeout: 0.1) } }
    assert_operator t, :>=, 0.09
    small = Multiproc::Queue.new(maxsize: 1)
    small.put("a")
    assert small.full?
    assert_raises(Multiproc::FullError) { small.put_nowait("b") }
    assert_raises(Multiproc::TimeoutError) { small.put("b", timeout: 0.05) }
    small.release_handle
  end

  def test_messages_of_every_size_round_trip
    # Up to 4 KiB a get reads into a buffer on the stack; beyond, the
    # library's buffer (queue_ext.cxx mp_rb_queue_get); the 1 MiB one streams
    # through the 1 MiB ring, so it is put by another thread.
    sizes = [0, 1, 4095, 4096, 4097, 70_000, 1 << 20]
    producer = Thread.new do
      sizes.each { |n| @q.put(Random.bytes(n), timeout: 30) }
      @q.close
    end
    got = @q.each.to_a
    producer.join(30)
    assert_equal sizes, got.map(&:bytesize)
    assert(got.all? { |m| m.encoding == Encoding::ASCII_8BIT })
    big = Multiproc::Queue.new
    big.put("y" * 9000)
    assert_equal "y" * 9000, big.get(timeout: 1)
    assert_raises(Multiproc::TimeoutError) { big.get(timeout: 0.05) }
    big.release_handle
  end

  def test_a_blocked_put_sends_the_bytes_it_was_given
    small = Multiproc::Queue.new(maxsize: 1)
    small.put("first")
    message = "original message, " + "longer than an embedded String" # its own buffer
    putter = Thread.new { small.put(message, timeout: 10) }
    sleep 0.1 until putter.status == "sleep" || !putter.alive?
    message.replace("changed while the put waited" * 100)
    filler = Array.new(100) { "z" * 50 } # would reuse the old bytes' memory
    assert_equal "first", small.get(timeout: 5)
    putter.join(5)
    assert_equal "original message, longer than an embedded String", small.get(timeout: 5)
    assert_equal 100, filler.size
    small.release_handle
  end

  def test_thread_kill_of_blocked_put_is_prompt
    small = Multiproc::Queue.new(maxsize: 1)
    small.put("a")
    assert_thread_kill_prompt { small.put("b") }
    assert_equal 1, small.size, "the killed put must not have queued its message"
    small.release_handle
  end

  def test_error_carries_code_and_name
    err = assert_raises(Multiproc::EmptyError) { @q.get_nowait }
    assert_equal(-4, err.code)
    assert_equal "EEMPTY", err.name
    assert_kind_of Multiproc::Error, err
  end

  def test_close_drains_then_ends_each
    3.times { |i| @q.put("x#{i}") }
    @q.close
    assert_raises(Multiproc::ClosedError) { @q.put("late") }
    assert_equal %w[x0 x1 x2], @q.each.to_a
    assert_raises(Multiproc::ClosedError) { @q.get }
  end

  def test_released_handle_raises_closed_error
    q = Multiproc::Queue.new
    q.release_handle
    q.release_handle
    assert q.released?
    assert_raises(Multiproc::ClosedError) { q.put("x") }
  end

  def test_block_form_releases_the_handle
    kept = Multiproc::Queue.new { |q| q.put("a") && q }
    assert kept.released?
  end

  def test_forked_producer_and_spawned_producer
    Multiproc::Process.new { 100.times { |i| @q.put("f#{i}") } }.start.join
    assert_equal 0, Multiproc::Process.new(target: :produce, args: [@q, 50]).start.join
    got = Array.new(150) { @q.get(timeout: 5) }
    assert_equal (0...100).map { |i| "f#{i}" } + (0...50).map { |i| "m#{i}" }, got
  end

  def test_joinable_queue
    q = Multiproc::Queue.new(joinable: true)
    q.put("a")
    refute q.join(0.05)
    q.get
    q.task_done
    assert q.join(1)
    assert_raises(Multiproc::StateError) { q.task_done }
    q.release_handle
  end

  def test_other_threads_run_while_get_blocks
    blocked = assert_threads_run_while_blocked { @q.get }
    @q.put("wake")
    assert_equal "wake", blocked.value
  end

  def test_timeout_timeout_interrupts_get_promptly
    t = elapsed { assert_raises(Timeout::Error) { Timeout.timeout(0.2) { @q.get } } }
    assert_operator t, :<, 1.5
    @q.put("after")
    assert_equal "after", @q.get(timeout: 1), "the canceled get must not have taken a message"
  end

  def test_thread_kill_of_blocked_get_is_prompt
    assert_thread_kill_prompt { @q.get }
  end

  def test_sigkilled_consumer_leaves_the_queue_usable
    1000.times { |i| @q.put("v#{i}") }
    consumer = Multiproc::Process.new { loop { @q.get } }.start
    sleep 0.05
    consumer.kill
    assert_equal(-9, consumer.join(5))
    @q.put("still works")
    rest = []
    rest << @q.get_nowait while @q.size.positive?
    assert_equal "still works", rest.last
  end
end
