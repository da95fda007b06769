# frozen_string_literal: true

require_relative "helper"
require "tmpdir"

Multiproc.register(:report) { |q| q.put("#{Multiproc.current_name} child=#{Multiproc.child?}") }
Multiproc.register(:exit_with) { |code| exit code }
Multiproc.register(:fail) { raise "boom" }
Multiproc.register(:sleep) { sleep 30 }
Multiproc.register(:ready_then_sleep) do |q|
  q.put("up")
  sleep 30
end
Multiproc.main

class TestProcess < Minitest::Test
  include MultiprocTestHelper

  def test_fork_block_exit_codes
    assert_equal 0, Multiproc::Process.new { 1 + 1 }.start.join
    assert_equal 3, Multiproc::Process.new { exit 3 }.start.join
    assert_equal 4, Multiproc::Process.new(args: [4]) { |n| exit n }.start.join
    err = capture_subprocess_io do
      assert_equal 1, Multiproc::Process.new { raise "boom" }.start.join
    end
    assert_match(/RuntimeError: boom/, err.join)
  end

  def test_fork_child_sees_its_name
    q = Multiproc::Queue.new
    pr = Multiproc::Process.new(name: "worker-a") { q.put(Multiproc.current_name) }
    assert_equal "worker-a", pr.name
    pr.start.join
    assert_equal "worker-a", q.get(timeout: 5)
    assert_equal "MainProcess", Multiproc.current_name
  end

  def test_join_timeout_alive_terminate_kill
    pr = Multiproc::Process.new { sleep 30 }.start
    assert_nil pr.join(0.1)
    assert pr.alive?
    assert_nil pr.exitcode
    assert_operator pr.pid, :>, 0
    pr.terminate
    assert_equal(-15, pr.join(5))
    refute pr.alive?
    pr2 = Multiproc::Process.new { sleep 30 }.start
    pr2.kill
    assert_equal(-9, pr2.join(5))
  end

  # Python's `class X(Process)` overriding run().
  class Counter < Multiproc::Process
    attr_reader :ticks

    def initialize(queue)
      super(name: "counter")
      @queue = queue
      @ticks = 0
    end

    def run
      3.times { @ticks += 1 }
      @queue.put("#{Multiproc.current_name} #{@ticks}")
      exit @ticks
    end
  end

  def test_subclass_run_runs_in_a_forked_child
    q = Multiproc::Queue.new
    counter = Counter.new(q)
    assert_equal 3, counter.start.join(10)
    assert_equal "counter 3", q.get(timeout: 5)
    assert_equal 0, counter.ticks # run changed the child's copy only
  end

  def test_misuse_is_an_error
    assert_raises(ArgumentError) { Multiproc::Process.new }
    assert_raises(ArgumentError) { Multiproc::Process.new(target: :report) { 1 } }
    pr = Multiproc::Process.new { 1 }
    assert_raises(Multiproc::StateError) { pr.join }
    pr.start
    assert_raises(Multiproc::StateError) { pr.start }
    pr.join
  end

  def test_spawned_target_with_a_queue_argument
    q = Multiproc::Queue.new
    pr = Multiproc::Process.new(target: :report, args: [q], name: "spawned-1").start
    assert_equal 0, pr.join(10)
    assert_equal "spawned-1 child=true", q.get(timeout: 1)
  end

  def test_terminate_ends_a_spawned_target_with_minus_15
    q = Multiproc::Queue.new
    _out, err = capture_subprocess_io do
      pr = Multiproc::Process.new(target: :ready_then_sleep, args: [q]).start
      assert_equal "up", q.get(timeout: 10) # the target runs
      pr.terminate
      assert_equal(-15, pr.join(10))
    end
    refute_match(/SignalException/, err)
  end

  def test_spawned_target_exit_codes
    assert_equal 7, Multiproc::Process.new(target: :exit_with, args: [7]).start.join(10)
    _out, err = capture_subprocess_io do
      assert_equal 1, Multiproc::Process.new(target: :fail).start.join(10)
    end
    assert_match(/boom/, err)
  end

  def test_unregistered_target_is_not_found
    assert_raises(Multiproc::NotFoundError) { Multiproc::Process.new(target: :nope).start }
  end

  def test_thread_kill_of_blocked_join_is_prompt
    pr = Multiproc::Process.new(target: :sleep).start
    assert_thread_kill_prompt { pr.join }
    pr.kill
    assert_equal(-9, pr.join(5))
  end

  def test_daemon_dies_when_its_parent_is_sigkilled
    q = Multiproc::Queue.new
    parent = Multiproc::Process.new do
      Multiproc::Process.new(daemon: true) { sleep 30 }.tap do |d|
        d.start
        q.put(d.pid.to_s)
      end
      sleep 30
    end.start
    daemon_pid = Integer(q.get(timeout: 5))
    refute gone?(daemon_pid)
    parent.kill
    parent.join(5)
    assert wait_until(5) { gone?(daemon_pid) }, "the daemon outlived its SIGKILLed parent"
  end
end

