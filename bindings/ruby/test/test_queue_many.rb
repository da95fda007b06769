# frozen_string_literal: true

# Queue#put_many, #get_many and #get_many_into (ext/multiproc/queue_ext.cxx
# mp_rb_queue_put_many / _get_many / _get_many_into): order and bytes
# across processes, batch limits, every error, threads, a SIGKILLed
# producer and GC.stress.

require_relative "helper"

Multiproc.register(:put_many) do |q, messages|
  q.put_many(messages, timeout: 30)
end
Multiproc.main

class TestQueueMany < Minitest::Test
  include MultiprocTestHelper

  # get_many's own buffer (queue_ext.cxx): a first message above it comes alone.
  BATCH_BYTES = 16_384

  def setup
    @q = Multiproc::Queue.new
  end

  def teardown
    @q.release_handle
  end

  # Every way a batch can hold bytes: empty, NULs, invalid UTF-8, sizes
  # around get_many's 16 KiB, above a quarter of a 64 KiB ring (never
  # batched behind another message) and above the whole ring (streamed).
  def mixed_messages
    small = Array.new(40) { |i| Random.bytes(i * 7) }
    ["", "\0", "a\0b\xff\xfe".b, "", *small, "x" * 10_000, Random.bytes(BATCH_BYTES),
     Random.bytes(BATCH_BYTES + 1), "tail", Random.bytes(20_000), "", Random.bytes(40_000),
     Random.bytes(100_000), "end"]
  end

  # Puts messages with put_many from a forked process into a 64 KiB ring
  # (the large ones must wait for the consumer), then closes the queue;
  # yields the queue to drain; returns the producer's exit code.
  def with_forked_producer(messages)
    q = Multiproc::Queue.new(max_bytes: 65_536)
    producer = Multiproc::Process.new do
      q.put_many(messages, timeout: 30)
      q.close
    end.start
    yield q
    producer.join(30)
  ensure
    q&.release_handle
  end

  def test_put_many_then_get_many_across_processes_keeps_order_and_bytes
    messages = mixed_messages
    batches = []
    code = with_forked_producer(messages) do |q|
      loop { batches << q.get_many(8, timeout: 30) }
    rescue Multiproc::ClosedError
      nil
    end
    assert_equal 0, code
    assert_equal messages, batches.flatten
    assert(batches.flatten.all? { |m| m.encoding == Encoding::ASCII_8BIT })
    batches.each do |b|
      assert_operator b.size, :<=, 8
      next if b.size == 1

      assert_operator b.sum(&:bytesize), :<=, BATCH_BYTES, "only a lone first message exceeds 16 KiB"
    end
  end

  def test_put_many_then_get_many_into_across_processes_gives_lengths_and_offsets
    messages = mixed_messages
    batches = []
    buf = "\0".b * 200_000
    code = with_forked_producer(messages) do |q|
      loop do
        offset = 0
        batches << q.get_many_into(buf, 5, timeout: 30).map do |len|
          offset += len
          buf.byteslice(offset - len, len)
        end
      end
    rescue Multiproc::ClosedError
      nil
    end
    assert_equal 0, code
    assert_equal messages, batches.flatten
    assert_equal 200_000, buf.bytesize, "the buffer keeps its size"
    assert batches.all? { |b| b.size <= 5 }
    quarter_ring = 65_536 / 4
    batches.each do |b|
      assert(b.drop(1).none? { |m| m.bytesize > quarter_ring },
             "a message over a quarter of the ring starts a batch")
    end
  end

  def test_put_many_from_a_spawned_child_then_single_gets
    messages = ["", "\0\0", "spawned", "z" * 5000]
    assert_equal 0, Multiproc::Process.new(target: :put_many, args: [@q, messages]).start.join(30)
    assert_equal messages, Array.new(4) { @q.get(timeout: 5) }
    assert_raises(Multiproc::EmptyError) { @q.get_nowait }
  end

  def test_get_many_returns_at_most_max_and_mixes_with_single_put
    @q.put("a")
    assert_same @q, @q.put_many(%w[b c d e f g h])
    @q.put("i")
    @q.put_many([])
    assert_equal 9, @q.size
    assert_equal %w[a b c], @q.get_many(3)
    assert_equal %w[d], @q.get_many(1, timeout: 0)
    assert_equal "e", @q.get
    assert_equal %w[f g h i], @q.get_many(100)
    assert_equal 0, @q.size
    @q.put_many(Array.new(1500, ""))
    assert_equal [1024, 476], [@q.get_many(5000).size, @q.get_many(5000).size], "at most 1024 a call"
  end

  def test_get_many_batches_up_to_16_kib_and_a_larger_first_message_alone
    @q.put_many(Array.new(7) { |i| i.to_s * 5000 })
    assert_equal [3, 3, 1], Array.new(3) { @q.get_many.size }
    big = Random.bytes(BATCH_BYTES + 500)
    @q.put_many([big, "after"])
    assert_equal [big], @q.get_many
    assert_equal ["after"], @q.get_many
  end

  def test_get_many_into_stops_before_a_message_that_does_not_fit
    buf = "\0".b * 10
    @q.put_many(%w[aaaa bbbb cccc] + [""])
    assert_equal [4, 4], @q.get_many_into(buf)
    assert_equal "aaaabbbb", buf.byteslice(0, 8)
    assert_equal [4, 0], @q.get_many_into(buf)
    assert_equal "cccc", buf.byteslice(0, 4)
    assert_equal 10, buf.bytesize
  end

  def test_get_many_into_clears_the_buffers_cached_coderange
    buf = +"\0\0\0\0" # UTF-8
    assert buf.ascii_only? # caches the 7-bit coderange
    @q.put_many(["\xff\xfe".b])
    assert_equal [2], @q.get_many_into(buf)
    refute buf.ascii_only?
    refute buf.valid_encoding?
  end

  def test_get_many_waits_for_the_first_message_of_another_process
    Multiproc::Process.new { sleep 0.2; @q.put_many(%w[x y z]) }.start
    # One put_many publishes its messages at once: the woken get sees all.
    assert_equal %w[x y z], @q.get_many(timeout: 10)
    buf = "\0".b * 8
    Multiproc::Process.new { sleep 0.2; @q.put_many(%w[p q]) }.start
    assert_equal [1, 1], @q.get_many_into(buf, timeout: 10)
    assert_equal "pq", buf.byteslice(0, 2)
  end

  # A producer process puts 50_000 messages with put_many into a 4 KiB
  # ring (it blocks again and again) while this process drains.
  def test_50_000_messages_through_a_small_ring_each_once_in_order
    n = 50_000
    q = Multiproc::Queue.new(max_bytes: 4096)
    producer = Multiproc::Process.new do
      (0...n).each_slice(500) { |s| q.put_many(s.map(&:to_s), timeout: 30) }
    end.start
    got = []
    got.concat(q.get_many(300, timeout: 30)) while got.size < n
    assert_equal 0, producer.join(30)
    assert_equal n, got.size
    assert_equal (0...n).map(&:to_s), got
    assert_raises(Multiproc::EmptyError) { q.get_many(timeout: 0) }
  ensure
    q&.release_handle
  end

  def test_non_string_element_is_a_type_error_and_nothing_is_put
    err = assert_raises(TypeError) { @q.put_many(["a", 1, "b"]) }
    assert_match(/message 1 is a Integer/, err.message)
    assert_raises(TypeError) { @q.put_many(["a", nil]) }
    assert_raises(TypeError) { @q.put_many([:sym]) }
    assert_equal 0, @q.size
  end

  def test_non_array_argument_is_a_type_error
    assert_raises(TypeError) { @q.put_many("abc") }
    assert_raises(TypeError) { @q.put_many(nil) }
    assert_raises(TypeError) { @q.put_many(%w[a b].each) }
    assert_equal 0, @q.size
  end

  def test_full_with_timeout_0_reports_the_prefix_put
    small = Multiproc::Queue.new(maxsize: 5)
    err = assert_raises(Multiproc::FullError) { small.put_many(%w[m0 m1 m2 m3 m4 m5 m6], timeout: 0) }
    assert_equal 5, err.put_count
    assert_equal "EFULL", err.name
    assert_equal %w[m0 m1 m2 m3 m4], small.get_many(100)
    assert_raises(Multiproc::EmptyError) { small.get_nowait }
    small.release_handle

    ring = Multiproc::Queue.new(max_bytes: 4096) # full by bytes, not count
    messages = Array.new(100) { |i| format("%03d", i) * 33 }
    err = assert_raises(Multiproc::FullError) { ring.put_many(messages, timeout: 0) }
    assert_operator err.put_count, :>, 0
    assert_operator err.put_count, :<, 100
    assert_equal messages.first(err.put_count), ring.get_many(1000)
    assert_raises(Multiproc::EmptyError) { ring.get_nowait }
    ring.release_handle
  end

  def test_put_count_across_the_bindings_chunks_of_256
    q = Multiproc::Queue.new(maxsize: 300)
    messages = (0...1000).map(&:to_s)
    err = assert_raises(Multiproc::FullError) { q.put_many(messages, timeout: 0) }
    assert_equal 300, err.put_count
    got = []
    got.concat(q.get_many(1000, timeout: 0)) while q.size.positive?
    assert_equal messages.first(300), got
  ensure
    q&.release_handle
  end

  def test_put_many_times_out_with_the_prefix_put
    small = Multiproc::Queue.new(maxsize: 2)
    err = nil
    t = elapsed { err = assert_raises(Multiproc::TimeoutError) { small.put_many(%w[a b c d], timeout: 0.1) } }
    assert_operator t, :>=, 0.09
    assert_operator t, :<, 5
    assert_equal 2, err.put_count
    assert_equal %w[a b], small.get_many
    small.release_handle
  end

  # A consumer keeps making room: put_many goes on message by message
  # until its one deadline, and then reports a timeout (not "full", what
  # a last try with the time used up would say).
  def test_put_many_deadline_spans_the_whole_call
    small = Multiproc::Queue.new(maxsize: 1)
    consumer = Thread.new do
      got = []
      loop { got << small.get(timeout: 0.3); sleep 0.01 }
    rescue Multiproc::TimeoutError
      got
    end
    messages = (0...1000).map(&:to_s)
    err = nil
    t = elapsed { err = assert_raises(Multiproc::TimeoutError) { small.put_many(messages, timeout: 0.3) } }
    assert_operator t, :>=, 0.29
    assert_operator t, :<, 5
    assert_operator err.put_count, :>, 1
    assert_equal messages.first(err.put_count), consumer.value
    small.release_handle
  end

  def test_closed_queue
    @q.put_many(%w[a b])
    @q.close
    err = assert_raises(Multiproc::ClosedError) { @q.put_many(%w[c d]) }
    assert_equal 0, err.put_count
    assert_equal %w[a b], @q.get_many
    assert_raises(Multiproc::ClosedError) { @q.get_many }
    assert_raises(Multiproc::ClosedError) { @q.get_many(timeout: 0) }
    assert_raises(Multiproc::ClosedError) { @q.get_many_into("\0".b * 8) }
  end

  def test_close_wakes_a_put_many_blocked_on_a_full_queue
    small = Multiproc::Queue.new(maxsize: 2)
    putter = Thread.new do
      Thread.current.report_on_exception = false # the ClosedError is the point
      small.put_many(%w[a b c d])
    end
    assert wait_until(5) { putter.status == "sleep" }
    small.close
    err = assert_raises(Multiproc::ClosedError) { putter.value }
    assert_equal 2, err.put_count
    assert_equal %w[a b], small.get_many
    small.release_handle
  end

  def test_get_many_on_an_empty_queue
    buf = "\0".b * 8
    assert_raises(Multiproc::EmptyError) { @q.get_many(timeout: 0) }
    assert_raises(Multiproc::EmptyError) { @q.get_many_into(buf, timeout: 0) }
    t = elapsed { assert_raises(Multiproc::TimeoutError) { @q.get_many(timeout: 0.1) } }
    assert_operator t, :>=, 0.09
    assert_operator t, :<, 5
    t = elapsed { assert_raises(Multiproc::TimeoutError) { @q.get_many_into(buf, 4, timeout: 0.1) } }
    assert_operator t, :>=, 0.09
    assert_operator t, :<, 5
  end

  def test_get_many_into_a_too_small_buffer_leaves_the_message_queued
    buf = "\0".b * 16
    @q.put_many(["x" * 100, "y"])
    err = assert_raises(Multiproc::NoSpaceError) { @q.get_many_into(buf) }
    assert_equal 100, err.size_needed
    assert_equal 2, @q.size
    assert_equal "x" * 100, @q.get(timeout: 1)
    assert_equal [1], @q.get_many_into(buf)
    assert_equal "y", buf.byteslice(0, 1)
    @q.put("z")
    err = assert_raises(Multiproc::NoSpaceError) { @q.get_many_into(+"") } # no room at all
    assert_equal 1, err.size_needed
    assert_equal ["z"], @q.get_many
  end

  # The first message, streamed through a 64 KiB ring by a producer
  # process, is larger than the buffer: its size is known before any of it
  # is taken, and a get after takes all of it.
  def test_get_many_into_a_too_small_buffer_with_a_streamed_message
    q = Multiproc::Queue.new(max_bytes: 65_536)
    big = Random.bytes(100_000)
    producer = Multiproc::Process.new { q.put_many([big, "next"], timeout: 30) }.start
    err = assert_raises(Multiproc::NoSpaceError) { q.get_many_into("\0".b * 1000, timeout: 10) }
    assert_equal 100_000, err.size_needed
    assert_equal big, q.get(timeout: 10)
    assert_equal ["next"], q.get_many(timeout: 10)
    assert_equal 0, producer.join(10)
  ensure
    q&.release_handle
  end

  def test_each_message_of_a_batch_counts_for_task_done
    q = Multiproc::Queue.new(joinable: true)
    q.put_many(%w[a b c])
    assert_equal %w[a b], q.get_many(2)
    2.times { q.task_done }
    refute q.join(0.05), "c was not got yet"
    assert_equal [1], q.get_many_into("\0".b * 4)
    q.task_done
    assert q.join(1)
    assert_raises(Multiproc::StateError) { q.task_done }
  ensure
    q&.release_handle
  end

  def test_bad_max_and_buffers_take_nothing
    @q.put("kept")
    assert_raises(Multiproc::InvalidArgumentError) { @q.get_many(0) }
    assert_raises(Multiproc::InvalidArgumentError) { @q.get_many(-1) }
    assert_raises(Multiproc::InvalidArgumentError) { @q.get_many_into("\0".b * 8, 0) }
    assert_raises(Multiproc::InvalidArgumentError) { @q.get_many("3") }
    assert_raises(FrozenError) { @q.get_many_into("frozen literal") }
    assert_raises(FrozenError) { @q.get_many_into(("\0".b * 8).freeze, timeout: 0) }
    assert_raises(TypeError) { @q.get_many_into(nil) }
    assert_equal ["kept"], @q.get_many
  end

  def test_other_threads_run_while_get_many_blocks
    blocked = assert_threads_run_while_blocked { @q.get_many }
    @q.put_many(%w[wake up])
    assert_equal %w[wake up], blocked.value
  end

  def test_thread_kill_of_blocked_get_many_is_prompt
    assert_thread_kill_prompt { @q.get_many }
    assert_thread_kill_prompt { @q.get_many_into("\0".b * 8) }
  end

  def test_timeout_timeout_interrupts_get_many_promptly
    t = elapsed { assert_raises(Timeout::Error) { Timeout.timeout(0.2) { @q.get_many } } }
    assert_operator t, :<, 1.5
    t = elapsed { assert_raises(Timeout::Error) { Timeout.timeout(0.2) { @q.get_many_into("\0".b * 8) } } }
    assert_operator t, :<, 1.5
    @q.put("after")
    assert_equal ["after"], @q.get_many(timeout: 1), "the canceled gets must not have taken a message"
  end

  def test_thread_kill_of_blocked_put_many_is_prompt
    small = Multiproc::Queue.new(maxsize: 1)
    small.put("a")
    assert_thread_kill_prompt { small.put_many(%w[b c]) }
    assert_equal ["a"], small.get_many, "the killed put_many must not have queued a message"
    small.release_handle
  end

  # Killed half-way through streaming a message larger than the ring (no
  # consumer): the part already in the ring is withdrawn, the messages
  # before it stay, and the next put_many streams as usual.
  def test_thread_kill_of_put_many_in_the_middle_of_a_streamed_message
    q = Multiproc::Queue.new(max_bytes: 65_536)
    assert_thread_kill_prompt { q.put_many(["a", "b" * 100_000, "c"]) }
    assert_equal ["a"], q.get_many(timeout: 1)
    assert_raises(Multiproc::EmptyError) { q.get_many(timeout: 0) }
    big = Random.bytes(100_000)
    putter = Thread.new { q.put_many(["d", big, "f"], timeout: 10) }
    got = []
    got.concat(q.get_many(timeout: 10)) while got.size < 3
    assert_equal ["d", big, "f"], got
    assert_same q, putter.value
  ensure
    q&.release_handle
  end

  # put_many copies the Array; the Strings not yet put are the ones given
  # at the call even when another thread changes them (and the Array)
  # while put_many waits for room.
  def test_changing_the_array_and_its_strings_while_put_many_waits
    small = Multiproc::Queue.new(maxsize: 1)
    small.put("first")
    originals = Array.new(3) { |i| "message #{i}, longer than an embedded String" }
    strings = originals.map(&:dup)
    strings << +"short"
    originals << "short"
    messages = strings.dup
    putter = Thread.new { small.put_many(messages, timeout: 10) }
    assert wait_until(5) { putter.status == "sleep" }
    strings.each_with_index { |s, i| i.even? ? s.replace("changed #{i}" * 50) : s << "!" }
    messages.clear
    messages.push(1, nil, "other")
    filler = Array.new(100) { "z" * 50 } # would reuse freed bytes
    GC.start
    got = Array.new(5) { small.get(timeout: 5) }
    assert_same small, putter.value
    assert_equal ["first", *originals], got
    assert_equal 100, filler.size
    small.release_handle
  end

  # A producer SIGKILLed in the middle of its put_many loop: the consumer
  # got a prefix of its sequence (no gap, no duplicate) and the queue
  # still works, for batches and single messages.
  def test_sigkilled_producer_leaves_a_prefix_and_a_working_queue
    q = Multiproc::Queue.new(max_bytes: 4096)
    producer = Multiproc::Process.new do
      (0..).each_slice(100) { |s| q.put_many(s.map(&:to_s)) }
    end.start
    got = []
    drainer = Thread.new do
      loop { got.concat(q.get_many(timeout: 0.5)) }
    rescue Multiproc::TimeoutError
      nil
    end
    assert wait_until(20) { got.size >= 5000 }
    producer.kill
    assert_equal(-9, producer.join(5))
    drainer.join(10)
    refute drainer.alive?
    assert_operator got.size, :>=, 5000
    assert_equal (0...got.size).map(&:to_s), got
    q.put_many(%w[still works])
    q.put("too")
    assert_equal %w[still works too], q.get_many(timeout: 1)
  ensure
    q&.release_handle
  end

  # A GC at every allocation inside get_many / get_many_into (their
  # Strings and Arrays are made in C): minor GCs for many rounds, full
  # ones (slow: the whole heap each time) for a few.
  def test_get_many_and_get_many_into_under_gc_stress
    buf = "\0".b * 64
    [[0x01, 300], [true, 15]].each do |stress, rounds| # 0x01: minor GCs only
      rounds.times do |i|
        @q.put_many(["a#{i}", "", "b" * 30])
        got = under_gc_stress(stress) { @q.get_many }
        assert_equal ["a#{i}", "", "b" * 30], got
        @q.put_many(["c#{i}", "d"])
        lens = under_gc_stress(stress) { @q.get_many_into(buf) }
        assert_equal "c#{i}d", buf.byteslice(0, lens.sum)
      end
    end
  end

  # put_many's waits (maxsize 2, a consumer thread making room) copy the
  # Strings not yet put (queue_ext.cxx mp_rb_freeze_rest): a GC at each of those
  # allocations must not lose one.
  def test_a_waiting_put_many_under_gc_stress
    small = Multiproc::Queue.new(maxsize: 2)
    rounds = [[0x01, 40], [true, 10]]
    expected = rounds.flat_map { |_, n| Array.new(n * 5) { |k| "#{k}" + "x" * 30 } }
    consumer = Thread.new { Array.new(expected.size) { small.get(timeout: 10) } }
    rounds.each do |stress, n|
      n.times do |i|
        messages = Array.new(5) { |k| "#{i * 5 + k}" + "x" * 30 }
        under_gc_stress(stress) { small.put_many(messages, timeout: 10) }
      end
    end
    assert_equal expected, consumer.value
  ensure
    small&.release_handle
  end

  def under_gc_stress(stress)
    GC.stress = stress
    yield
  ensure
    GC.stress = false
  end
end
