# frozen_string_literal: true

require_relative "helper"

# A String subclass, defined before Multiproc.main so the workers know it.
class PoolTestString < String; end

Multiproc.task(:square) { |x| x * x }
Multiproc.task(:echo) { |x| x }
Multiproc.task(:add) { |a, b| a + b }
Multiproc.task(:pid) { |_| Process.pid }
Multiproc.task(:fail) { |x| raise ArgumentError, "bad input #{x}" }
Multiproc.task(:die) { |_| Process.kill(:KILL, Process.pid) }
Multiproc.task(:sleep) { |s| sleep s }
Multiproc.task(:init) { |v| $init_value = v } # rubocop:disable Style/GlobalVars
Multiproc.task(:read_init) { |_| $init_value } # rubocop:disable Style/GlobalVars
Multiproc.main

class TestPool < Minitest::Test
  include MultiprocTestHelper

  def setup
    @pool = Multiproc::Pool.new(2)
  end

  def teardown
    @pool.terminate
  end

  def test_map_imap_apply
    assert_equal (1..10).map { |x| x * x }, @pool.map(:square, 1..10)
    assert_equal [1, 4, 9], @pool.map(:square, [1, 2, 3], chunksize: 1)
    assert_equal [], @pool.map(:square, [])
    imap = @pool.imap(:square, [1, 2, 3])
    assert_kind_of Enumerator, imap
    assert_equal [1, 4, 9], imap.to_a
    assert_equal [1, 4, 9], @pool.imap_unordered(:square, [1, 2, 3]).to_a.sort
    assert_equal 5, @pool.apply(:add, 2, 3)
    assert_equal [3, 7], @pool.starmap(:add, [[1, 2], [3, 4]])
  end

  def test_strings_keep_their_encoding_and_objects_go_through_marshal
    items = ["é", "\xff".b, "ascii".encode("US-ASCII"), "sjis".encode("Shift_JIS"), [1, "x"], nil, { k: 1.5 }]
    got = @pool.map(:echo, items)
    assert_equal items, got
    assert_equal items.map { |i| i.is_a?(String) ? i.encoding : nil }, got.map { |i| i.is_a?(String) ? i.encoding : nil }
    assert_equal "*x", @pool.apply(:add, "*", "x"), "a leading '*' of a String is not a tag"
  end

  # Decoding results in C keeps every String it hands to Marshal alive: with
  # a GC at every allocation, a Marshal source freed too early read as
  # "marshal data too short" (or a terminated object).
  def test_results_decode_under_gc_stress
    items = ["sjis".encode("Shift_JIS"), [1, "x"], { k: 1.5 }, :sym]
    GC.stress = true
    got = @pool.map(:echo, items)
    pairs = @pool.starmap(:add, [[1, 2], %w[a b]])
    GC.stress = false
    assert_equal items, got
    assert_equal [3, "ab"], pairs
  ensure
    GC.stress = false
  end

  def test_codec_edge_cases
    # String subclasses and Strings in other encodings go through Marshal,
    # keeping their class; a leading "u", "b" or "a" is data, not a tag.
    items = [PoolTestString.new("s"), "u", "b".b, "", "\x04\b".b, 1 << 70, :sym]
    got = @pool.map(:echo, items, chunksize: 1)
    assert_equal items, got
    assert_instance_of PoolTestString, got[0]
    assert_equal items, @pool.imap(:echo, items).to_a
    assert_equal ["u"], Multiproc::Codec.load(Multiproc::Codec.dump(["u"]))
  end

  def test_an_item_marshal_cannot_dump_raises_before_anything_runs
    err = assert_raises(TypeError) { @pool.map(:echo, [1, -> {}]) }
    assert_match(/Proc/, err.message)
    assert_equal 0, @pool.stats[:submitted]
    assert_equal [2], @pool.map(:echo, [2]), "the pool goes on"
  end

  def test_tasks_run_in_worker_processes
    pids = @pool.map(:pid, 1..20, chunksize: 1)
    refute_includes pids, Process.pid
  end

  def test_apply_async_with_callbacks
    got = Queue.new
    r = @pool.apply_async(:square, 6, callback: ->(v) { got << [:ok, v, Thread.current == Thread.main] })
    e = @pool.apply_async(:fail, 1, error_callback: ->(err) { got << [:err, err.class] })
    assert_equal 36, r.get(10)
    assert r.ready?
    assert r.successful?
    assert_raises(Multiproc::TaskFailedError) { e.get(10) }
    @pool.close
    @pool.join
    results = [got.pop, got.pop].sort_by(&:first)
    assert_equal [[:err, ArgumentError], [:ok, 36, false]], results # the task's own class
  end

  def test_map_async_callback
    got = Queue.new
    @pool.map_async(:square, [1, 2], callback: ->(v) { got << v })
    assert_equal [1, 4], got.pop
  end

  # Defect 4 of issue 20: the callback runs before get/wait/ready? report
  # the result finished, as Python runs it before setting the event.
  def test_callback_runs_before_get_and_wait
    seen = []
    (1..5).each do |run|
      r = @pool.apply_async(:square, run, callback: lambda { |_v|
        sleep 0.02
        seen << [:ok, run]
      })
      assert_equal run * run, r.get(60)
      assert_equal [:ok, run], seen.last, "run #{run}: get returned before the callback ran"
      e = @pool.apply_async(:fail, run, error_callback: lambda { |_err|
        sleep 0.02
        seen << [:err, run]
      })
      assert e.wait(60)
      assert_equal [:err, run], seen.last, "run #{run}: wait returned before the error callback ran"
      m = @pool.map_async(:square, [1, 2, 3], callback: lambda { |_v|
        sleep 0.02
        seen << [:map, run]
      })
      Thread.pass until m.ready?
      assert_equal [:map, run], seen.last, "run #{run}: ready? before the map callback ran"
    end
  end

  def test_task_failure_carries_the_exception_message
    err = assert_raises(Multiproc::TaskFailedError) { @pool.apply(:fail, 3) }
    assert_instance_of ArgumentError, err # re-raised as the task's own class
    assert_equal "bad input 3", err.message
    assert_equal ["fail", "bad input 3", "ArgumentError"], [err.task_name, err.task_message, err.task_exception]
    assert_raises(Multiproc::TaskFailedError) { @pool.map(:fail, [1]) }
    assert_raises(Multiproc::TaskFailedError) { @pool.imap(:fail, [1]).to_a }
  end

  def test_a_block_is_refused_with_an_explanation
    err = assert_raises(ArgumentError) { @pool.map([1, 2]) { |x| x } }
    assert_match(/cannot cross exec.*Multiproc.task/m, err.message)
  end

  def test_sigkilled_worker_fails_only_its_task
    err = assert_raises(Multiproc::WorkerDiedError) { @pool.apply(:die, nil) }
    assert_equal(-11, err.code)
    assert_equal [1, 4, 9], @pool.map(:square, [1, 2, 3]), "the pool goes on with a new worker"
    assert_operator @pool.stats[:workers_replaced], :>=, 1
  end

  def test_close_join_and_misuse
    @pool.close
    assert_raises(Multiproc::StateError) { @pool.apply(:square, 1) }
    assert @pool.join(10)
  end

  def test_join_before_close_is_a_state_error
    assert_raises(Multiproc::StateError) { @pool.join }
  end

  def test_get_timeout_and_thread_kill
    r = @pool.apply_async(:sleep, 5)
    assert_raises(Multiproc::TimeoutError) { r.get(0.05) }
    refute r.wait(0.01)
    assert_thread_kill_prompt { r.get }
  end

  # A worker's exit (SIGCHLD, which Ruby traps) woke terminate's wait and
  # was reported as a cancellation: terminate raised CanceledError on an
  # idle pool, and Pool.new's block form raised that instead of the
  # block's own exception. Run in a fresh process: with minitest's threads
  # about, Ruby handles the signal elsewhere and the wake-up is rare.
  SIGCHLD_SCRIPT = <<~RUBY
    require "multiproc"
    Multiproc.task(:square) { |x| x * x }
    Multiproc.main
    20.times do
      pool = Multiproc::Pool.new(2)
      puts "terminate: \#{pool.terminate.inspect}"
    rescue Exception => e
      puts "terminate: \#{e.class}: \#{e.message}"
    end
    20.times do
      Multiproc::Pool.new(2) do |p|
        p.map(:square, [1, 2])
        raise "mine"
      end
    rescue Exception => e
      puts "block: \#{e.class}: \#{e.message}"
    end
  RUBY

  def test_terminate_never_raises_and_the_blocks_exception_wins
    result = run_ruby_script(SIGCHLD_SCRIPT)
    assert_equal 0, result.exitcode, result.stderr
    lines = result.stdout.lines.map(&:chomp).tally
    assert_equal({ "terminate: nil" => 20, "block: RuntimeError: mine" => 20 }, lines)
  end

  def test_a_cleanup_error_never_replaces_the_blocks_exception
    err = assert_raises(RuntimeError) do
      Multiproc::Pool.new(1) do |p|
        p.define_singleton_method(:terminate) { raise Multiproc::CanceledError, "cleanup" }
        raise "mine"
      end
    end
    assert_equal "mine", err.message
  end

  # An imap Enumerator holds one run of results: a second pass raises
  # StateError saying so (it read "InvalidArgumentError ... not a live
  # handle"), also after a partial pass.
  def test_a_second_pass_over_imap_raises_a_clear_error
    imap = @pool.imap(:square, [1, 2, 3])
    assert_equal [1, 4, 9], imap.to_a
    err = assert_raises(Multiproc::StateError) { imap.to_a }
    assert_match(/imap square: the results were already consumed/, err.message)
    partial = @pool.imap(:square, [1, 2, 3])
    assert_equal [1], partial.first(1)
    assert_raises(Multiproc::StateError) { partial.each { nil } }
    assert_equal [4], @pool.map(:square, [2]), "the pool goes on"
  end

  def test_block_form_and_initializer
    value = Multiproc::Pool.new(1, initializer: :init, initargs: [42]) { |p| p.apply(:read_init, nil) }
    assert_equal 42, value
  end
end