class TestCommand < Minitest::Test
  include MultiprocTestHelper

  def test_run_captures_output_and_exit_code
    r = Multiproc.run(["sh", "-c", "echo out; echo err >&2; exit 3"])
    assert_equal 3, r.exitcode
    assert_equal "out\n", r.stdout
    assert_equal "err\n", r.stderr
    refute r.success?
  end

  def test_run_with_input_env_and_check
    r = Multiproc.run(%w[sh -c] + ['cat; echo "$GREETING"'], input: "in\n", env: { "GREETING" => "hi" })
    assert_equal "in\nhi\n", r.stdout
    err = assert_raises(Multiproc::CalledProcessError) { Multiproc.run(%w[false], check: true) }
    assert_equal 1, err.exitcode
    assert_equal "x\n", Multiproc.check_output("echo", "x")
  end

  # run/call/check_output free the child's handle (its pidfd among others)
  # when they return, not when the GC runs the finalizer: 300 commands with
  # the GC off leave no descriptor behind (before: one per command).
  # Python's CalledProcessError, and the C library's MP_ECALLEDPROCESS code.
  def test_called_process_error_carries_status_and_output
    err = assert_raises(Multiproc::CalledProcessError) do
      Multiproc.run(["sh", "-c", "echo out; echo err >&2; exit 3"], check: true)
    end
    assert_equal [3, 3, "out\n", "err\n"], [err.exitcode, err.exitstatus, err.stdout, err.stderr]
    assert_kind_of Multiproc::Error, err
    assert_equal "ECALLEDPROCESS", err.name
    assert_equal Multiproc::Native::MP_ECALLEDPROCESS, err.code
  end

  # Issue 20, defect 5: a NUL would cut the C string short (A=b instead of
  # A=b\0c); it is refused, naming the variable.
  def test_nul_in_environment_or_arguments_is_refused
    [{ "A" => "b\0c" }, { "A\0B" => "x" }].each do |env|
      err = assert_raises(ArgumentError) { Multiproc.run(%w[true], env: env) }
      assert_match(/A/, err.message)
      assert_match(/NUL/, err.message)
    end
    assert_raises(ArgumentError) { Multiproc.run(["echo", "a\0b"]) }
    assert_raises(ArgumentError) { Multiproc.run(%w[pwd], cwd: "/tmp\0x") }
    assert_raises(Multiproc::InvalidArgumentError) { Multiproc.run(%w[true], env: { "A=B" => "x" }) }
  end

  # Go's ErrDot: a program found only through a relative PATH entry is
  # refused unless allowed; the entry is taken in cwd.
  def test_relative_path_entries_need_allow_relative_path
    Dir.mktmpdir do |dir|
      File.write(File.join(dir, "mp-rb-dot"), "#!/bin/sh\necho dot\n")
      File.chmod(0o755, File.join(dir, "mp-rb-dot"))
      err = assert_raises(Multiproc::PermissionError) do
        Multiproc.run(["mp-rb-dot"], env: { "PATH" => "." }, cwd: dir)
      end
      assert_match(/relative to the current directory/, err.message)
      r = Multiproc.run(["mp-rb-dot"], env: { "PATH" => "." }, cwd: dir, allow_relative_path: true)
      assert_equal "dot\n", r.stdout
    end
  end

  # Python's start_new_session=True (setsid) and process_group=0 (new_group).
  def test_new_session_and_new_group
    ids = lambda do |**opts|
      out = Multiproc.check_output("sh", "-c", "read -r line < /proc/$$/stat; echo $line", **opts)
      out.split.values_at(0, 4, 5).map(&:to_i) # pid, pgrp, session
    end
    pid, pgrp, sid = ids.call(new_session: true)
    assert_equal [pid, pid], [pgrp, sid]
    pid, pgrp, sid = ids.call(new_group: true)
    assert_equal pid, pgrp
    assert_equal Process.getsid, sid
  end

  # Issue 20, defect 3 (os/exec TestClosePipeOnCopyError): a child writing
  # to a pipe the parent stopped reading must not block forever. Closing
  # the stream gives it SIGPIPE; spawn's block closes every pipe before it
  # waits, as Python's `with Popen(...)` does.
  def test_closing_stdout_ends_a_blocked_writer
    child = Multiproc::Command.new("yes", stdout: :pipe).spawn
    assert_equal "y\n", child.stdout.gets
    child.stdout.close
    assert_equal(-13, child.join(10))
    assert_nil child.stdout.readpartial
    th = Thread.new { Multiproc::Command.new("yes", stdout: :pipe).spawn { |c| c.stdout.gets } }
    assert th.join(10), "spawn's block returned but the wait hung on a writer nobody reads"
    assert_equal "y\n", th.value
  ensure
    if th&.alive?
      th.kill
      th.join
    end
  end

  def test_run_frees_the_child_at_once
    Multiproc.call(["true"]) # the library's own descriptors
    before = settled_fd_count(nil)
    GC.disable
    300.times { assert_equal 0, Multiproc.call(["true"]) }
    assert_equal "hi\n", Multiproc.check_output("echo", "hi")
    assert_raises(Multiproc::TimeoutError) { Multiproc.run(%w[sleep 10], timeout: 0.1) }
    after = settled_fd_count(before + 2)
    assert_operator after, :<=, before + 2, "#{before} descriptors before 302 commands, #{after} after"
  ensure
    GC.enable
  end

  # Open descriptors, waiting up to 2 s for at most `limit` (the runtime
  # thread closes a reaped child's watch a moment after the reap).
  def settled_fd_count(limit)
    deadline = Process.clock_gettime(Process::CLOCK_MONOTONIC) + 2
    loop do
      n = Dir.children("/proc/self/fd").size
      return n if limit.nil? || n <= limit || Process.clock_gettime(Process::CLOCK_MONOTONIC) > deadline

      sleep 0.01
    end
  end

  def test_run_timeout_kills_promptly
    t = elapsed { assert_raises(Multiproc::TimeoutError) { Multiproc.run(%w[sleep 10], timeout: 0.2) } }
    assert_operator t, :<, 3
  end

  def test_missing_program_is_not_found
    assert_raises(Multiproc::NotFoundError) { Multiproc.run(["/no/such/program"]) }
  end

  def test_communicate
    child = Multiproc::Command.new("sort", stdin: :pipe, stdout: :pipe, stderr: :pipe).spawn
    out, err = child.communicate("pear\napple\n")
    assert_equal ["apple\npear\n", ""], [out, err]
    assert_equal 0, child.exitcode
  end

  def test_io_like_stdio
    Multiproc::Command.new("cat", stdin: :pipe, stdout: :pipe).spawn do |child|
      child.stdin.puts "line 1"
      child.stdin.print "line 2\n"
      child.stdin.close
      assert_equal ["line 1\n", "line 2\n"], child.stdout.each_line.to_a
    end
  end

  def test_sigkill_of_a_command
    child = Multiproc::Command.new("sleep", "30").spawn
    assert child.alive?
    child.kill
    assert_equal(-9, child.join(5))
    child.kill # a no-op once ended
  end

  def test_stop_terminates
    child = Multiproc::Command.new("sleep", "30").spawn
    assert_equal(-15, child.stop(grace: 1))
  end

  def test_thread_kill_of_blocked_command_join_is_prompt
    child = Multiproc::Command.new("sleep", "30").spawn
    assert_thread_kill_prompt { child.join }
    child.kill
    child.join
  end

  # --- Timeout.timeout and Thread#kill around a running command ---------
  #
  # Timeout unwinds with throw and Thread#kill runs only ensure blocks: a
  # cleanup in `rescue` never ran, so the child kept running (and
  # spawn { join }'s ensure then waited for it). The child must be killed
  # and reaped before the call unwinds.

  # How each call runs `sleep 30 <marker>`-like argv.
  INTERRUPTED_CALLS = {
    "Multiproc.run" => ->(argv) { Multiproc.run(argv) },
    "Command#run" => ->(argv) { Multiproc::Command.new(*argv).run },
    "Command#spawn { join }" => ->(argv) { Multiproc::Command.new(*argv).spawn(&:join) }
  }.freeze

  def test_timeout_kills_and_reaps_the_child
    INTERRUPTED_CALLS.each do |what, call|
      argv = unique_sleep
      pid = nil
      finder = Thread.new { wait_until(5) { pid = child_with_argv(argv) } }
      t = elapsed do
        assert_raises(Timeout::Error, what) { Timeout.timeout(0.2) { call.call(argv) } }
      end
      finder.join
      assert_operator t, :<, 1.5, "#{what}: the timeout of 0.2 s took #{t} s"
      assert_reaped pid, what
    end
  end

  def test_thread_kill_kills_and_reaps_the_child
    INTERRUPTED_CALLS.each do |what, call|
      argv = unique_sleep
      th = Thread.new { call.call(argv) }
      pid = nil
      assert wait_until(5) { pid = child_with_argv(argv) }, "#{what}: the child did not start"
      t = elapsed do
        th.kill
        th.join(5)
      end
      refute th.alive?, "#{what}: Thread#kill did not end the call"
      assert_operator t, :<, 1.5, what
      assert_reaped pid, what
    end
  end

  private

  # sleep 30.<pid><n>: an argv no other child of this process has.
  def unique_sleep
    @@sleeps = (defined?(@@sleeps) ? @@sleeps : 0) + 1 # rubocop:disable Style/ClassVars
    ["sleep", "30.#{::Process.pid}#{@@sleeps}"]
  end

  # The pid of this process's child running argv, or nil.
  def child_with_argv(argv)
    Dir.children("/proc").grep(/\A\d+\z/).find do |pid|
      File.binread("/proc/#{pid}/cmdline").split("\0") == argv &&
        File.read("/proc/#{pid}/stat").split(") ").last.split[1].to_i == ::Process.pid
    rescue SystemCallError
      false
    end&.to_i
  end

  # pid ended and was reaped (no zombie left: /proc/pid is gone).
  def assert_reaped(pid, what)
    assert pid, "#{what}: the child was never seen"
    refute File.exist?("/proc/#{pid}"), "#{what}: child #{pid} still there " \
                                        "(#{File.read("/proc/#{pid}/stat") rescue '?'})"
  end
end
