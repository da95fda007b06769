# frozen_string_literal: true

require_relative "helper"

# A spawned child: report what it knows of its parent.
Multiproc.register(:parent_info) do |q|
  pp = Multiproc.parent_process
  q.put_object([pp.pid, pp.name, pp.alive?])
end
Multiproc.register(:sleep) { sleep 30 }
Multiproc.main

# Multiproc.wait (Python's multiprocessing.connection.wait), sentinels,
# active_children and parent_process. Ported in spirit from CPython
# _test_multiprocessing.py TestWait.test_wait / test_wait_timeout /
# test_wait_integer, test_sentinel, test_active_children,
# test_parent_process.
class TestWait < Minitest::Test
  include MultiprocTestHelper

  def setup
    @q = Multiproc::Queue.new
    @ev = Multiproc::Event.new
    @r, @w = Multiproc.pipe(duplex: false)
  end

  def teardown
    [@q, @r, @w].each { |h| h.release_handle rescue nil } # rubocop:disable Style/RescueModifier
  end

  # A forked child that sleeps 0.2 s, does one thing, then stays alive
  # (except :exit) so that only that one thing is ready.
  def actor(what)
    q, ev, w = @q, @ev, @w
    Multiproc::Process.new(daemon: true) do
      sleep 0.2
      case what
      when :put then q.put("hi")
      when :set then ev.set
      when :send then w.send_bytes("hi")
      when :exit then exit 7
      end
      sleep 30
    end.start
  end

  def check_wakes(what)
    pr = actor(what)
    # Nothing is ready before the actor acts (it sleeps 0.2 s first): the
    # wait below must really wait. (A lower bound on its time failed under
    # load: the parent may reach it well after the actor started.)
    assert_empty Multiproc.wait([@r, @q, pr, @ev], timeout: 0)
    ready = nil
    took = elapsed { ready = Multiproc.wait([@r, @q, pr, @ev], timeout: 20) }
    assert_operator took, :<, 10
    ready
  ensure
    pr.kill if pr.alive?
    pr.join
  end

  def test_wait_queue_put_wakes
    assert_equal [@q], check_wakes(:put)
  end

  def test_wait_event_set_wakes
    assert_equal [@ev], check_wakes(:set)
  end

  def test_wait_conn_send_wakes
    assert_equal [@r], check_wakes(:send)
  end

  def test_wait_forked_process_exit_wakes
    ready = check_wakes(:exit)
    assert_equal 1, ready.size
    assert_kind_of Multiproc::Process, ready[0]
  end

  def test_wait_spawned_process_exit_wakes
    pr = Multiproc::Process.new(target: :sleep).start
    assert_equal [], Multiproc.wait([pr, @ev], timeout: 0)
    Thread.new { sleep 0.2; pr.kill } # rubocop:disable Style/Semicolon
    assert_equal [pr], Multiproc.wait([pr, @ev], timeout: 20)
    pr.join
  end

  def test_wait_timeout_and_poll
    assert_equal [], Multiproc.wait([@r, @q, @ev], timeout: 0)
    took = elapsed { assert_equal [], Multiproc.wait([@r, @q, @ev], timeout: 0.3) }
    assert_operator took, :>=, 0.29
    @ev.set
    @q.put("x")
    assert_equal [@q, @ev], Multiproc.wait([@r, @q, @ev], timeout: 0)
  end

  def test_wait_integer_and_io
    r, w = IO.pipe
    assert_equal [], Multiproc.wait([r, r.fileno], timeout: 0)
    w.write("x")
    assert_equal [r, r.fileno], Multiproc.wait([r, r.fileno], timeout: 1)
  ensure
    r&.close
    w&.close
  end

  def test_wait_thread_kill_interrupts
    t = Thread.new { Multiproc.wait([@r, @ev]) }
    sleep 0.1
    t.kill
    assert t.join(5), "Thread#kill did not end the wait"
  end

  def test_wait_bad_input
    assert_raises(TypeError) { Multiproc.wait(["nope"]) }
    assert_raises(Multiproc::InvalidArgumentError) { Multiproc.wait([]) }
    assert_raises(Multiproc::Error) { Multiproc.wait([@ev] * 65) }
    assert_raises(Multiproc::InvalidArgumentError) { Multiproc.wait([@ev], timeout: -1) }
    assert_raises(Multiproc::StateError) { Multiproc.wait([Multiproc::Process.new { 1 }]) }
    @q.release_handle
    assert_raises(Multiproc::ClosedError) { Multiproc.wait([@q]) }
  end

  def test_sentinel_and_daemon
    pr = Multiproc::Process.new(daemon: true) { sleep 30 }
    assert pr.daemon?
    assert_raises(Multiproc::StateError) { pr.sentinel }
    pr.start
    fd = pr.sentinel
    io = IO.for_fd(fd, autoclose: false)
    assert_nil IO.select([io], nil, nil, 0.1)
    pr.kill
    assert IO.select([io], nil, nil, 10)
    pr.join
    sp = Multiproc::Process.new(target: :sleep).start
    assert_kind_of Integer, sp.sentinel
    sp.kill
    sp.join
  end

  def test_active_children
    pr = Multiproc::Process.new { sleep 30 }.start
    assert_includes Multiproc.active_children, pr
    pr.kill
    pr.join
    refute_includes Multiproc.active_children, pr
  end

  def test_parent_process
    assert_nil Multiproc.parent_process
    q = @q
    me = ::Process.pid
    Multiproc::Process.new do
      pp = Multiproc.parent_process
      q.put_object([pp.pid, pp.name, pp.alive?])
    end.start.join
    assert_equal [me, "MainProcess", true], q.get_object(timeout: 5)
    Multiproc::Process.new(target: :parent_info, args: [q]).start.join
    assert_equal [me, "MainProcess", true], q.get_object(timeout: 10)
  end
end
