# frozen_string_literal: true

require_relative "helper"
require "stringio"

Multiproc.main

class ParallelTestError < StandardError; end

# An exception Marshal cannot dump (an IO inside), as the gem's
# spec/cases/parallel_raise_undumpable.rb.
class ParallelUndumpableError < StandardError
  def initialize(message)
    super
    @io = StringIO.new
  end
end

# Multiproc.map / each / map_with_index: blocks in forked workers, ported
# from grosser/parallel's spec/parallel_spec.rb (case files of
# spec/cases/ inlined; upstream names in the comments).
class TestParallel < Minitest::Test
  include MultiprocTestHelper

  # "executes with given parameters" (parallel_map.rb); "is equivalent to
  # serial map"
  def test_map_keeps_order
    assert_equal %w[-a- -b- -c- -d-], Multiproc.map(%w[a b c d], in_processes: 3) { |x| "-#{x}-" }
    items = Array.new(2000) { |i| i }
    assert_equal items.map { |x| x + 1 }, Multiproc.map(items, in_processes: 2) { |x| x + 1 }
    assert_equal [], Multiproc.map([], in_processes: 2) { |x| x }
  end

  # "supports all Enumerable-s" (parallel_map_range.rb); "handles nested
  # arrays and nil correctly"; "can dump/load complex objects"
  def test_map_any_enumerable_and_objects
    assert_equal [1, 2, 3, 4, 5], Multiproc.map(1..5, in_processes: 2) { |x| x }
    assert_equal [nil, [2, 2], [[3], [3]]], Multiproc.map([nil, 2, [3]], in_processes: 2) { |x| x && [x, x] }
    assert_equal [{ t: Time.at(0), r: 1..2 }], Multiproc.map([0], in_processes: 1) { |s| { t: Time.at(s), r: 1..2 } }
  end

  # "yields object and index" (map_with_index.rb, each_with_index.rb)
  def test_with_index
    assert_equal %w[a0 b1], Multiproc.map_with_index(%w[a b], in_processes: 2) { |x, i| "#{x}#{i}" }
    r, w = IO.pipe
    Multiproc.each_with_index(%w[a b], in_processes: 2) { |x, i| w.write("#{x}#{i}\n") }
    w.close
    assert_equal %w[a0 b1], r.read.split.sort
  end

  # "returns original array, works like map" (each.rb); the results do
  # not travel (no Marshal of a Proc result)
  def test_each_returns_input
    items = %w[a b c d]
    assert_same items, Multiproc.each(items, in_processes: 2) { |x| -> { x } }
    range = 1..3
    assert_same range, Multiproc.each(range, in_processes: 2) { |x| x }
  end

  # "raises when one of the processes raises" (parallel_raise.rb): the
  # block's own class, the worker's backtrace
  def test_exception_class_and_backtrace
    error = assert_raises(ParallelTestError) do
      Multiproc.map([1, 2, 3], in_processes: 2) { |x| x == 2 ? raise(ParallelTestError, "TEST") : x }
    end
    assert_equal "TEST", error.message
    assert_match(/test_parallel\.rb:\d+/, error.backtrace.first)
  end

  # "can raise an undumpable exception" (parallel_raise_undumpable.rb):
  # the class exists here, the message and backtrace arrive
  def test_undumpable_and_unknown_exception
    error = assert_raises(ParallelUndumpableError) do
      Multiproc.map([1], in_processes: 1) { raise ParallelUndumpableError, "MyException" }
    end
    assert_equal "MyException", error.message
    assert_match(/test_parallel\.rb:\d+/, error.backtrace.first)
    # a class that exists only in the worker: TaskError names it
    error = assert_raises(Multiproc::TaskError) do
      Multiproc.map([1], in_processes: 1) do
        Object.const_set(:ParallelWorkerOnlyError, Class.new(StandardError))
        raise ParallelWorkerOnlyError, "only here"
      end
    end
    assert_equal "ParallelWorkerOnlyError", error.task_exception
    assert_equal "only here", error.task_message
    assert_kind_of Multiproc::TaskFailedError, error
    refute Object.const_defined?(:ParallelWorkerOnlyError)
  end

  # "does not queue new work when one fails in processes"
  # (with_exception.rb, METHOD=map and each)
  def test_exception_stops_queuing
    %i[map each].each do |method|
      r, w = IO.pipe
      assert_raises(ParallelTestError) do
        Multiproc.public_send(method, 1..100, in_processes: 4) do |x|
          sleep 0.1
          w.write("#{x} ")
          raise ParallelTestError, "foo" if x == 1

          sleep 0.2
        end
      end
      w.close
      ran = r.read.split.size
      assert_operator ran, :<=, 8, "#{method}: items kept starting after the failure"
    end
  end

  # "does not queue new work when one raises Break in processes", "can
  # return from break with processes" (with_break.rb)
  def test_break
    [[], ["hi"]].each do |value|
      r, w = IO.pipe
      result = Multiproc.map(1..10, in_processes: 4) do |x|
        sleep 0.1
        w.write("#{x} ")
        raise Multiproc::Break.new(*value) if x == 1

        sleep 0.2
        x
      end
      w.close
      value.empty? ? assert_nil(result) : assert_equal(value.first, result)
      assert_operator r.read.split.size, :<=, 8
    end
  end

  # "does not call the finish hook when a worker raises Break"
  # (with_break_before_finish.rb): the running items finish, with hooks
  def test_break_finishes_running_items
    finished = []
    Multiproc.each(1..10, in_processes: 4, finish: ->(x, _i, _r) { finished << x }) do |x|
      sleep 0.1
      raise Multiproc::Break if x == 1

      sleep 0.2
      x
    end
    refute_includes finished, 1
    assert_operator finished.size, :>=, 1
    assert_operator finished.size, :<=, 7
  end

  # "Parallel::Kill" (parallel_kill.rb): the other workers die at once
  def test_kill
    result = nil
    t = elapsed do
      result = Multiproc.map([1, 2, 3], in_processes: 3) do |x|
        case x
        when 1
          sleep 0.1
          raise Multiproc::Kill, :killed
        when 3 then sleep 10
        else x
        end
      end
    end
    assert_equal :killed, result
    assert_operator t, :<, 5
  end

  # "sets Parallel.worker_number with 4 processes" (with_worker_number.rb);
  # "sets Parallel.worker_number with 0 processes"
  def test_worker_number
    numbers = Multiproc.map(1..20, in_processes: 4) do
      sleep 0.02
      Multiproc.worker_number
    end
    assert_equal [0, 1, 2, 3], numbers.uniq.sort
    assert_equal [0], Multiproc.map(1..9, in_processes: 0) { Multiproc.worker_number }.uniq
    assert_nil Multiproc.worker_number
  end

  # "can run with 0 by not using processes"; "does not dump/load when
  # running with 0"
  def test_zero_processes_inline
    pid = Process.pid
    assert_equal [pid, pid], Multiproc.map([1, 2], in_processes: 0) { Process.pid }
    p = -> { 1 }
    assert_equal 1, Multiproc.map([1, 2], in_processes: 0) { p }.first.call
    assert_raises(ParallelTestError) { Multiproc.map([1], in_processes: 0) { raise ParallelTestError } }
    assert_equal 5, Multiproc.map([1], in_processes: 0) { raise Multiproc::Break, 5 }
  end

  # "notifies when an item of work is dispatched / completed to 0 and 3
  # workers" (start/finish hooks, in this process)
  def test_start_and_finish_hooks
    [0, 3].each do |count|
      calls = []
      Multiproc.map(%i[first second third], in_processes: count,
                                            start: ->(item, i) { calls << [:start, item, i, Process.pid] },
                                            finish: ->(item, i, r) { calls << [:finish, item, i, r, Process.pid] }) { 123 }
      assert_equal [[:start, :first, 0], [:start, :second, 1], [:start, :third, 2]],
                   calls.select { |c| c[0] == :start }.map { |c| c[0, 3] }.sort_by { |c| c[2] }
      assert_equal [[:finish, :first, 0, 123], [:finish, :second, 1, 123], [:finish, :third, 2, 123]],
                   calls.select { |c| c[0] == :finish }.map { |c| c[0, 4] }.sort_by { |c| c[2] }
      assert_equal [Process.pid], calls.map(&:last).uniq
      # each passes the result to :finish too
      got = []
      Multiproc.each(%i[a b], in_processes: count, finish: ->(_x, _i, r) { got << r }) { 7 }
      assert_equal [7, 7], got
    end
    assert_empty Multiproc::BlockMap.open_ios, "the start hooks' pipes are forgotten"
  end

  # "stops all workers when a start hook fails" (with_exception_in_start.rb):
  # the item whose start hook raised never runs
  def test_start_hook_failure
    r, w = IO.pipe
    started = 0
    start = lambda do |_item, _index|
      started += 1
      raise ParallelTestError if started == 4
    end
    assert_raises(ParallelTestError) do
      Multiproc.each(1..10, in_processes: 4, start: start) do |x|
        w.write("#{x} ")
        sleep 0.2
      end
    end
    w.close
    assert_equal 3, r.read.split.size
  end

  # "does not add new work when a finish hook fails"
  # (with_exception_in_finish.rb)
  def test_finish_hook_failure
    finish = ->(_x, _i, _r) { raise ParallelTestError }
    ran = Multiproc::Value.new(:int64)
    assert_raises(ParallelTestError) do
      Multiproc.map(1..100, in_processes: 4, finish: finish) do |x|
        ran.add(1)
        sleep 0.1
        x
      end
    end
    assert_operator ran.value, :<=, 12
  end

  # "can call finish hook in order processes" (finish_in_order.rb)
  def test_finish_in_order
    seen = []
    Multiproc.map([nil, false, 2, 3, 4], in_processes: 4, finish_in_order: true,
                                          finish: ->(item, i, r) { seen << [item, i, r] }) do |item|
      sleep rand * 0.05
      item.is_a?(Numeric) ? "F#{item}" : item
    end
    assert_equal [[nil, 0, nil], [false, 1, false], [2, 2, "F2"], [3, 3, "F3"], [4, 4, "F4"]], seen
  end

  # "spits out a useful error when a worker dies before read / write"
  # (map_with_killed_worker_before_*.rb), "raises DeadWorker when using
  # exit" (exit_in_process.rb). Unlike the gem, only the dead worker's
  # item fails: the others run on a replacement worker.
  def test_dead_worker_fails_only_its_item
    error = assert_raises(Multiproc::DeadWorker) do
      Multiproc.map(1..6, in_processes: 2) do |x|
        Process.kill(:KILL, Process.pid) if x == 3
        x * 10
      end
    end
    assert_equal 2, error.index
    assert_equal 3, error.item
    assert_equal [2], error.failed
    assert_equal Signal.list["KILL"], error.status.termsig
    assert_equal [10, 20, nil, 40, 50, 60], error.results
    assert_kind_of Multiproc::WorkerDiedError, error
    assert_match(/item 2 .*died.*SIGKILL|item 2 .*died.*signal KILL/, error.message)

    error = assert_raises(Multiproc::DeadWorker) { Multiproc.map([1], in_processes: 1) { exit } }
    assert_equal [0], error.failed
    error = assert_raises(Multiproc::DeadWorker) { Multiproc.each([1, 2], in_processes: 1) { |x| exit!(3) if x == 1 } }
    assert_equal 3, error.status.exitstatus
    assert_equal [0], error.failed
  end

  # "progress: takes the title from :progress", "takes true from
  # :progress", "works with :finish" (progress.rb, progress_with_finish.rb)
  def test_progress
    code = <<~RUBY
      require "multiproc"
      Multiproc.map(1..10, in_processes: 2, progress: "Doing stuff") { |x| x }
      sum = 0
      Multiproc.map(1..10, in_processes: 2, progress: true, finish: ->(_x, _i, r) { sum += r }) { |x| x }
      puts sum
    RUBY
    out = run_ruby_script(code, timeout: 60)
    assert_equal 0, out.exitcode, out.stderr
    lines = out.stdout.gsub(/=+/, "==").split("\n").map(&:strip).reject(&:empty?)
    assert_equal ["Doing stuff: |==|", "Progress: |==|", "55"], lines
  end

  # progress: without ruby-progressbar: a LoadError that says what to install
  def test_progress_without_the_gem
    code = <<~RUBY
      require "multiproc"
      Object.prepend(Module.new do
        def require(name)
          name == "ruby-progressbar" ? raise(LoadError, "cannot load such file -- ruby-progressbar") : super
        end
      end)
      begin
        Multiproc.map([1], in_processes: 1, progress: "x") { |x| x }
      rescue LoadError => e
        puts e.message
      end
    RUBY
    out = run_ruby_script(code, timeout: 60)
    assert_match(/progress: needs the ruby-progressbar gem/, out.stdout, out.stderr)
  end

  # "processes can be killed instantly": a thread in map killed, or a
  # Timeout, ends the workers at once
  def test_parent_interrupted_kills_workers
    r, w = IO.pipe
    th = Thread.new { Multiproc.map([1, 2], in_processes: 2) { w.puts(Process.pid); sleep 30 } }
    pids = [r.gets.to_i, r.gets.to_i]
    th.kill
    th.join(10)
    refute th.alive?
    assert(wait_until(30) { pids.all? { |pid| gone?(pid) } }, "workers still run")
    t = elapsed do
      assert_raises(Timeout::Error) { Timeout.timeout(0.5) { Multiproc.each([1, 2], in_processes: 2) { sleep 30 } } }
    end
    assert_operator t, :<, 5
  end

  # A result Marshal cannot dump fails its item with TypeError; a large
  # result (more than the queue's 1 MiB ring) arrives whole.
  def test_result_marshal
    assert_raises(TypeError) { Multiproc.map([1], in_processes: 1) { -> {} } }
    big = Multiproc.map([3 << 20, 5], in_processes: 2) { |n| "x" * n }
    assert_equal [3 << 20, 5], big.map(&:bytesize)
  end

  # nested calls: a block that maps in its own workers
  def test_nested
    result = Multiproc.map([1, 2], in_processes: 2) do |x|
      outer = Multiproc.worker_number
      inner = Multiproc.map([x, x + 10], in_processes: 2) { |y| [y * 2, [0, 1].include?(Multiproc.worker_number)] }
      [inner, [0, 1].include?(outer) && outer == Multiproc.worker_number]
    end
    assert_equal [[[[2, true], [22, true]], true], [[[4, true], [24, true]], true]], result
  end

  # "enforces only one worker type"; lambdas and queues (the gem's
  # producers) are refused: the workers are forked with the items
  def test_refused_arguments
    assert_raises(ArgumentError) { Multiproc.map([1], in_threads: 2) { |x| x } }
    assert_raises(ArgumentError) { Multiproc.map(-> { 1 }) { |x| x } }
    assert_raises(ArgumentError) { Multiproc.map([1]) }
    assert_raises(ArgumentError) { Multiproc.map([1], colour: 1) { |x| x } }
  end
end
