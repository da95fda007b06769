# frozen_string_literal: true

require_relative "helper"

Multiproc.register(:wait_event) { |ev, q| q.put(ev.wait(10) ? "set" : "timeout") }
Multiproc.main

class TestSync < Minitest::Test
  include MultiprocTestHelper

  def test_lock_guards_a_counter_across_processes
    lock = Multiproc::Lock.new
    n = Multiproc::Value.new(:int64)
    procs = Array.new(4) do
      Multiproc::Process.new { 200.times { lock.synchronize { n.value += 1 } } }.start
    end
    procs.each { |p| assert_equal 0, p.join(20) }
    assert_equal 800, n.value
  end

  def test_lock_timeout_state_and_owner
    lock = Multiproc::Lock.new
    assert lock.acquire
    assert lock.locked?
    refute lock.acquire(timeout: 0) # held by this thread: false, as Mutex#try_lock
    other = Multiproc::Process.new { exit(lock.acquire(timeout: 0.05) ? 1 : 0) }.start
    assert_equal 0, other.join(5), "another process must time out"
    lock.release
    assert_raises(Multiproc::StateError) { lock.release }
    lock.release_handle
  end

  def test_owner_killed_holding_the_lock
    lock = Multiproc::Lock.new
    q = Multiproc::Queue.new
    holder = Multiproc::Process.new { lock.acquire; q.put("held"); sleep 30 }.start
    q.get(timeout: 5)
    holder.kill
    holder.join(5)
    assert_raises(Multiproc::OwnerDeadError) { lock.acquire(timeout: 5) }
    assert lock.locked?, "OwnerDeadError hands the lock over"
    lock.release
    recovered = nil
    lock.synchronize { |owner_died| recovered = owner_died }
    assert_equal false, recovered
  end

  def test_synchronize_reports_a_dead_owner
    lock = Multiproc::Lock.new
    Multiproc::Process.new { lock.acquire; exit!(0) }.start.join(5)
    seen = nil
    lock.synchronize { |owner_died| seen = owner_died }
    assert_equal true, seen
    refute lock.locked?
  end

  def test_rlock_is_reentrant
    lock = Multiproc::RLock.new
    lock.synchronize { lock.synchronize { assert lock.locked? } }
    refute lock.locked?
  end

  def test_semaphore_and_bound
    sem = Multiproc::Semaphore.new(2, max: 2)
    assert sem.acquire
    assert sem.acquire
    refute sem.acquire(timeout: 0.05)
    sem.release
    sem.release
    assert_raises(Multiproc::StateError) { sem.release }
    assert_equal 2, sem.value
  end

  def test_event_wakes_a_spawned_waiter
    ev = Multiproc::Event.new
    q = Multiproc::Queue.new
    pr = Multiproc::Process.new(target: :wait_event, args: [ev, q]).start
    sleep 0.1
    refute ev.set?
    ev.set
    assert_equal "set", q.get(timeout: 10)
    assert_equal 0, pr.join(10)
    ev.clear
    refute ev.wait(0.05)
  end

  def test_condition_notify
    cond = Multiproc::Condition.new
    flag = Multiproc::Value.new(:int32)
    waiter = Multiproc::Process.new do
      cond.synchronize { cond.wait_for(10) { flag.value == 1 } }
      exit(flag.value == 1 ? 0 : 2)
    end.start
    sleep 0.1
    cond.synchronize do
      flag.value = 1
      cond.notify_all
    end
    assert_equal 0, waiter.join(10)
  end

  def test_barrier
    barrier = Multiproc::Barrier.new(3)
    procs = Array.new(2) { Multiproc::Process.new { barrier.wait(10) }.start }
    idx = barrier.wait(10)
    assert_includes 0..2, idx
    procs.each { |p| assert_equal 0, p.join(10) }
    b2 = Multiproc::Barrier.new(2)
    assert_raises(Multiproc::TimeoutError) { b2.wait(0.05) }
    assert b2.broken?
    assert_raises(Multiproc::StateError) { b2.wait(0.05) }
  end

  # Held by this thread: try_acquire and acquire(timeout:) say false, as
  # Mutex#try_lock does (they raised StateError); acquire without a
  # timeout still raises, as Mutex#lock's recursive locking does.
  def test_acquire_by_the_holder
    lock = Multiproc::Lock.new
    assert lock.acquire
    refute lock.try_acquire
    refute lock.acquire(timeout: 0.05)
    assert_raises(Multiproc::StateError) { lock.acquire }
    lock.release
    assert lock.try_acquire
    lock.release
  end

  def test_thread_kill_of_blocked_acquire_is_prompt
    lock = Multiproc::Lock.new
    holder = Multiproc::Process.new { lock.acquire; sleep 30 }.start
    wait_until { lock.locked? }
    assert_thread_kill_prompt { lock.acquire }
    holder.kill
    holder.join(5)
  end

  def test_thread_kill_of_blocked_event_wait_is_prompt
    ev = Multiproc::Event.new
    assert_thread_kill_prompt { ev.wait }
  end

  def test_timeout_interrupts_semaphore_acquire
    sem = Multiproc::Semaphore.new(0)
    t = elapsed { assert_raises(Timeout::Error) { Timeout.timeout(0.2) { sem.acquire } } }
    assert_operator t, :<, 1.5
    assert_equal 0, sem.value
  end

  # A trap handler running while the main thread waits on a barrier is
  # not a cancellation: the wait goes on into the same round (it raised
  # CanceledError and broke the barrier for everyone). Timeout still ends
  # the wait and breaks the barrier, as a timeout does. In a fresh process:
  # the trap must interrupt the main thread's wait.
  BARRIER_TRAP_SCRIPT = <<~RUBY
    require "multiproc"
    require "timeout"
    Multiproc.main
    trap("USR1") {}
    b = Multiproc::Barrier.new(2)
    other = Thread.new { sleep 0.6; b.wait(5) }
    Thread.new { 3.times { sleep 0.1; Process.kill("USR1", $$) } }
    puts "trap: \#{b.wait(5)} broken=\#{b.broken?} other=\#{other.value}"
    b2 = Multiproc::Barrier.new(2)
    begin
      Timeout.timeout(0.2) { b2.wait }
    rescue Timeout::Error
      puts "timeout: broken=\#{b2.broken?}"
    end
  RUBY

  # The same for a large send that waits for its reader: the trap runs,
  # the send goes on, and the reader gets the message once, whole.
  SEND_TRAP_SCRIPT = <<~RUBY
    require "multiproc"
    Multiproc.main
    trap("USR1") {}
    a, b = Multiproc.pipe
    msg = Random.new(7).bytes(8 << 20)
    reader = Thread.new { sleep 0.6; [b.recv_bytes, b.recv_bytes] }
    Thread.new { 3.times { sleep 0.1; Process.kill("USR1", $$) } }
    a.send_bytes(msg)
    a.send_bytes("next")
    got, nxt = reader.value
    puts "send: \#{got == msg} \#{nxt}"
  RUBY

  def test_a_trap_does_not_end_a_send
    result = run_ruby_script(SEND_TRAP_SCRIPT)
    assert_equal 0, result.exitcode, result.stderr
    assert_equal "send: true next\n", result.stdout
  end

  def test_a_trap_does_not_end_a_barrier_wait
    result = run_ruby_script(BARRIER_TRAP_SCRIPT)
    assert_equal 0, result.exitcode, result.stderr
    assert_equal "trap: 0 broken=false other=1\ntimeout: broken=true\n", result.stdout
  end

  def monotonic
    ::Process.clock_gettime(::Process::CLOCK_MONOTONIC)
  end

  # times times, 10 ms apart: under the condition's lock, state += 1 and
  # notify one waiter (the parent's side of both wait_for tests).
  def bump_and_notify(cond, state, times)
    times.times do
      sleep 0.01
      cond.synchronize do
        state.value += 1
        cond.notify
      end
    end
  end

  # Ported from CPython _TestCondition.test_waitfor.
  def test_waitfor
    cond = Multiproc::Condition.new
    state = Multiproc::Value.new(:int32, -1)
    child = Multiproc::Process.new do
      cond.synchronize do
        state.value = 0
        cond.notify
        ok = cond.wait_for { state.value == 4 }
        exit!(ok && state.value == 4 ? 0 : 1)
      end
    end.start
    cond.synchronize do
      assert cond.wait_for(30) { state.value.zero? }
      assert_equal 0, state.value
    end
    bump_and_notify(cond, state, 4)
    child.join(30)
    assert_equal 0, child.exitcode
  end

  # Ported from CPython _TestCondition.test_waitfor_timeout.
  def test_waitfor_timeout
    cond = Multiproc::Condition.new
    state = Multiproc::Value.new(:int32, 0)
    success = Multiproc::Value.new(:int32, 0)
    sem = Multiproc::Semaphore.new(0)
    child = Multiproc::Process.new do
      sem.release
      cond.synchronize do
        t0 = monotonic
        result = cond.wait_for(0.1) { state.value == 4 }
        dt = monotonic - t0
        success.value = 1 if !result && dt > 0.06 && dt < 1.0
      end
    end.start
    assert sem.acquire(timeout: 30)
    bump_and_notify(cond, state, 3)
    child.join(30)
    assert_equal 1, success.value
  end

  # After CPython _TestBarrier.test_default_timeout.
  def test_barrier_default_timeout
    b = Multiproc::Barrier.new(2, timeout: 0.2)
    t0 = monotonic
    assert_raises(Multiproc::TimeoutError) { b.wait }
    assert_operator monotonic - t0, :>=, 0.15
    assert b.broken?
  end

  # The names of before 0.2 (README "close and release_handle"): each still
  # works, as its new name, and warns once per process, in the :deprecated
  # category.
  def test_old_handle_names_warn_once_and_still_work
    was = Warning[:deprecated]
    Warning[:deprecated] = true
    olds = {
      "Multiproc::Event#close" => -> { Multiproc::Event.new.tap(&:close) },
      "Multiproc::Handle#release" => -> { Multiproc::Queue.new.tap(&:release) },
      "Multiproc::Dict#close" => -> { Multiproc::Dict.new.tap(&:close) }
    }
    olds.each do |label, make|
      obj = nil
      _out, err = capture_io { obj = make.call }
      assert_match(/#{Regexp.escape(label)} is deprecated; use .*#release_handle/, err)
      assert obj.released?, "#{label} releases the handle"
      _out, err = capture_io { make.call }
      assert_empty err, "#{label} warns once"
    end
    lock = Multiproc::Lock.new
    capture_io { lock.close }
    capture_io { assert lock.closed? }
  ensure
    Warning[:deprecated] = was
  end
end
